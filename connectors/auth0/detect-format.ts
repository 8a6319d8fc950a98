import { createGunzip } from 'node:zlib'
import type { Auth0FileFormat } from './config.ts'
import { isGzipHandle, type OpenFiles } from './open-input.ts'

/** A concrete file format, after `auto` was resolved. */
export type ResolvedFormat = Exclude<Auth0FileFormat, 'auto'>

export interface DetectedFormat {
  readonly format: ResolvedFormat
  /** `.tsv` names imply tab cells; otherwise the CSV reader sniffs the header. */
  readonly tabs: boolean
}

const sniffBytes = 64 * 1024

/**
 * Resolves `auto`: the extension decides NDJSON vs CSV (an NDJSON name on a file that opens with
 * `[` is a JSON array); `.json` (Auth0 names its NDJSON export `.json`) and unknown extensions look
 * at the first non-space character, `[` meaning a JSON array.
 */
export async function detectFormat(path: string, configured: Auth0FileFormat, files: OpenFiles): Promise<DetectedFormat> {
  const name = path.toLowerCase().replace(/\.gz$/, '')
  const tabs = name.endsWith('.tsv')
  if (configured !== 'auto') return { format: configured, tabs }
  if (name.endsWith('.ndjson') || name.endsWith('.jsonl')) {
    // No line of a user export is an array: one that opens with `[` is a JSON array saved under
    // an NDJSON name (read as lines, every line of it would be a dead letter).
    return { format: (await firstLine(path, files)).text.startsWith('[') ? 'json' : 'ndjson', tabs }
  }
  if (name.endsWith('.csv') || tabs) return { format: 'csv', tabs }
  const head = await firstLine(path, files)
  const first = head.text.charCodeAt(0)
  if (first === 0x5b) return { format: 'json', tabs }
  // A first line of `{` alone: one JSON object indented over many lines, not one per line (no
  // NDJSON line is that). The array reader refuses it as a whole, with one dead letter saying what
  // it is, rather than one dead letter per line. A malformed first line of NDJSON is not this.
  if (head.text === '{' && head.complete) return { format: 'json', tabs }
  if (first === 0x7b || name.endsWith('.json') || Number.isNaN(first)) return { format: 'ndjson', tabs }
  return { format: 'csv', tabs }
}

/** The first line with anything but spaces, trimmed, and whether it ends within the bytes sniffed. */
async function firstLine(path: string, files: OpenFiles): Promise<{ text: string; complete: boolean }> {
  const bytes = await headBytes(path, files)
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++
  let end = i
  while (end < bytes.length && bytes[end] !== 0x0a && bytes[end] !== 0x0d) end++
  return { text: bytes.toString('utf8', i, end).trim(), complete: end < bytes.length }
}

async function headBytes(path: string, files: OpenFiles): Promise<Buffer> {
  const handle = await files.open(path)
  try {
    const head = Buffer.alloc(sniffBytes)
    const { bytesRead } = await handle.read(head, 0, sniffBytes, 0)
    return (await isGzipHandle(handle)) ? await gunzipPrefix(head.subarray(0, bytesRead)) : head.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

/** Decompresses as much of a gzip prefix as it holds; truncation or corruption just ends it. */
function gunzipPrefix(compressed: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = []
    let size = 0
    const gunzip = createGunzip()
    const finish = () => {
      gunzip.destroy()
      resolve(Buffer.concat(parts))
    }
    gunzip.on('data', (chunk: Buffer) => {
      parts.push(chunk)
      size += chunk.length
      if (size >= sniffBytes) finish()
    })
    gunzip.on('error', finish)
    gunzip.on('end', finish)
    gunzip.end(compressed)
  })
}
