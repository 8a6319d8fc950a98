import { mkdir, open, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Append-only NDJSON file. Lines are buffered and written in blocks; `flush()` writes and fsyncs,
 * and the runtime calls it before every checkpoint commit, so a committed position never runs
 * ahead of the dead letters and report lines that describe it.
 */
export class NdjsonWriter {
  readonly path: string
  #file: FileHandle | undefined
  #lines: string[] = []
  #bytes = 0
  #written = 0
  #chain: Promise<void> = Promise.resolve()

  constructor(path: string) {
    this.path = path
  }

  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true })
    await trimTornLine(this.path)
    this.#file = await open(this.path, 'a')
  }

  /** Lines written through this writer in this run. */
  get count(): number {
    return this.#written
  }

  write(entry: object): void {
    const line = `${JSON.stringify(entry)}\n`
    this.#lines.push(line)
    this.#bytes += line.length
    this.#written++
    if (this.#bytes > 1 << 20) void this.#drain(false)
  }

  /** Writes buffered lines and fsyncs the file. */
  flush(): Promise<void> {
    return this.#drain(true)
  }

  async close(): Promise<void> {
    await this.flush()
    await this.#file?.close()
    this.#file = undefined
  }

  #drain(sync: boolean): Promise<void> {
    const lines = this.#lines
    this.#lines = []
    this.#bytes = 0
    this.#chain = this.#chain.then(async () => {
      if (!this.#file) throw new Error(`${this.path} is not open`)
      if (lines.length > 0) await this.#file.write(lines.join(''))
      if (sync) await this.#file.sync()
    })
    return this.#chain
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
