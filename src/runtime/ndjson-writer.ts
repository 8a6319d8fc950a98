import { mkdir, open, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { releaseBuffer } from './release-buffer.ts'

/** Lines are encoded into chunks of this size, outside the V8 heap. */
const chunkBytes = 256 * 1024

/** Buffered bytes that start a write without waiting for a flush. */
const drainBytes = 1 << 20

/**
 * Append-only NDJSON file. Lines are buffered and written in blocks; `flush()` writes and fsyncs,
 * and the runtime calls it before every checkpoint commit, so a committed position never runs
 * ahead of the dead letters and report lines that describe it. Lines are encoded as they come into
 * byte chunks: joining a megabyte of lines into one string for each write put a large string in
 * V8's old generation per megabyte of report (a million-user run writes a quarter gigabyte).
 */
export class NdjsonWriter {
  readonly path: string
  #file: FileHandle | undefined
  #chunk = Buffer.allocUnsafeSlow(chunkBytes)
  #used = 0
  #sealed: Buffer[] = []
  #bytes = 0
  #written = 0
  #chain: Promise<void> = Promise.resolve()

  constructor(path: string) {
    this.path = path
  }

  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true })
    await trimTornLine(this.path)
    // Reports and dead letters quote emails and whole source profiles: readable by the owner only
    // when created here (a file that exists keeps the mode its owner gave it).
    this.#file = await open(this.path, 'a', 0o600)
  }

  /** Lines written through this writer in this run. */
  get count(): number {
    return this.#written
  }

  write(entry: object): void {
    const line = boundedLine(entry)
    // UTF-8 takes at most 3 bytes per UTF-16 unit: with that much room the line fits whole.
    const room = line.length * 3 + 1
    if (this.#chunk.length - this.#used < room) this.#seal(room)
    const bytes = this.#chunk.write(line, this.#used) + 1
    this.#chunk[this.#used + bytes - 1] = 0x0a
    this.#used += bytes
    this.#bytes += bytes
    this.#written++
    // A failed background write (a full disk) surfaces at the next flush: the chain stays rejected.
    if (this.#bytes > drainBytes) this.#drain(false).catch(() => undefined)
  }

  /** Sets the filled part of the current chunk aside for the next write and starts a new chunk. */
  #seal(room = 0): void {
    if (this.#used > 0) this.#sealed.push(this.#chunk.subarray(0, this.#used))
    if (this.#used > 0 || this.#chunk.length < room) this.#chunk = Buffer.allocUnsafeSlow(Math.max(chunkBytes, room))
    this.#used = 0
  }

  /** Writes buffered lines to the file without an fsync: enough for them to outlive the process (not the machine). */
  writeOut(): Promise<void> {
    return this.#drain(false)
  }

  /** Writes buffered lines and fsyncs the file; rejects, now and at every later flush, once a write has failed. */
  flush(): Promise<void> {
    return this.#drain(true)
  }

  async close(): Promise<void> {
    await this.flush()
    await this.#file?.close()
    this.#file = undefined
  }

  #drain(sync: boolean): Promise<void> {
    this.#seal()
    const chunks = this.#sealed
    this.#sealed = []
    this.#bytes = 0
    this.#chain = this.#chain.then(async () => {
      if (!this.#file) throw new Error(`${this.path} is not open`)
      if (chunks.length > 0) await writeAll(this.#file, chunks)
      for (const chunk of chunks) releaseBuffer(chunk)
      if (sync) await this.#file.sync()
    })
    return this.#chain
  }
}

/** Writes every chunk, in order; `writev` may write fewer bytes than asked, so the rest is written again. */
async function writeAll(file: FileHandle, chunks: Buffer[]): Promise<void> {
  let pending = chunks
  while (pending.length > 0) {
    let { bytesWritten } = await file.writev(pending)
    const rest: Buffer[] = []
    for (const chunk of pending) {
      if (bytesWritten >= chunk.length) bytesWritten -= chunk.length
      else {
        rest.push(chunk.subarray(bytesWritten))
        bytesWritten = 0
      }
    }
    pending = rest
  }
}

/**
 * A run killed in the middle of a write leaves the file's last line cut short. Lines are fsynced
 * before the checkpoint that covers their records, so a cut line belongs to records after the
 * committed position: the next run reads them again and writes their lines again. The cut piece is
 * removed first, so every line of the file stays whole JSON.
 */
async function trimTornLine(path: string): Promise<void> {
  let file: FileHandle
  try {
    file = await open(path, 'r+')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  try {
    const { size } = await file.stat()
    if (size === 0) return
    const tail = Buffer.alloc(1)
    await file.read(tail, 0, 1, size - 1)
    if (tail[0] === 0x0a) return
    // Walk back to the last newline, a block at a time.
    const block = Buffer.alloc(64 * 1024)
    let end = size
    while (end > 0) {
      const start = Math.max(0, end - block.length)
      const { bytesRead } = await file.read(block, 0, end - start, start)
      const newline = block.subarray(0, bytesRead).lastIndexOf(0x0a)
      if (newline !== -1) {
        await file.truncate(start + newline + 1)
        await file.sync()
        return
      }
      end = start
    }
    await file.truncate(0)
    await file.sync()
  } finally {
    await file.close()
  }
}

/** Longest line kept whole when it holds a `record`: past it, the dead letter names the record by its origin only. */
export const maxRecordLineChars = 4 * 1024 * 1024

/**
 * `entry` as one JSON line. An entry whose `record` makes the line longer than
 * `maxRecordLineChars`, or longer than V8's longest string (a profile of hundreds of megabytes:
 * serializing it throws, and every rerun would meet it again), is written without its record and
 * marked `record_truncated: true`.
 */
export function boundedLine(entry: object): string {
  let line: string | undefined
  try {
    line = JSON.stringify(entry)
  } catch (error) {
    if (!(error instanceof RangeError) || !('record' in entry)) throw error
  }
  if (line !== undefined && (line.length <= maxRecordLineChars || !('record' in entry))) return line
  return JSON.stringify({ ...entry, record: undefined, record_truncated: true })
}
