import { createWriteStream, type WriteStream } from 'node:fs'
import { once } from 'node:events'
import { mkdir, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { finished } from 'node:stream/promises'

/**
 * The differences report: one JSON line per finding, written through a stream whose `write`
 * waits for `drain`, so a reconcile that finds a million differences holds one buffer of them,
 * not all of them. Findings go to `<path>.partial` until `commit` renames it to `path`, so the
 * report at `path` is always a whole run's: a failed run leaves its findings so far beside it.
 */
export class FindingWriter {
  readonly path: string
  readonly partialPath: string
  #out: WriteStream | undefined
  #pending: string[] = []
  #pendingLength = 0
  #count = 0

  constructor(path: string) {
    this.path = path
    this.partialPath = `${path}.partial`
  }

  /** Lines written so far. */
  get count(): number {
    return this.#count
  }

  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true })
    const out = createWriteStream(this.partialPath, { flags: 'w', highWaterMark: 1 << 20, mode: 0o600 })
    await once(out, 'open')
    this.#out = out
  }

  async write(finding: object): Promise<void> {
    const line = `${JSON.stringify(finding)}\n`
    this.#pending.push(line)
    this.#pendingLength += line.length
    this.#count++
    if (this.#pendingLength >= 64 * 1024) await this.#flush()
  }

  /** Writes what is left and closes the file. Safe to call twice. */
  async close(): Promise<void> {
    const out = this.#out
    if (out === undefined) return
    this.#out = undefined
    const rest = this.#pending.join('')
    this.#pending = []
    this.#pendingLength = 0
    out.end(rest)
    await finished(out)
  }

  /** Closes the report and puts it in place of the last run's. */
  async commit(): Promise<void> {
    await this.close()
    await rename(this.partialPath, this.path)
  }

  async #flush(): Promise<void> {
    const out = this.#out
    if (out === undefined) throw new Error(`${this.path} is not open`)
    const text = this.#pending.join('')
    this.#pending = []
    this.#pendingLength = 0
    if (!out.write(text)) await once(out, 'drain')
  }
}
