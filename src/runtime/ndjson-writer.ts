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
