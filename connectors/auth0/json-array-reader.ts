import { Readable, pipeline } from 'node:stream'
import streamArray from 'stream-json/streamers/stream-array.js'
import type { FileItem, ReaderStart } from './file-item.ts'
import { InvalidUtf8Lines } from './invalid-utf8-lines.ts'

/**
 * Reads a top-level JSON array (Auth0 import-format files, or a converted export) element by
 * element with stream-json, so the array is never held whole. The element number (1-based) stands
 * in for the line. Invalid JSON ends the file with one fatal error item: nothing after the fault
 * can be parsed. A resume re-parses and skips the first `start.line` elements.
 *
 * The parser decodes bytes that are not UTF-8 as U+FFFD and gives no byte positions, so once the
 * file is known to hold such bytes (they are scanned before the parser reads them), an element
 * with U+FFFD in it is refused as one of them. A file that is all UTF-8 never pays that check.
 */
export async function* readJsonArray(chunks: AsyncIterable<Buffer>, start: ReaderStart): AsyncGenerator<FileItem> {
  const invalid = new InvalidUtf8Lines()
  const parsed = pipeline(Readable.from(invalid.watch(chunks), { objectMode: false }), streamArray.withParserAsStream(), () => {})
  let line = 0
  try {
    for await (const item of parsed as AsyncIterable<{ key: number; value: unknown }>) {
      line = item.key + 1
      if (line <= start.line) continue
      const value = item.value
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        yield { kind: 'error', line, code: 'not_an_object', detail: 'an array element that is not an object' }
        continue
      }
      if (invalid.seen && JSON.stringify(value).includes('\uFFFD')) {
        yield { kind: 'error', line, code: 'invalid_utf8', detail: 'element is not UTF-8 text (re-encode the file as UTF-8)' }
        continue
      }
      yield { kind: 'value', line, value: value as Record<string, unknown> }
    }
  } catch (error) {
    if (isZlibError(error)) throw error
    yield { kind: 'error', line: line + 1, code: 'malformed_json', detail: `invalid JSON after element ${line} (${parserReason(error)}); the rest of the file is skipped`, fatal: true }
  } finally {
    parsed.destroy()
  }
}

export function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && code.startsWith('Z_')
}

function parserReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.slice(0, 80)
}
