import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { usableCpus } from '../../src/runtime/cpu-budget.ts'
import { dirname, join } from 'node:path'
import { finished } from 'node:stream/promises'
import { Worker } from 'node:worker_threads'
import { createKeySpans, scanHashKeys, type KeySpans } from './hash-line-scanner.ts'
import { hash64HiOfAscii } from './string-hash.ts'
import { parseHashRecord, type HashRecord } from './hash-record.ts'
import { hashRecordReader, maxHashLineBytes, type HashRecordReader } from './hash-record-reader.ts'
import { OffsetTable, type OffsetTableState } from './offset-table.ts'
import { OffsetTables } from './offset-tables.ts'
import { makeHashCopyDir, type HashCopyDir } from './hash-copy-dir.ts'
import { lineReadBytes, openInput, type OpenFiles } from './open-input.ts'

/** A built index as it crosses to a worker thread: its file and its shared tables. */
export interface PasswordHashIndexState {
  readonly path: string
  readonly ids: readonly OffsetTableState[]
  readonly emails: readonly OffsetTableState[]
  readonly stats: HashIndexStats
}

/** The tables and counts of one byte range of the hash file. */
export interface RangeIndex {
  readonly ids: OffsetTableState
  readonly emails: OffsetTableState
  readonly lines: number
  readonly unreadable: number
  /** Physical lines in the range, blank ones too: where the next range's line numbers begin. */
  readonly physicalLines: number
  /** The first unreadable lines' numbers in the range (1-based), up to `namedUnreadable`. */
  readonly unreadableAt: readonly number[]
}

/** Unreadable hash lines named by number in the run's warning; the rest are counted. */
export const namedUnreadable = 5

/** From this size the file is indexed in two halves at once, one on a helper thread. */
export const splitIndexMinBytes = 64 * 1024 * 1024

/** Counts from building the index, for logs and `check`. */
export interface HashIndexStats {
  readonly lines: number
  readonly unreadable: number
  /** The first unreadable lines, up to `namedUnreadable`: the hash file (its path) and the line in it (decompressed). */
  readonly unreadableAt: readonly { readonly path: string; readonly line: number }[]
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
  readonly ids: OffsetTables
  readonly emails: OffsetTables
  readonly stats: HashIndexStats
  readonly #path: string
  readonly #tempDir: HashCopyDir | undefined

  private constructor(path: string, tempDir: HashCopyDir | undefined, ids: OffsetTables, emails: OffsetTables, stats: HashIndexStats) {
    this.#path = path
    this.#tempDir = tempDir
    this.ids = ids
    this.emails = emails
    this.stats = stats
  }

  /**
   * One pass over the hash files. Resolves once every line is indexed; `signal` stops it. A file of
   * `splitMinBytes` or more is indexed in two halves at once (this thread and a helper thread), on
   * machines with a second core: the mapping cannot start before the index is complete.
   */
  static async build(paths: readonly string[], files: OpenFiles, signal?: AbortSignal, options: { splitMinBytes?: number; onThread?: typeof indexRangeOnThread; tempRoot?: string } = {}): Promise<PasswordHashIndex> {
    const single = paths.length === 1 ? await plainSingle(paths[0] as string, files) : undefined
    const tempDir = single ? undefined : await makeHashCopyDir(options.tempRoot)
    try {
      const path = single ?? join((tempDir as HashCopyDir).path, 'hashes.ndjson')
      // Lines of the copy are named by the hash file they came from: each file's line count.
      const parts = single ? [{ path: single, lines: Number.POSITIVE_INFINITY }] : await concatenate(paths, path, files, signal)
      const { size: bytes } = await stat(path)
      const split = bytes >= (options.splitMinBytes ?? splitIndexMinBytes) && usableCpus() >= 2
      const cut = split ? await lineBoundaryNear(path, files, Math.floor(bytes / 2)) : bytes
      const second = (): Promise<RangeIndex> =>
        (options.onThread ?? indexRangeOnThread)(path, cut, bytes, signal).catch((error: unknown) => {
          if (signal?.aborted) throw error
          return indexRange(path, files, cut, bytes, bytes, signal)
        })
      const ranges = await Promise.all([indexRange(path, files, 0, cut, bytes, signal), ...(cut < bytes ? [second()] : [])])
      const ids = OffsetTables.attach(ranges.map((range) => range.ids))
      const emails = OffsetTables.attach(ranges.map((range) => range.emails))
      const lines = ranges.reduce((sum, range) => sum + range.lines, 0)
      const unreadable = ranges.reduce((sum, range) => sum + range.unreadable, 0)
      // The second range begins at a line start, after the first range's lines.
      const unreadableAt = ranges.flatMap((range, i) => range.unreadableAt.map((line) => lineOfPart(parts, line + (i === 0 ? 0 : (ranges[0] as RangeIndex).physicalLines)))).slice(0, namedUnreadable)
      return new PasswordHashIndex(path, tempDir, ids, emails, { lines, unreadable, unreadableAt, bytes, tableBytes: ids.bytes + emails.bytes })
    } catch (error) {
      if (tempDir) await tempDir.remove()
      throw error
    }
  }

  /** What a worker thread needs to look up in this index (`PasswordHashIndex.attach`). */
  get state(): PasswordHashIndexState {
    return { path: this.#path, ids: this.ids.states, emails: this.emails.states, stats: this.stats }
  }

  /** The index built elsewhere (another thread), over the same shared tables and file. */
  static attach(state: PasswordHashIndexState): PasswordHashIndex {
    return new PasswordHashIndex(state.path, undefined, OffsetTables.attach(state.ids), OffsetTables.attach(state.emails), state.stats)
  }

  /** Opens the indexed file for lookups; close the reader when the read ends. */
  async openReader(files: OpenFiles): Promise<HashRecordReader> {
    const handle: FileHandle = await files.open(this.#path)
    return hashRecordReader(handle)
  }

  /** Removes the temporary decompressed copy, if one was made. */
  async dispose(): Promise<void> {
    if (this.#tempDir) await this.#tempDir.remove()
  }
}


async function plainSingle(path: string, files: OpenFiles): Promise<string | undefined> {
  const input = await openInput(path, files, 0, { bytes: 0 })
  await input.close()
  return input.gzip ? undefined : path
}

/** A hash file whose compressed data cannot be read to its end (the zlib error is the cause). */
export class UnreadableHashFile extends Error {
  override readonly name = 'UnreadableHashFile'
  readonly path: string

  constructor(path: string, cause: unknown) {
    super(`${path} cannot be read: ${(cause as Error).message}`, { cause })
    this.path = path
  }
}

/** A line of the copy of several hash files as the file and line it came from. */
function lineOfPart(parts: readonly { readonly path: string; readonly lines: number }[], line: number): { path: string; line: number } {
  let before = 0
  for (const part of parts) {
    if (line <= before + part.lines) return { path: part.path, line: line - before }
    before += part.lines
  }
  const last = parts[parts.length - 1] as { path: string }
  return { path: last.path, line: line - before }
}

/**
 * Decompresses and joins the hash files into one plain file, `target`, a newline between files;
 * returns each file's line count (as copied, its last line ended).
 */
async function concatenate(paths: readonly string[], target: string, files: OpenFiles, signal?: AbortSignal): Promise<{ path: string; lines: number }[]> {
  const out = createWriteStream(target, { mode: 0o600 })
  // The copy's own failure (a full or read-only TMPDIR), told apart from an unreadable input.
  let writeError: Error | undefined
  out.on('error', (error) => (writeError ??= error))
  const write = async (chunk: Buffer | string): Promise<void> => {
    // A write that fit the buffer may fail later: the stream is then destroyed, and never drains.
    if (writeError !== undefined || out.destroyed) throw new HashCopyUnwritable(target, writeError ?? new Error('the copy was closed'))
    if (out.write(chunk)) return
    const waited = new AbortController()
    const until = signal ? AbortSignal.any([signal, waited.signal]) : waited.signal
    try {
      await Promise.race([once(out, 'drain', { signal: until }), once(out, 'close', { signal: until })])
    } finally {
      waited.abort()
    }
    if (writeError !== undefined) throw new HashCopyUnwritable(target, writeError)
  }
  const parts: { path: string; lines: number }[] = []
  try {
    for (const path of paths) {
      const input = await openInput(path, files, 0, { bytes: 0 })
      try {
        let last = 0x0a
        let lines = 0
        for await (const chunk of input.chunks) {
          signal?.throwIfAborted()
          if (chunk.length > 0) last = chunk[chunk.length - 1] as number
          for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) lines++
          await write(chunk)
        }
        if (last !== 0x0a) {
          await write('\n')
          lines++
        }
        parts.push({ path, lines })
      } catch (error) {
        if (error instanceof HashCopyUnwritable) throw error
        if (writeError !== undefined) throw new HashCopyUnwritable(target, writeError)
        // A download cut short or damaged: the users whose lines it lost would get no password.
        if (signal?.aborted) throw error
        throw new UnreadableHashFile(path, error)
      } finally {
        await input.close()
      }
    }
  } finally {
    out.end()
    await finished(out).catch((error: Error) => (writeError ??= error))
  }
  if (writeError !== undefined) throw new HashCopyUnwritable(target, writeError)
  return parts
}

/** The decompressed copy of the hash files cannot be written (its directory under TMPDIR is full, or read-only). */
export class HashCopyUnwritable extends Error {
  override readonly name = 'HashCopyUnwritable'

  constructor(target: string, cause: Error) {
    super(`the decompressed copy of the password-hash files cannot be written at ${target} (${cause.message}): gzipped or several hash files are decompressed into one file under TMPDIR (${dirname(dirname(target))}) first, which needs as much free space as the decompressed files; point TMPDIR at a private disk with room for them`, { cause })
  }
}

/** Newlines in `[from, to)` of the file (plus one for an unterminated last line), to size the tables once. */
async function countLines(path: string, files: OpenFiles, from: number, to: number, signal?: AbortSignal): Promise<number> {
  let count = 0
  let last = 0x0a
  for await (const chunk of rangeChunks(path, files, from, to)) {
    signal?.throwIfAborted()
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) count++
    if (chunk.length > 0) last = chunk[chunk.length - 1] as number
  }
  return last === 0x0a ? count : count + 1
}

/** The bytes of `[from, to)` of a plain file, in 256 KiB reads, through a handle of its own. */
async function* rangeChunks(path: string, files: OpenFiles, from: number, to: number): AsyncGenerator<Buffer> {
  if (to <= from) return
  const handle = await files.open(path)
  const stream = handle.createReadStream({ start: from, end: to - 1, autoClose: false, highWaterMark: lineReadBytes })
  try {
    for await (const chunk of stream) yield chunk as Buffer
  } finally {
    stream.destroy()
    await handle.close()
  }
}

/** The start of the first line at or after `at` (the file size when no line starts there). */
async function lineBoundaryNear(path: string, files: OpenFiles, at: number): Promise<number> {
  const handle = await files.open(path)
  try {
    const buffer = Buffer.alloc(64 * 1024)
    for (let position = at; ; position += buffer.length) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position)
      if (bytesRead === 0) return position
      const newline = buffer.subarray(0, bytesRead).indexOf(0x0a)
      if (newline !== -1) return position + newline + 1
    }
  } finally {
    await handle.close()
  }
}

/**
 * Indexes the lines in `[from, to)` (a range that starts at a line start) into tables of its own:
 * ids (bare id and alt_id) and unique lower-cased emails, with file offsets. `fileBytes` sizes
 * the offsets.
 */
export async function indexRange(path: string, files: OpenFiles, from: number, to: number, fileBytes: number, signal?: AbortSignal): Promise<RangeIndex> {
  const verify = hashRecordReader(await files.open(path))
  try {
    const expectedKeys = await countLines(path, files, from, to, signal)
    const ids = new OffsetTable({ expectedKeys, maxOffset: fileBytes, unique: false })
    const emails = new OffsetTable({ expectedKeys, maxOffset: fileBytes, unique: true })
    let lines = 0
    let unreadable = 0
    let physical = 0
    const unreadableAt: number[] = []
    const unreadableLine = (): void => {
      unreadable++
      if (unreadableAt.length < namedUnreadable) unreadableAt.push(physical)
    }
    const spans = createKeySpans()
    for await (const block of lineBlocks(rangeChunks(path, files, from, to), from)) {
      signal?.throwIfAborted()
      if (block.dropped) {
        lines++
        physical++
        unreadableLine()
        continue
      }
      const { bytes: chunk, starts } = block
      for (let k = 0; k + 1 < starts.length; k++) {
        const lineFrom = starts[k] as number
        const lineTo = (starts[k + 1] as number) - 1
        physical++
        if (isBlankRange(chunk, lineFrom, lineTo)) continue
        lines++
        // No hash line is this long, and lookups read it as none (hash-record-reader.ts): counted
        // as unreadable, but indexed all the same, so that an email it shares is not taken as unique.
        const tooLong = lineTo - lineFrom > maxHashLineBytes
        if (tooLong) unreadableLine()
        const start = block.offset + lineFrom
        if (scanHashKeys(chunk, lineFrom, lineTo, spans)) {
          addIdSpans(ids, chunk, spans, start)
          const emailStart = spans[6] as number
          const emailEnd = spans[7] as number
          if (emailStart >= 0 && emailEnd > emailStart) {
            const hi = hash64HiOfAscii(chunk, emailStart, emailEnd, true)
            emails.addUniqueHashed(hi, start, (existing) => sameEmail(verify.read(existing), chunk.toString('latin1', emailStart, emailEnd).toLowerCase()))
          }
          continue
        }
        const record = parseHashRecord(chunk.toString('utf8', lineFrom, lineTo))
        if (!record) {
          if (!tooLong) unreadableLine()
          continue
        }
        const lineIds = record.ids
        for (let i = 0; i < lineIds.length; i++) if (lineIds.indexOf(lineIds[i] as string) === i) ids.add(lineIds[i] as string, start)
        const email = record.email
        if (email !== undefined) emails.addUnique(email, start, (existing) => sameEmail(verify.read(existing), email))
      }
    }
    return { ids: ids.state, emails: emails.state, lines, unreadable, physicalLines: physical, unreadableAt }
  } finally {
    await verify.close()
  }
}

/** The helper thread's module, beside this file: `.ts` from source, `.js` from the build. */
const indexWorkerUrl = new URL(import.meta.url.endsWith('.ts') ? './hash-index-worker.ts' : './hash-index-worker.js', import.meta.url)

/**
 * Heap limits of the helper thread: unbounded, it raised the run's peak RSS by 40-60 MB. Its
 * tables are shared memory, outside the heap; should an extraordinary line not fit, the half is
 * indexed on the calling thread instead (see `build`).
 */
const indexWorkerHeap = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 } as const

/** `indexRange` on a helper thread; its tables live in shared memory, so nothing is copied back. */
export function indexRangeOnThread(path: string, from: number, to: number, signal?: AbortSignal): Promise<RangeIndex> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(indexWorkerUrl, { workerData: { path, from, to, fileBytes: to }, resourceLimits: indexWorkerHeap })
    let settled = false
    const stop = (): void => void worker.terminate()
    signal?.addEventListener('abort', stop, { once: true })
    worker.once('message', (message: { ok: true; range: RangeIndex } | { ok: false; message: string }) => {
      settled = true
      if (message.ok) resolve(message.range)
      else reject(new Error(`indexing the password-hash export: ${message.message}`))
    })
    worker.once('error', (error) => {
      settled = true
      reject(error)
    })
    worker.once('exit', (code) => {
      signal?.removeEventListener('abort', stop)
      if (!settled) reject(signal?.aborted ? signal.reason : new Error(`the password-hash indexing thread exited (code ${code})`))
    })
  })
}

/** Lines of a chunk: `starts[k]` is where line k begins, `starts[k + 1] - 1` its newline. */
interface LineBlock {
  readonly bytes: Buffer
  /** File offset of `bytes[0]`. */
  readonly offset: number
  readonly starts: number[]
  /** A line too long to hold (over `maxHeldLineBytes`): `bytes` is empty, the line is only counted. */
  readonly dropped?: true
}

/**
 * Cuts the input into blocks of whole lines, one per chunk (a line split across chunks is joined
 * to the next block). Every line in a block ends with a newline; an unterminated last line gets
 * one appended, so offsets stay those of the file.
 */
async function* lineBlocks(chunks: AsyncIterable<Buffer>, firstOffset = 0): AsyncGenerator<LineBlock> {
  let carry: Buffer[] = []
  /** Bytes of the line cut by chunk boundaries; past `maxHeldLineBytes` they are counted, not held. */
  let carried = 0
  let offset = firstOffset
  for await (const chunk of chunks) {
    let from = 0
    if (carried > 0) {
      // Only the line cut by the chunk boundary is copied, not the whole chunk.
      const newline = chunk.indexOf(0x0a)
      if (newline === -1) {
        carried += chunk.length
        if (carried <= maxHeldLineBytes) carry.push(chunk)
        else carry = []
        continue
      }
      const length = carried + newline + 1
      // A line too long to hold is passed on as dropped, for `indexRange` to count; offsets go past it.
      yield carry.length > 0 ? wholeLine(Buffer.concat([...carry, chunk.subarray(0, newline + 1)]), offset) : droppedLine(offset)
      carry = []
      carried = 0
      offset += length
      from = newline + 1
    }
    const last = chunk.lastIndexOf(0x0a)
    if (last >= from) {
      const starts = [0]
      for (let nl = chunk.indexOf(0x0a, from); nl !== -1 && nl <= last; nl = chunk.indexOf(0x0a, nl + 1)) starts.push(nl + 1 - from)
      yield { bytes: chunk.subarray(from, last + 1), offset, starts }
      offset += last + 1 - from
      from = last + 1
    }
    if (from < chunk.length) {
      carry.push(chunk.subarray(from))
      carried = chunk.length - from
    }
  }
  if (carried > 0) yield carry.length > 0 ? wholeLine(Buffer.concat([...carry, Buffer.from([0x0a])]), offset) : droppedLine(offset)
}

function wholeLine(bytes: Buffer, offset: number): LineBlock {
  return { bytes, offset, starts: [0, bytes.length] }
}

function droppedLine(offset: number): LineBlock {
  return { bytes: Buffer.alloc(0), offset, starts: [], dropped: true }
}

/** Longest hash-export line the index build holds to scan; a longer one is only counted. */
const maxHeldLineBytes = 4 * maxHashLineBytes


function isBlankRange(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = bytes[i]
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false
  }
  return true
}

/** Adds a fast-scanned line's non-empty ids, each once. */
function addIdSpans(table: OffsetTable, bytes: Buffer, spans: KeySpans, offset: number): void {
  for (let slot = 0; slot < 6; slot += 2) {
    const from = spans[slot] as number
    const to = spans[slot + 1] as number
    if (from < 0 || to === from) continue
    let seen = false
    for (let earlier = 0; earlier < slot && !seen; earlier += 2) seen = sameBytes(bytes, spans[earlier] as number, spans[earlier + 1] as number, from, to)
    if (!seen) table.addHashed(hash64HiOfAscii(bytes, from, to, false), offset)
  }
}

function sameBytes(bytes: Buffer, aFrom: number, aTo: number, bFrom: number, bTo: number): boolean {
  if (aFrom < 0 || aTo - aFrom !== bTo - bFrom) return false
  for (let k = 0; k < aTo - aFrom; k++) if (bytes[aFrom + k] !== bytes[bFrom + k]) return false
  return true
}

/** Whether the line read at an index hit holds `email`; a line too long to read may, so it counts as holding it. */
function sameEmail(existing: HashRecord | undefined, email: string): boolean {
  return existing === undefined || existing.email === email
}
