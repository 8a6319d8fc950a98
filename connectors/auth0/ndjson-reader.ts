import { isUtf8 } from 'node:buffer'
import type { FileItem, ReaderStart } from './file-item.ts'
import { isBlank, readLineBlocks } from './line-reader.ts'
import { jsonErrorReason } from '../json-error-reason.ts'
import { maxLineBytes, overlongLength } from './overlong-line.ts'

/**
 * Reads NDJSON: one JSON object per line. Blank lines are skipped; a line that is not valid JSON
 * or not an object becomes an error item and reading goes on. `seekable` means `chunks` already
 * starts at `start.offset`; otherwise (gzip) the first `start.line` lines are read and skipped.
 * Items come in blocks (one per input chunk) so the per-line work stays synchronous.
 */
export async function* readNdjson(chunks: AsyncIterable<Buffer>, start: ReaderStart, seekable: boolean): AsyncGenerator<FileItem[]> {
  const lines = seekable ? readLineBlocks(chunks, start.offset ?? 0, start.line) : readLineBlocks(chunks, 0, 0)
  for await (const block of lines) {
    const items: FileItem[] = []
    for (const { line, bytes, end } of block) {
      if (line <= start.line) continue
      const offset = seekable ? end : undefined
      if (isBlank(bytes)) continue
      items.push(parseNdjsonLine(bytes, line, offset))
    }
    if (items.length > 0) yield items
  }
}

/**
 * One non-blank NDJSON line as an item: the object, or why it is not one. A line that is not
 * UTF-8 (a Latin-1 or Windows-1252 export) is refused rather than decoded: decoding would put
 * U+FFFD into the user's name or email and import that.
 */
export function parseNdjsonLine(bytes: Buffer, line: number, offset: number | undefined): FileItem {
  const overlong = bytes[0] === 0 ? overlongLength(bytes) : undefined
  if (overlong !== undefined) {
    return { kind: 'error', line, offset, code: 'line_too_long', detail: `a line of ${overlong} bytes, longer than the ${maxLineBytes / (1024 * 1024)} MiB read as one profile, is not read (a file whose lines end in \\r alone reads as one line: convert them with tr '\\r' '\\n')` }
  }
  if (!isUtf8(bytes)) return { kind: 'error', line, offset, code: 'invalid_utf8', detail: 'not UTF-8 text (re-encode the file as UTF-8)' }
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch (error) {
    return { kind: 'error', line, offset, code: 'malformed_json', detail: `not valid JSON (${jsonErrorReason(error)})${carriageReturnHint(bytes)}` }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'error', line, offset, code: 'not_an_object', detail: 'a JSON value that is not an object' }
  }
  return { kind: 'value', line, offset, value: value as Record<string, unknown>, weight: bytes.length }
}

/**
 * Lines end at `\n`. A file saved with lone `\r` line ends (a classic Mac save) reads as one line
 * holding every user; the dead letter says how to convert it rather than only that it is not JSON.
 */
function carriageReturnHint(bytes: Buffer): string {
  const cr = bytes.indexOf(0x0d)
  return cr !== -1 && cr < bytes.length - 1 ? "; the line holds carriage returns (\\r) that may be line ends: convert them with tr '\\r' '\\n' and run again" : ''
}
