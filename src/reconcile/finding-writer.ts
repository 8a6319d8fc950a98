import { createWriteStream, type WriteStream } from 'node:fs'
import { once } from 'node:events'
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { finished } from 'node:stream/promises'

/**
 * The differences report: one JSON line per finding, written through a stream whose `write`
 * waits for `drain`, so a reconcile that finds a million differences holds one buffer of them,
 * not all of them. The file is replaced, not appended to.
 */
export class FindingWriter {
  readonly path: string
  #out: WriteStream | undefined
  #pending: string[] = []
  #pendingLength = 0
  #count = 0

  constructor(path: string) {
    this.path = path
  }

  /** Lines written so far. */
  get count(): number {
    return this.#count
  }

  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true })
    const out = createWriteStream(this.path, { flags: 'w', highWaterMark: 1 << 20 })
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

  async #flush(): Promise<void> {
    const out = this.#out
    if (out === undefined) throw new Error(`${this.path} is not open`)
    const text = this.#pending.join('')
    this.#pending = []
    this.#pendingLength = 0
    if (!out.write(text)) await once(out, 'drain')
  }
}
