import { isUtf8 } from 'node:buffer'

/**
 * Passes `chunks` through unchanged while noting which physical lines (1-based, as csv-parse
 * counts them) hold bytes that are not UTF-8. A reader that decodes the stream as a whole (CSV)
 * cannot see them afterwards: the decoder has already put U+FFFD in their place. A multi-byte
 * character never contains a newline, so checking line by line is exact; only chunks that fail
 * the whole-chunk check are split into lines.
 */
export class InvalidUtf8Lines {
  readonly #bad = new Set<number>()
  /** Lines completed before the current one. */
  #linesBefore = 0
  /** The current line's bytes from earlier chunks, while that line is still open. */
  #open: Buffer[] = []

  /** Whether any bytes read so far are not UTF-8. */
  get seen(): boolean {
    return this.#bad.size > 0
  }

  /** Whether any line in `(after, upTo]` holds bytes that are not UTF-8. */
  anyIn(after: number, upTo: number): boolean {
    if (this.#bad.size === 0) return false
    for (const line of this.#bad) if (line > after && line <= upTo) return true
    return false
  }

  async *watch(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      this.#scan(chunk)
      yield chunk
    }
    this.#closeLine()
  }

  #scan(chunk: Buffer): void {
    const last = chunk.lastIndexOf(0x0a)
    if (last === -1) {
      this.#open.push(chunk)
      return
    }
    const head = this.#open.length > 0 ? Buffer.concat([...this.#open, chunk.subarray(0, last + 1)]) : chunk.subarray(0, last + 1)
    this.#open = last + 1 < chunk.length ? [chunk.subarray(last + 1)] : []
    if (isUtf8(head)) {
      this.#linesBefore += countNewlines(head)
      return
    }
    for (let from = 0; from < head.length; ) {
      const newline = head.indexOf(0x0a, from)
      this.#linesBefore++
      if (!isUtf8(head.subarray(from, newline))) this.#bad.add(this.#linesBefore)
      from = newline + 1
    }
  }

  #closeLine(): void {
    if (this.#open.length === 0) return
    if (!isUtf8(Buffer.concat(this.#open))) this.#bad.add(this.#linesBefore + 1)
    this.#open = []
  }
}

function countNewlines(bytes: Buffer): number {
  let count = 0
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) count++
  return count
}
