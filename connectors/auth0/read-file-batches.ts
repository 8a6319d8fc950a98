import type { SourceBatch } from '../../src/core/source.ts'
import { withProfileFields } from './extension-labels.ts'
import type { SourceRecord } from '../../src/core/source-record.ts'
import { SourceReadError } from '../../src/core/errors.ts'
import type { Auth0SourceConfig } from './config.ts'
import { readCsv } from './csv-reader.ts'
import { detectFormat } from './detect-format.ts'
import type { FileItem, ReaderStart } from './file-item.ts'
import type { IdentifiedFile } from './file-identity.ts'
import { isZlibError, readJsonArray } from './json-array-reader.ts'
import { readNdjson } from './ndjson-reader.ts'
import { openInput, type OpenFiles, type OpenInput } from './open-input.ts'
import type { Auth0Position } from './position.ts'

/**
 * A batch also closes at this weight of parsed values, whatever `batch_records` says: 500
 * profiles of 600 KB each (a CSV of 100,000 columns, metadata of 40,000 keys) held gigabytes.
 */
export const maxBatchWeight = 8 * 1024 * 1024

/** What reading one file needs from the source. */
export interface FileReadOptions {
  readonly config: Auth0SourceConfig
  readonly files: OpenFiles
  readonly signal: AbortSignal
  /** Bytes of the files before this one, for `bytesRead`. */
  readonly bytesBefore: number
  /** Applied to every readable profile (the password-hash join). */
  readonly enrich: (profile: Record<string, unknown>) => Record<string, unknown>
}

/**
 * Reads one export file from `start` as batches of `batch_records`. The last batch of the file
 * carries `done: true`; a corrupt gzip member ends the file with a `bad_gzip` record instead of
 * failing the run. Returns early (no partial batch) when the signal aborts. The file is closed
 * in `finally`, so a consumer's `break` releases it too.
 */
export async function* readFileBatches(file: IdentifiedFile, start: ReaderStart, options: FileReadOptions): AsyncGenerator<SourceBatch<Auth0Position>> {
  const { config, files, signal } = options
  const counter = { bytes: 0 }
  const detected = await detectFormat(file.path, config.format, files)
  let input: OpenInput
  try {
    input = await openInput(file.path, files, detected.format === 'ndjson' ? (start.offset ?? 0) : 0, counter)
  } catch (error) {
    throw new SourceReadError(`cannot open ${file.name}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}`, { cause: error })
  }
  const bytesRead = () => options.bytesBefore + Math.min(counter.bytes, file.size)
  let records: SourceRecord[] = []
  /** Weight of the values in `records` (see `FileItem`). */
  let weight = 0
  let last: { line: number; offset?: number } = start
  const position = (done: boolean): Auth0Position => ({
    file: file.name,
    line: last.line,
    ...(last.offset !== undefined ? { offset: last.offset } : {}),
    ...(done ? { done } : {}),
    size: file.size,
    head: file.head,
    earlier: file.earlier,
  })
  try {
    const seekable = !input.gzip && detected.format === 'ndjson'
    const items = itemsOf(input.chunks, detected.format, start, seekable, config.csv.delimiter, detected.tabs)
    try {
      blocks: for await (const block of items) {
        if (signal.aborted) return
        for (const item of block) {
          records.push(toRecord(file.name, item, options.enrich))
          last = { line: item.line, ...(item.offset !== undefined ? { offset: item.offset } : {}) }
          if (item.kind === 'error' && item.fatal) break blocks
          if (item.kind === 'value') weight += item.weight ?? 0
          if (records.length >= config.batch_records || weight >= maxBatchWeight) {
            weight = 0
            yield { records, position: position(false), bytesRead: bytesRead() }
            records = []
            if (signal.aborted) return
          }
        }
      }
    } catch (error) {
      // A JSON array's position counts elements, not lines.
      const after = `${detected.format === 'json' ? 'element' : 'line'} ${last.line}`
      if (!isZlibError(error)) throw new SourceReadError(`cannot read ${file.name} after ${after}: ${errorCode(error)}`, { cause: error })
      const line = last.line + 1
      records.push({
        kind: 'unreadable',
        key: `${file.name}:${line}`,
        origin: `${file.name}:${line}`,
        code: 'bad_gzip',
        message: `${file.name}: gzip data is corrupt or truncated after ${after} (${errorCode(error)}${ownMessage(error)}); the rest of this file is skipped`,
        restSkipped: true,
      })
    }
    if (signal.aborted) return
    yield { records, position: position(true), bytesRead: options.bytesBefore + file.size }
  } finally {
    await input.close()
  }
}

function itemsOf(chunks: AsyncIterable<Buffer>, format: 'ndjson' | 'json' | 'csv', start: ReaderStart, seekable: boolean, delimiter: string, tabs: boolean): AsyncIterable<FileItem[]> {
  if (format === 'json') return singles(readJsonArray(chunks, start))
  if (format === 'csv') return singles(readCsv(chunks, start, delimiter === 'auto' && tabs ? '\t' : delimiter))
  return readNdjson(chunks, start, seekable)
}

async function* singles(items: AsyncIterable<FileItem>): AsyncGenerator<FileItem[]> {
  for await (const item of items) yield [item]
}

/**
 * A reader's item as a source record of file `name`: keyed by user_id, else email, else origin.
 * A JSON array element's origin names its line and its element number: several elements can share
 * a line (a minified array), and the origin must tell records apart.
 */
export function toRecord(name: string, item: FileItem, enrich: FileReadOptions['enrich']): SourceRecord {
  const origin = item.startLine === undefined ? `${name}:${item.line}` : `${name}:${item.startLine} (element ${item.line})`
  if (item.kind === 'error') return { kind: 'unreadable', key: origin, origin, code: item.code, message: `${origin}: ${item.detail}`, ...(item.fatal ? { restSkipped: true as const } : {}) }
  const value = withProfileFields(item.value)
  if (wrapsUsers(value)) return { kind: 'unreadable', key: origin, origin, code: 'not_a_user', message: `${origin}: ${wrappedUsersDetail}` }
  const userId = value['user_id']
  const email = value['email']
  const key = typeof userId === 'string' && userId !== '' ? userId : typeof email === 'string' && email !== '' ? email : origin
  return { kind: 'data', key, origin, data: enrich(value) }
}

export const wrappedUsersDetail =
  "an object holding a list of users (a saved Management API page?), not a user; give the users themselves, one per line: jq -c '.users[]' FILE > users.ndjson"

/** An object with a `users` list and no field of a profile: users wrapped in a page, not one user. */
function wrapsUsers(value: Record<string, unknown>): boolean {
  return Array.isArray(value['users']) && !profileFields.some((field) => Object.hasOwn(value, field))
}

const profileFields = ['user_id', 'email', 'phone_number', 'username', 'identities', 'name']

/** The reader's own account of the damage (a failed check, a truncated file); zlib's are terse codes. */
function ownMessage(error: unknown): string {
  const message = (error as { message?: unknown }).message
  return typeof message === 'string' && message.startsWith('the ') ? `: ${message}` : ''
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' ? code : 'read error'
}
