import { isUtf8 } from 'node:buffer'
import { JsonByte } from '../json-bytes.ts'
import { jsonErrorReason } from '../json-error-reason.ts'
import type { FileItem, ReaderStart } from './file-item.ts'
import { maxLineBytes } from './overlong-line.ts'

const { quote, backslash, comma, openObject, closeObject, openArray, closeArray } = JsonByte

/**
 * Reads a top-level JSON array (Auth0 import-format files, or a converted export) element by
 * element, so the array is never held whole. An item's `line` is its element number (1-based: the
 * position a resume counts in) and `startLine` the physical line the element starts on, which is
 * what a person opening the file needs.
 *
 * The array is cut into elements by its brackets, quotes and commas, and each element is parsed
 * on its own, as NDJSON lines are: an element that is not valid JSON, not UTF-8 or not an object
 * is one error item and reading goes on with the next. So is an element with a stray quote, which
 * would otherwise turn every later string inside out (see `ElementCutter`). Only a fault in the
 * array's own structure ends the file (a file that is not an array has no elements, text after
 * its `]` is not read); the error item says so. A resume re-reads and skips the first `start.line` elements.
 */
export async function* readJsonArray(chunks: AsyncIterable<Buffer>, start: ReaderStart): AsyncGenerator<FileItem> {
  const cutter = new ElementCutter()
  let element = 0
  const read = chunks[Symbol.asyncIterator]()
  /** Yields the items of `pieces`; returns true at a fault, which ends the file. */
  function* deliver(pieces: Piece[]): Generator<FileItem, boolean> {
    for (const piece of pieces) {
      if (piece.kind === 'fault') {
        yield { kind: 'error', line: element + 1, startLine: piece.startLine, code: 'malformed_json', detail: piece.detail, fatal: true }
        return true
      }
      element++
      if (piece.kind === 'broken') {
        if (element > start.line) yield { kind: 'error', line: element, startLine: piece.startLine, code: piece.code ?? 'malformed_json', detail: piece.detail }
        continue
      }
      if (element > start.line) yield parseElement(piece.bytes, element, piece.startLine, piece.value)
    }
    return false
  }
  try {
    for (;;) {
      let next: IteratorResult<Buffer>
      try {
        next = await read.next()
      } catch (error) {
        if (!isZlibError(error)) throw error
        // Named here, where the line is known: the elements before it were all delivered.
        yield { kind: 'error', line: element + 1, startLine: cutter.lastLine, code: 'bad_gzip', detail: `gzip data is corrupt or truncated after element ${element} (${(error as { code: string }).code}); the rest of this file is skipped`, fatal: true }
        return
      }
      if (next.done) break
      if (yield* deliver(cutter.push(next.value))) return
    }
  } finally {
    // Stopped early by the reader's consumer: the input is let go of.
    await read.return?.(undefined)
  }
  if (yield* deliver(cutter.finish())) return
  const end = cutter.end()
  if (end !== undefined) yield { kind: 'error', line: element + 1, startLine: end.startsWith('the array') ? cutter.lastLine : cutter.elementLine, code: 'malformed_json', detail: end, fatal: true }
  // The bad element ran to the end of the file: no line began another at its indentation.
  else if (cutter.broken && element + 1 > start.line) yield { kind: 'error', line: element + 1, startLine: cutter.elementLine, code: 'malformed_json', detail: `${brokenDetail}; no element starts after it, so it runs to the end of the file` }
}

/** `parsed`: the element's value when the cutter has parsed it already (see `ElementCutter`). */
function parseElement(bytes: Buffer, line: number, startLine: number, parsed?: unknown): FileItem {
  if (!isUtf8(bytes)) return { kind: 'error', line, startLine, code: 'invalid_utf8', detail: 'element is not UTF-8 text (re-encode the file as UTF-8)' }
  let value: unknown
  try {
    value = parsed ?? JSON.parse(bytes.toString('utf8'))
  } catch (error) {
    return { kind: 'error', line, startLine, code: 'malformed_json', detail: `element is not valid JSON (${jsonErrorReason(error)})` }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'error', line, startLine, code: 'not_an_object', detail: 'an array element that is not an object' }
  }
  return { kind: 'value', line, startLine, value: value as Record<string, unknown>, weight: bytes.length }
}

/** `startLine`: the 1-based physical line the element starts on (for a fault, the line it is on). */
type Piece =
  /** `value`: parsed already, when the cutter had to know whether it parses. */
  | { readonly kind: 'element'; readonly bytes: Buffer; readonly startLine: number; readonly value?: unknown }
  /** An element with a string that ran past its line; not delivered. */
  | { readonly kind: 'broken'; readonly detail: string; readonly startLine: number; readonly code?: 'line_too_long' }
  | { readonly kind: 'fault'; readonly detail: string; readonly startLine: number }

const brokenDetail = 'element is not valid JSON (a string in it runs past the end of its line: a quote not escaped?)'
const unclosedDetail = 'element is not valid JSON (a bracket in it is not closed before the next element starts: the element is cut short?)'

/** Candidate lines remembered per element: a profile's nested objects at its column (`indent=0`) come before the next element's line. */
const maxCandidates = 8

/** A line inside an element that starts like the next element: its offset, line number, the offset its line starts at, and the byte that ended the line before. */
interface Candidate {
  readonly at: number
  readonly line: number
  readonly lineStart: number
  readonly lineEndByte: number
}

/** An element's bytes that `JSON.parse` refuses. */
const invalid = Symbol('invalid')

function parsed(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown
  } catch {
    return invalid
  }
}
const tooLongDetail = `an element longer than ${maxLineBytes / (1024 * 1024)} MiB, more than is read as one profile, is not read`

/**
 * Finds the top-level elements of a JSON array in chunks of bytes, carrying an element that spans
 * chunks. Brackets are counted outside strings only; whether an element is valid JSON is left to
 * `JSON.parse`. Between elements it expects a comma or the closing bracket; a missing comma is
 * forgiven (the next value is read as the next element), as is a stray extra comma.
 *
 * A JSON string never holds a raw line break. A string still open at the end of a line is either
 * a raw break inside a string (the element is invalid, the quotes still pair) or a quote that
 * should have been escaped (`"a"b"`), after which every quote pairs with the wrong one and the rest
 * of the file would read as one string. Both are read on as before; but from such a break on, a
 * line that starts at the element's own column with the byte the element started with (the next
 * `{` of a one-per-line or indented array), or with the array's `]` further left, ends the element
 * there as broken, and cutting goes on from that line.
 *
 * An element missing a closing bracket (`{"a":1,` and the line ends) swallows the elements after
 * it, up to the array's own `]`. Such lines (the element's column and opener, brackets still
 * open) are remembered; if the element then fails to parse, or the file ends inside it, or it
 * grows past `maxLineBytes`, or a string in it runs past its line, it is cut as broken at the
 * first of them from which the rest cuts into elements with no fault in the array's structure,
 * and cutting goes on from there.
 */
export class ElementCutter {
  #phase: 'open' | 'between' | 'element' | 'after' | 'closed' | 'trailing' = 'open'
  /** Offset of the current chunk's first byte in the whole input. */
  #consumed = 0
  /** Offset where the current line starts. */
  #lineStart = 0
  /** Line ends counted so far (CR, LF or CRLF), and the offset and byte of the last CR or LF: a delimiter byte can be looked at twice. */
  #lineEnds = 0
  #lastLineEnd = -1
  #lastLineEndByte = 0
  /** The 1-based line the current element starts on (the last one, once it has ended). */
  elementLine = 1
  /** Column and first byte of the current element, to find where the next one starts after a break. */
  #elementColumn = 0
  #elementOpener = 0
  /** A string of the current element ran past a line end. */
  #suspect = false
  /** Where the current element began, as an offset in the whole input. */
  #elementStart = 0
  /** Lines inside the current element that start as the next element would (see the class comment), up to `maxCandidates`. */
  #candidates: Candidate[] = []
  /** Elements cut again so far (see `maxRecuts`). */
  #recuts = 0
  /** Since the last line end only spaces have been seen (watched while suspect). */
  #atLineStart = false
  /** How `#scan` stopped early: at a line that starts the next element, or the array's `]`. */
  #cut: 'next' | 'close' = 'next'
  /** A suspect element grew past `maxSuspectBytes`: its bytes were let go, it can only be reported. */
  #dropped = false
  /** An element grew past `maxLineBytes` (see overlong-line.ts): dropped, and reported as too long. */
  #tooLong = false
  /** The current element began in this scan: a closing bracket there is a stray one (see `#scan`). */
  #fresh = false
  /** The input ended inside a suspect element. */
  broken = false
  /** Bytes of a UTF-8 BOM seen at the very start (3 once anything else is seen). */
  #bomBytes = 0
  #depth = 0
  #inString = false
  #escaped = false
  /** The current element's bytes from earlier chunks. */
  #parts: Buffer[] = []
  #partBytes = 0

  push(chunk: Buffer): Piece[] {
    const pieces: Piece[] = []
    let i = 0
    let from = this.#phase === 'element' ? 0 : -1
    for (; i < chunk.length; i++) {
      const b = chunk[i] as number
      if (this.#phase === 'trailing') return this.#done(chunk, pieces)
      if (this.#phase !== 'element' && (b === lf || b === cr)) this.#lineEnd(b, i)
      if (this.#phase === 'open' && this.#bomBytes < 3 && b === bom[this.#bomBytes]) {
        this.#bomBytes++
        continue
      }
      if (this.#phase === 'open' || this.#phase === 'closed') {
        this.#bomBytes = 3
        if (isSpace(b)) continue
        const opens = this.#phase === 'open' && b === openArray
        if (!opens) {
          const notArray = b === openObject ? `the file is one JSON object over several lines, not an array of users nor one user per line; nothing in it was read. If it holds a list of users (a saved Management API page), give the users themselves: jq -c '.users[]' FILE > users.ndjson` : 'the file is not a JSON array (it does not start with "["); nothing in it was read'
          pieces.push({ kind: 'fault', detail: this.#phase === 'open' ? notArray : 'there is more after the array\'s closing "]"; it is not read', startLine: this.#lineEnds + 1 })
          this.#phase = 'trailing'
          return this.#done(chunk, pieces)
        }
        this.#phase = 'between'
        continue
      }
      if (this.#phase === 'after') {
        if (isSpace(b)) continue
        if (b === comma || b === closeArray) {
          this.#phase = b === comma ? 'between' : 'closed'
          continue
        }
        // A missing comma: read on, the next value is the next element.
        this.#phase = 'between'
      }
      if (this.#phase === 'between') {
        if (isSpace(b) || b === comma) continue
        if (b === closeArray) {
          this.#phase = 'closed'
          continue
        }
        this.#phase = 'element'
        this.#depth = 0
        this.#inString = false
        this.#escaped = false
        this.#suspect = false
        this.#candidates = []
        this.#elementStart = this.#consumed + i
        this.#dropped = false
        this.#tooLong = false
        this.#elementColumn = this.#consumed + i - this.#lineStart
        this.elementLine = this.#lineEnds + 1
        this.#elementOpener = b
        this.#fresh = true
        from = i
      }
      // Not `parts.length === 0`: a dropped element has no parts, and a chunk of it may begin with a `}`.
      const end = this.#scan(chunk, i, this.#fresh)
      this.#fresh = false
      if (end === -1) break
      if (end < -1) {
        // A line that starts the next element (or closes the array) ended a broken one.
        const at = -end - 2
        const cut = this.#cut
        // Left open before its string went bad, the element may have taken in whole elements
        // since a line that starts like one: those are cut again from there first, and the break
        // ends the element it lies in, not all of them.
        if (this.#candidates.length > 0 && !this.#dropped && this.#recuts < maxRecuts && this.#tryRecut(this.#take(chunk, from, at), pieces)) {
          // The cut line's indentation was read by the recut: no line start for what begins at `at`.
          this.#atLineStart = false
          // Another element left open after the first: cut again, until the break is in an element of its own.
          this.#recutWhileOpen(pieces, true)
          if (this.#phase !== 'element' || !this.#suspect) {
            from = this.#phase === 'element' ? at : -1
            i = at - 1
            continue
          }
        }
        pieces.push({ kind: 'broken', detail: brokenDetail, startLine: this.elementLine })
        this.#parts = []
        this.#partBytes = 0
        from = -1
        if (cut === 'close') {
          this.#phase = 'closed'
          i = at
        } else {
          this.#phase = 'between'
          i = at - 1
        }
        continue
      }
      if (this.#dropped) {
        pieces.push(this.#tooLong ? { kind: 'broken', detail: tooLongDetail, startLine: this.elementLine, code: 'line_too_long' } : { kind: 'broken', detail: brokenDetail, startLine: this.elementLine })
        this.#parts = []
        this.#partBytes = 0
      } else {
        const bytes = this.#take(chunk, from, end)
        // An invalid element that may have swallowed what follows: cut at a line that starts
        // like an element, when what follows from there reads as elements of the array. Parsed
        // here, a valid one is not parsed again when it is delivered.
        const value = this.#candidates.length > 0 && this.#recuts < maxRecuts ? parsed(bytes) : undefined
        if (value === invalid && this.#tryRecut(bytes, pieces)) {
          from = this.#phase === 'element' ? end : -1
          i = end - 1
          continue
        }
        pieces.push(value === undefined || value === invalid ? { kind: 'element', bytes, startLine: this.elementLine } : { kind: 'element', bytes, startLine: this.elementLine, value })
      }
      this.#phase = 'after'
      from = -1
      // A scalar ends on its delimiter, which `after` must see again.
      i = end - 1
    }
    if (this.#phase === 'element' && !this.#dropped) {
      const rest = chunk.subarray(from === -1 ? 0 : from)
      this.#parts.push(rest)
      this.#partBytes += rest.length
      if (this.#candidates.length > 0 && this.#recuts < maxRecuts && this.#partBytes > (this.#suspect ? maxSuspectBytes : maxLineBytes)) {
        // Longer than any profile is read (it would be dropped whole), with brackets open since a
        // line that starts like an element: cut it there, rather than lose what it took in.
        if (this.#tryRecut(Buffer.concat(this.#parts), pieces)) return this.#done(chunk, pieces)
      }
      // A suspect element this long has run on past any sane profile: keep only watching for the next element.
      if (this.#suspect && this.#partBytes > maxSuspectBytes) {
        this.#dropped = true
        this.#parts = []
        this.#partBytes = 0
      } else if (this.#partBytes > maxLineBytes) {
        // Read on to its end, counting brackets only: no profile is this long, and holding it took
        // three to four times its size in memory.
        this.#dropped = true
        this.#tooLong = true
        this.#parts = []
        this.#partBytes = 0
      }
    }
    return this.#done(chunk, pieces)
  }

  /**
   * Reports the current element (whose bytes so far are `bytes`, ending where the scan of the
   * current chunk stands) as unclosed up to its candidate line, and cuts the bytes from that line again, with the
   * line count taken back to it. The cutter is left as that cut ends: between elements, or inside one.
   */
  #recut(bytes: Buffer, candidate: Candidate, pieces: Piece[]): void {
    pieces.push({ kind: 'broken', detail: unclosedDetail, startLine: this.elementLine })
    const chunkStart = this.#consumed
    const rest = bytes.subarray(candidate.at - this.#elementStart)
    this.#parts = []
    this.#partBytes = 0
    this.#resumeAt(candidate, this.#recuts + 1)
    pieces.push(...this.push(rest))
    // The bytes cut again end where the scan of the current chunk stands, which its own push counts.
    this.#consumed = chunkStart
  }

  /** Sets the cutter between elements at the start of `candidate`'s line, as it stood when it read it. */
  #resumeAt(candidate: Candidate, recuts: number): void {
    this.#consumed = candidate.at
    this.#lineStart = candidate.lineStart
    this.#lineEnds = candidate.line - 1
    this.#lastLineEnd = candidate.lineStart - 1
    this.#lastLineEndByte = candidate.lineEndByte
    this.#phase = 'between'
    this.#candidates = []
    this.#atLineStart = false
    this.#recuts = recuts
  }

  /**
   * Cuts the current element (its bytes so far: `bytes`) at the first of its candidate lines from
   * which the rest reads as elements of the array, with no fault in the array's structure (a line
   * inside the element at its column, such as an identity in a `json.dumps(indent=0)` file, is
   * followed by the element's own `]` and fields, which are). False, the cutter unchanged but for
   * its candidates, when none does.
   */
  #tryRecut(bytes: Buffer, pieces: Piece[]): boolean {
    for (const candidate of this.#candidates) {
      // Tried on a cutter of its own: this one is changed only by the cut that is made.
      const trial = new ElementCutter()
      trial.#resumeAt(candidate, this.#recuts + 1)
      if (trial.push(bytes.subarray(candidate.at - this.#elementStart)).some((piece) => piece.kind === 'fault')) continue
      this.#recut(bytes, candidate, pieces)
      return true
    }
    this.#candidates = []
    return false
  }

  #done(chunk: Buffer, pieces: Piece[]): Piece[] {
    this.#consumed += chunk.length
    return pieces
  }

  /**
   * At the end of the input, inside an element whose brackets stayed open since a line that starts
   * like an element: the elements from that line, which it swallowed (see the class comment).
   */
  finish(): Piece[] {
    const pieces: Piece[] = []
    // Cut again, the rest may end inside the next such element. An element whose string went bad
    // after such a line (a quote not escaped) is cut there too: the break ends the last element only.
    this.#recutWhileOpen(pieces, false)
    return pieces
  }

  /**
   * Cuts the current element again at its candidate lines (see `#tryRecut`) while a cut succeeds
   * and leaves an element open (`suspect`: only one whose string broke).
   */
  #recutWhileOpen(pieces: Piece[], suspect: boolean): void {
    while (this.#phase === 'element' && (!suspect || this.#suspect) && this.#candidates.length > 0 && !this.#dropped && this.#recuts < maxRecuts) {
      if (!this.#tryRecut(Buffer.concat(this.#parts), pieces)) break
      // The cut line's indentation was read by the cut: no line start for what comes next.
      this.#atLineStart = false
    }
  }

  /** Why the input ended inside the array, or undefined when it ended after `]` (or in a broken element, see `broken`). */
  end(): string | undefined {
    if (this.#phase === 'closed' || this.#phase === 'trailing') return undefined
    // Only spaces (or nothing, or a BOM) were read: an empty file, as a 0-byte one is.
    if (this.#phase === 'open') return undefined
    if (this.#phase === 'element' && this.#suspect) {
      this.broken = true
      return undefined
    }
    if (this.#phase === 'element') return this.#inString ? 'a string is not closed before the end of the file; the rest of the file is skipped' : 'the last element is not closed before the end of the file'
    return 'the array is not closed with "]"; every element before the end was read'
  }

  /**
   * Scans the current element from `i`; returns the index just past it, -1 when it goes on in
   * the next chunk, or -(index + 2) of a line that ends a suspect element (`#cut` says how).
   * Objects and arrays end at their closing bracket, scalars before the next comma, bracket or space.
   */
  #scan(chunk: Buffer, i: number, atStart: boolean): number {
    // A closing bracket where an element should begin (`[{…}}, …]`) is taken as a one-byte element
    // that JSON.parse refuses: reported, and passed over.
    if (atStart && (chunk[i] === closeObject || chunk[i] === closeArray)) return i + 1
    for (; i < chunk.length; i++) {
      const b = chunk[i] as number
      if (b === lf || b === cr) {
        this.#lineEnd(b, i)
        if (this.#inString) this.#suspect = true
        this.#atLineStart = this.#suspect || (this.#depth > 0 && this.#candidates.length < maxCandidates)
      } else if (this.#atLineStart && b !== 0x20 && b !== 0x09) {
        this.#atLineStart = false
        const column = this.#consumed + i - this.#lineStart
        if (!this.#suspect) {
          // Not at a break in a string: only remembered, in case the element turns out unclosed.
          if (column === this.#elementColumn && b === this.#elementOpener) {
            this.#candidates.push({ at: this.#consumed + i, line: this.#lineEnds + 1, lineStart: this.#lineStart, lineEndByte: this.#lastLineEndByte })
          }
        } else if (column === this.#elementColumn && b === this.#elementOpener) {
          this.#cut = 'next'
          return -(i + 2)
        } else if (b === closeArray && column <= this.#elementColumn) {
          this.#cut = 'close'
          return -(i + 2)
        }
      }
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false
        else if (b === backslash) this.#escaped = true
        else if (b === quote) {
          this.#inString = false
          if (this.#depth === 0) return i + 1
        }
        continue
      }
      if (b === quote) this.#inString = true
      else if (b === openObject || b === openArray) this.#depth++
      else if (b === closeObject || b === closeArray) {
        if (this.#depth === 0) return i
        this.#depth--
        if (this.#depth === 0) return i + 1
      } else if (this.#depth === 0 && (b === comma || isSpace(b))) return i
    }
    return -1
  }

  /** The file's last line so far (a line end at the very end starts no new line). */
  get lastLine(): number {
    return this.#lastLineEnd === this.#consumed - 1 ? this.#lineEnds : this.#lineEnds + 1
  }

  /** A CR or LF at `chunk[i]`: the next line starts after it. CR, LF and CRLF each end one line. */
  #lineEnd(b: number, i: number): void {
    const at = this.#consumed + i
    this.#lineStart = at + 1
    if (at <= this.#lastLineEnd) return
    const crlf = b === lf && this.#lastLineEndByte === cr && this.#lastLineEnd === at - 1
    this.#lastLineEnd = at
    this.#lastLineEndByte = b
    if (!crlf) this.#lineEnds++
  }

  #take(chunk: Buffer, from: number, end: number): Buffer {
    const tail = chunk.subarray(from === -1 ? 0 : from, end)
    if (this.#parts.length === 0) return tail
    const whole = Buffer.concat([...this.#parts, tail])
    this.#parts = []
    this.#partBytes = 0
    return whole
  }
}

/** A suspect element (see `ElementCutter`) longer than this is let go of and only reported. */
const maxSuspectBytes = 1024 * 1024

/**
 * Unclosed elements cut again in one file. Each cut reads the rest of the element again (often the
 * rest of the file), so a file of thousands of them would be read thousands of times; past this
 * many, the elements are reported as before (the rest of the file taken in by the last).
 */
const maxRecuts = 16

const bom = [0xef, 0xbb, 0xbf] as const
const lf = 0x0a
const cr = 0x0d

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a
}

export function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && code.startsWith('Z_')
}
