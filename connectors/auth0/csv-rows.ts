import { isUtf8 } from 'node:buffer'
import { bomLength } from './line-reader.ts'

/** One CSV row as cut from the bytes: its cells, or why it is not a row of valid CSV. */
export interface CsvRow {
  /** The physical line the row starts on (1-based). */
  readonly firstLine: number
  /** The physical line its terminator ends (a quoted cell may span lines). */
  readonly lastLine: number
  /** The cells, decoded; empty when `fault` is set or the row is not UTF-8. */
  readonly cells: string[]
  /** Why the row is not valid CSV; its cells are not to be used. */
  readonly fault?: string
  /** Which cell (1-based) the fault is in, when it is in one. */
  readonly faultCell?: number
  /** False when the row holds bytes that are not UTF-8. */
  readonly utf8: boolean
}

/**
 * A row longer than this is taken for a quote opened by mistake: the row ends on the line of the
 * quote left open, and the lines after it are read as rows. No user profile comes near it (Auth0 caps metadata at
 * 16 KB), and it bounds the memory a bad quote can hold. Decided on the row's length alone, so
 * the outcome does not depend on how the input was cut into chunks.
 */
export const maxRowBytes = 1024 * 1024

const quote = 0x22
const cr = 0x0d
const lf = 0x0a

/**
 * Cuts CSV (RFC 4180: `"` quotes, `""` inside quotes, CRLF, LF or lone CR line ends) into rows.
 *
 * A fault stays in its row: a quote inside an unquoted cell, or text after a cell's closing quote
 * (`"B"b`), marks the row as faulty and the row still ends at its line end, so every row after it
 * is read. (csv-parse, used before, carried such a stray quote on as an open one and silently
 * dropped the rows up to the next quote.) A quote never closed (by the end of the input, or within
 * `maxRowBytes`) ends its row on the quote's own line, and reading goes on from the next line. Empty
 * lines are skipped; a UTF-8 BOM at the start is dropped. The delimiter is one ASCII byte.
 */
export async function* csvRows(chunks: AsyncIterable<Buffer>, delimiter: string): AsyncGenerator<CsvRow> {
  const delim = delimiter.charCodeAt(0)
  if (delimiter.length !== 1 || delim > 0x7f || delim === quote || delim === cr || delim === lf) throw new Error(`CSV delimiter must be one ASCII character other than a quote or line end, got ${JSON.stringify(delimiter)}`)
  let buffer = Buffer.alloc(0)
  let at = 0
  let line = 1
  let first = true
  // After a row ended by a quote left open: the rest of its last line is dropped (it may span chunks).
  let skipLine = false
  // Bytes wanted before the pending row is scanned again: it doubles, so a long row costs linear time.
  let wanted = 0
  const iterator = chunks[Symbol.asyncIterator]()
  try {
    let ended = false
    while (!ended) {
      const collected: Buffer[] = [buffer.subarray(at)]
      let length = buffer.length - at
      while (length < wanted || collected.length === 1) {
        const next = await iterator.next()
        if (next.done) {
          ended = true
          break
        }
        collected.push(next.value)
        length += next.value.length
      }
      buffer = Buffer.concat(collected, length)
      at = 0
      if (first) at = bomLength(buffer)
      if (first && (buffer.length >= 3 || ended)) first = false
      else if (first) continue
      wanted = 0
      for (;;) {
        if (skipLine) {
          at = lineEnd(buffer, at)
          if (at === buffer.length) break
          skipLine = false
        }
        // Empty lines are no rows.
        while (at < buffer.length && (buffer[at] === lf || buffer[at] === cr)) {
          if (buffer[at] === cr && at + 1 === buffer.length && !ended) break
          at += buffer[at] === cr && buffer[at + 1] === lf ? 2 : 1
          line++
        }
        if (at >= buffer.length || (buffer[at] === cr && !ended)) break
        // The row is decided on its first maxRowBytes (and its line end) alone, however the input was cut.
        const limit = Math.min(buffer.length, at + maxRowBytes + 2)
        const row = scanRow(buffer, at, limit, delim, ended && limit === buffer.length)
        if (!row.done && limit < at + maxRowBytes + 2 && !ended) {
          wanted = Math.max(2 * (buffer.length - at), 64 * 1024)
          break
        }
        if (!row.done || row.end - at > maxRowBytes) {
          // A quote that never closes ends its row at the quote's line, and the line after is read:
          // taking the rest of the file for one cell would lose every row in it.
          const stop = row.done ? row.end : row.open ?? at + maxRowBytes
          const lastLine = line + lineBreaks(buffer, at, stop)
          const fault = row.done || row.open === undefined
            ? `the row runs past ${maxRowBytes / 1024 / 1024} MiB`
            : `a quote opened on line ${lastLine} is ${limit === buffer.length && ended ? 'never closed' : `not closed within ${maxRowBytes / 1024 / 1024} MiB`}`
          yield { firstLine: line, lastLine, cells: [], fault, utf8: isUtf8(buffer.subarray(at, lineEnd(buffer, stop))) }
          line = lastLine
          at = stop
          skipLine = true
          continue
        }
        const utf8 = isUtf8(buffer.subarray(at, row.end))
        yield { firstLine: line, lastLine: line + row.breaks, cells: utf8 && row.fault === undefined ? row.cells : [], ...(row.fault === undefined ? {} : { fault: row.fault, ...(row.faultCell !== undefined ? { faultCell: row.faultCell } : {}) }), utf8 }
        line += row.breaks + 1
        at = row.next
      }
    }
  } finally {
    await iterator.return?.()
  }
}

type ScannedRow =
  | {
      readonly done: true
      readonly cells: string[]
      readonly fault: string | undefined
      readonly faultCell?: number
      /** Line breaks inside quoted cells. */
      readonly breaks: number
      /** Where the row's own bytes end (its terminator starts). */
      readonly end: number
      /** Where the next row starts. */
      readonly next: number
    }
  | {
      readonly done: false
      /** The opening quote of the cell still open at `limit`, if the scan stopped inside one. */
      readonly open: number | undefined
    }

/**
 * The row starting at `start`, read no further than `limit`; `final` when the input ends there.
 * Not done when the row does not end before `limit` (or whether it does depends on the next byte).
 */
function scanRow(buffer: Buffer, start: number, limit: number, delim: number, final: boolean): ScannedRow {
  const cells: string[] = []
  let fault: string | undefined
  let faultCell: number | undefined
  let breaks = 0
  let i = start
  for (;;) {
    if (i < limit && buffer[i] === quote) {
      const open = i
      let text = ''
      let from = i + 1
      for (;;) {
        const close = buffer.indexOf(quote, from)
        if (close === -1 || close >= limit || (close + 1 === limit && !final)) return { done: false, open }
        breaks += lineBreaks(buffer, from, close)
        if (close + 1 < limit && buffer[close + 1] === quote) {
          text += buffer.toString('utf8', from, close + 1)
          from = close + 2
          continue
        }
        text += buffer.toString('utf8', from, close)
        i = close + 1
        break
      }
      cells.push(text)
      if (i < limit && buffer[i] !== delim && buffer[i] !== cr && buffer[i] !== lf) {
        if (fault === undefined) {
          fault = 'text after the closing quote of a cell'
          faultCell = cells.length
        }
        while (i < limit && buffer[i] !== delim && buffer[i] !== cr && buffer[i] !== lf) i++
      }
    } else {
      const from = i
      while (i < limit) {
        const byte = buffer[i] as number
        if (byte === delim || byte === cr || byte === lf) break
        if (byte === quote && fault === undefined) {
          fault = 'a quote inside a cell that does not start with one'
          faultCell = cells.length + 1
        }
        i++
      }
      cells.push(buffer.toString('utf8', from, i))
    }
    if (i >= limit) return final ? { done: true, cells, fault, faultCell, breaks, end: i, next: i } : { done: false, open: undefined }
    if (buffer[i] === delim) {
      i++
      continue
    }
    if (buffer[i] === lf) return { done: true, cells, fault, faultCell, breaks, end: i, next: i + 1 }
    if (i + 1 === limit && !final) return { done: false, open: undefined }
    return { done: true, cells, fault, faultCell, breaks, end: i, next: i + 1 < limit && buffer[i + 1] === lf ? i + 2 : i + 1 }
  }
}

/** Line breaks (CRLF, LF or a lone CR) in `buffer[from, to)`. */
function lineBreaks(buffer: Buffer, from: number, to: number): number {
  let count = 0
  for (let i = from; i < to; i++) {
    const byte = buffer[i]
    if (byte === lf || (byte === cr && buffer[i + 1] !== lf)) count++
  }
  return count
}

/** The index of the first line end at or after `from`, or the buffer's length. */
function lineEnd(buffer: Buffer, from: number): number {
  for (let i = from; i < buffer.length; i++) if (buffer[i] === lf || buffer[i] === cr) return i
  return buffer.length
}
