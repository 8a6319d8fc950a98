import { isUtf8 } from 'node:buffer'

/**
 * Passes `chunks` through unchanged while noting which physical lines (1-based, as csv-parse
 * counts them) hold bytes that are not UTF-8. A reader that decodes the stream as a whole (CSV)
 * cannot see them afterwards: the decoder has already put U+FFFD in their place. A multi-byte
 * character never contains a line break, so checking line by line is exact; only chunks that fail
 * the whole-chunk check are split into lines. Lines end at `\n`, or at `\r` in a file that has no
 * `\n` at all (a classic Mac save), as csv-parse reads them.
 */
export class InvalidUtf8Lines {
  /** Bad line numbers, in increasing order (they are found in file order). */
  readonly #bad: number[] = []
  /** `anyIn` asks about rows in file order: bad lines before this index are behind every later row. */
  #next = 0
  /** Lines completed before the current one. */
  #linesBefore = 0
  /** The current line's bytes from earlier chunks, while that line is still open. */
  #open: Buffer[] = []
  #lineEnd: number | undefined

  /** Whether any line in `(after, upTo]` holds bytes that are not UTF-8. Calls must come in file order. */
  anyIn(after: number, upTo: number): boolean {
    while (this.#next < this.#bad.length && (this.#bad[this.#next] as number) <= after) this.#next++
    return this.#next < this.#bad.length && (this.#bad[this.#next] as number) <= upTo
  }

  async *watch(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      this.#scan(chunk)
      yield chunk
    }
    this.#closeLine()
  }

  #scan(chunk: Buffer): void {
    // Decided on the first chunk that has a line break: `\n` (LF or CRLF files), else `\r`.
    if (this.#lineEnd === undefined) {
      if (chunk.includes(0x0a)) this.#lineEnd = 0x0a
      else if (chunk.includes(0x0d)) this.#lineEnd = 0x0d
    }
    const lineEnd = this.#lineEnd ?? 0x0a
    const last = chunk.lastIndexOf(lineEnd)
    if (last === -1) {
      this.#open.push(chunk)
      return
    }
    const head = this.#open.length > 0 ? Buffer.concat([...this.#open, chunk.subarray(0, last + 1)]) : chunk.subarray(0, last + 1)
    this.#open = last + 1 < chunk.length ? [chunk.subarray(last + 1)] : []
    if (isUtf8(head)) {
      this.#linesBefore += count(head, lineEnd)
      return
    }
    for (let from = 0; from < head.length; ) {
      const end = head.indexOf(lineEnd, from)
      this.#linesBefore++
      if (!isUtf8(head.subarray(from, end))) this.#bad.push(this.#linesBefore)
      from = end + 1
    }
  }

  #closeLine(): void {
    if (this.#open.length === 0) return
    if (!isUtf8(Buffer.concat(this.#open))) this.#bad.push(this.#linesBefore + 1)
    this.#open = []
  }
}

function count(bytes: Buffer, byte: number): number {
  let n = 0
  for (let at = bytes.indexOf(byte); at !== -1; at = bytes.indexOf(byte, at + 1)) n++
  return n
}
