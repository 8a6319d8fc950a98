import { Readable, pipeline } from 'node:stream'
import streamArray from 'stream-json/streamers/stream-array.js'
import type { FileItem, ReaderStart } from './file-item.ts'

/**
 * Reads a top-level JSON array (Auth0 import-format files, or a converted export) element by
 * element with stream-json, so the array is never held whole. The element number (1-based) stands
 * in for the line. Invalid JSON ends the file with one fatal error item: nothing after the fault
 * can be parsed. A resume re-parses and skips the first `start.line` elements.
 */
export async function* readJsonArray(chunks: AsyncIterable<Buffer>, start: ReaderStart): AsyncGenerator<FileItem> {
  const parsed = pipeline(Readable.from(chunks, { objectMode: false }), streamArray.withParserAsStream(), () => {})
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
