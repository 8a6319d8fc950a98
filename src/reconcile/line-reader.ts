import { open, type FileHandle } from 'node:fs/promises'
import { StringDecoder } from 'node:string_decoder'

/**
 * Reads the lines of a file (a run file, the export) through a fixed buffer: at most one chunk of
 * decoded lines is held at a time, whatever the file size, so a k-way merge over k runs holds k
 * chunks. `line` is the current line (a trailing CR removed), `undefined` once the file is
 * exhausted (or before the first `advance`).
 */
export class LineReader {
  readonly #path: string
  readonly #chunkBytes: number
  #file: FileHandle | undefined
  #buffer: Buffer | undefined
  readonly #decoder = new StringDecoder('utf8')
  #lines: string[] = []
  #next = 0
  #partial = ''
  #eof = false
  line: string | undefined

  constructor(path: string, chunkBytes = 64 * 1024) {
    this.#path = path
    this.#chunkBytes = chunkBytes
  }

  /** Moves to the next line; resolves false at the end of the file. */
  async advance(): Promise<boolean> {
    while (this.#next >= this.#lines.length) {
      if (this.#eof) {
        this.line = undefined
        return false
      }
      await this.#fill()
    }
    const line = this.#lines[this.#next++]!
    this.line = line.endsWith('\r') ? line.slice(0, -1) : line
    return true
  }

  async close(): Promise<void> {
    this.#lines = []
    this.#buffer = undefined
    const file = this.#file
    this.#file = undefined
    await file?.close()
  }

  async #fill(): Promise<void> {
    this.#file ??= await open(this.#path, 'r')
    this.#buffer ??= Buffer.allocUnsafe(this.#chunkBytes)
    const { bytesRead } = await this.#file.read(this.#buffer, 0, this.#chunkBytes, null)
    let text: string
    if (bytesRead === 0) {
      this.#eof = true
      text = this.#partial + this.#decoder.end()
      this.#partial = ''
      this.#lines = text === '' ? [] : [text]
    } else {
      text = this.#partial + this.#decoder.write(this.#buffer.subarray(0, bytesRead))
      const lines = text.split('\n')
      this.#partial = lines.pop()!
      this.#lines = lines
    }
    this.#next = 0
  }
}
