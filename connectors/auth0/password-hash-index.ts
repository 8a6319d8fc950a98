import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { isBlank, readLines } from './line-reader.ts'
import { hashRecordReader, type HashRecordReader } from './hash-record-reader.ts'
import { parseHashRecord } from './hash-record.ts'
import { OffsetTable } from './offset-table.ts'
import { openInput, type OpenFiles } from './open-input.ts'

/** Counts from building the index, for logs and `check`. */
export interface HashIndexStats {
  readonly lines: number
  readonly unreadable: number
  readonly bytes: number
  readonly tableBytes: number
}

/**
 * Index over the password-hash export without holding its records: two offset tables (bare id
 * and alt_id; lower-cased email, unique only) pointing at byte offsets in one plain NDJSON file.
 * Gzipped or multiple hash files are first decompressed into one temporary file, removed by
 * `dispose()`. Lookups read the line at the offset and verify it (see `PasswordHashJoin`).
 */
export class PasswordHashIndex {
  readonly ids: OffsetTable
  readonly emails: OffsetTable
  readonly stats: HashIndexStats
  readonly #path: string
  readonly #tempDir: string | undefined

  private constructor(path: string, tempDir: string | undefined, ids: OffsetTable, emails: OffsetTable, stats: HashIndexStats) {
    this.#path = path
    this.#tempDir = tempDir
    this.ids = ids
    this.emails = emails
    this.stats = stats
  }

  /** One pass over the hash files. Resolves once every line is indexed; `signal` stops it. */
  static async build(paths: readonly string[], files: OpenFiles, signal?: AbortSignal): Promise<PasswordHashIndex> {
    const single = paths.length === 1 ? await plainSingle(paths[0] as string, files) : undefined
    const tempDir = single ? undefined : await mkdtemp(join(tmpdir(), 'gearbridge-hashes-'))
    try {
      const path = single ?? join(tempDir as string, 'hashes.ndjson')
      if (!single) await concatenate(paths, path, files, signal)
      const { size: bytes } = await stat(path)
      const expectedKeys = await countLines(path, files, signal)
      const ids = new OffsetTable({ expectedKeys, maxOffset: bytes, unique: false })
      const emails = new OffsetTable({ expectedKeys, maxOffset: bytes, unique: true })
      let lines = 0
      let unreadable = 0
      const input = await openInput(path, files, 0, { bytes: 0 })
      const verify = hashRecordReader(await files.open(path))
      try {
        let offset = 0
        for await (const line of readLines(input.chunks, 0, 0)) {
          const start = offset
          offset = line.end
          if (isBlank(line.bytes)) continue
          if (lines % 4096 === 0) signal?.throwIfAborted()
          lines++
          const record = parseHashRecord(line.bytes.toString('utf8'))
          if (!record) {
            unreadable++
            continue
          }
          for (const id of new Set(record.ids)) ids.add(id, start)
          const email = record.email
          if (email !== undefined) emails.addUnique(email, start, (existing) => verify.read(existing)?.email === email)
        }
      } finally {
        await input.close()
        await verify.close()
      }
      return new PasswordHashIndex(path, tempDir, ids, emails, { lines, unreadable, bytes, tableBytes: ids.bytes + emails.bytes })
    } catch (error) {
      if (tempDir) await rm(tempDir, { recursive: true, force: true })
      throw error
    }
  }

  /** Opens the indexed file for lookups; close the reader when the read ends. */
  async openReader(files: OpenFiles): Promise<HashRecordReader> {
    const handle: FileHandle = await files.open(this.#path)
    return hashRecordReader(handle)
  }

  /** Removes the temporary decompressed copy, if one was made. */
  async dispose(): Promise<void> {
    if (this.#tempDir) await rm(this.#tempDir, { recursive: true, force: true })
  }
}

async function plainSingle(path: string, files: OpenFiles): Promise<string | undefined> {
  const input = await openInput(path, files, 0, { bytes: 0 })
  await input.close()
  return input.gzip ? undefined : path
}

/** Decompresses and joins the hash files into one plain file, a newline between files. */
async function concatenate(paths: readonly string[], target: string, files: OpenFiles, signal?: AbortSignal): Promise<void> {
  const out = createWriteStream(target, { mode: 0o600 })
  try {
    for (const path of paths) {
      const input = await openInput(path, files, 0, { bytes: 0 })
      try {
        let last = 0x0a
        for await (const chunk of input.chunks) {
          signal?.throwIfAborted()
          if (chunk.length > 0) last = chunk[chunk.length - 1] as number
          if (!out.write(chunk)) await once(out, 'drain')
        }
        if (last !== 0x0a) out.write('\n')
      } finally {
        await input.close()
      }
    }
  } finally {
    out.end()
    await finished(out)
  }
}

/** Newlines in the file (plus one for an unterminated last line), to size the tables once. */
async function countLines(path: string, files: OpenFiles, signal?: AbortSignal): Promise<number> {
  const input = await openInput(path, files, 0, { bytes: 0 })
  let count = 0
  let last = 0x0a
  try {
    for await (const chunk of input.chunks) {
      signal?.throwIfAborted()
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) count++
      if (chunk.length > 0) last = chunk[chunk.length - 1] as number
    }
  } finally {
    await input.close()
  }
  return last === 0x0a ? count : count + 1
}
