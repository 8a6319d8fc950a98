import { CsvHeaderConflict, csvProfileBuilder } from './csv-cells.ts'
import { csvRows } from './csv-rows.ts'
import type { FileItem, ReaderStart } from './file-item.ts'
import { bomLength } from './line-reader.ts'
import { isSecretValue, redactText } from '../../src/runtime/redact.ts'

/**
 * Reads a CSV (or tab-separated) export. The first row is the header. A row with the wrong number
 * of cells, that is not valid CSV (a stray quote, a quote never closed) or that is not UTF-8 (a
 * spreadsheet's Windows-1252 save) becomes an error item and reading goes on with the next row;
 * only a header that is not valid CSV ends the file. `line` is the row's last physical line, so a
 * resume skips rows ending at or before it.
 */
export async function* readCsv(chunks: AsyncIterable<Buffer>, start: ReaderStart, delimiter: string): AsyncGenerator<FileItem> {
  const iterator = chunks[Symbol.asyncIterator]()
  // Enough of the start to hold the header line, however small the first chunks are.
  let opening: Buffer = Buffer.alloc(0)
  while (opening.length < sniffBytes && firstLine(opening) === undefined) {
    const next = await iterator.next()
    if (next.done) break
    opening = opening.length === 0 ? next.value : Buffer.concat([opening, next.value])
  }
  if (opening.length === 0) return
  const chosen = delimiter === 'auto' ? sniffDelimiter(firstLine(opening) ?? opening.toString('utf8', 0, Math.min(opening.length, sniffBytes))) : delimiter
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      yield opening
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value
    } finally {
      await iterator.return?.()
    }
  }
  let headers: string[] | undefined
  let profileOf: (cells: readonly string[]) => Record<string, unknown> = () => ({})
  for await (const row of csvRows(replay(), chosen)) {
    const line = row.lastLine
    const lines = row.firstLine === row.lastLine ? `` : ` (lines ${row.firstLine}–${row.lastLine})`
    if (headers === undefined) {
      if (row.fault !== undefined || !row.utf8) {
        // Without its header no row can be read: taking the next row as the header would key
        // every later row by that row's values.
        const why = row.fault ?? 'not UTF-8 text'
        yield { kind: 'error', line, code: row.fault === undefined ? 'invalid_utf8' : 'malformed_csv', detail: `the header row is not valid CSV (${why}); nothing in this file was read`, fatal: true }
        return
      }
      const data = dataInHeader(row.cells)
      if (data !== undefined) {
        yield { kind: 'error', line, code: 'malformed_csv', detail: `the first row is not a header (${data}): every row would be read by its values, which would key them; put the export's header row first (a file split from a larger export needs it copied in); nothing in this file was read`, fatal: true }
        return
      }
      headers = row.cells
      profileOf = csvProfileBuilder(headers)
      continue
    }
    if (line <= start.line) continue
    if (row.fault !== undefined) {
      const header = row.faultCell === undefined ? undefined : headers[row.faultCell - 1]
      const cell = row.faultCell === undefined ? '' : ` in cell ${row.faultCell}${header ? ` (${header})` : ''}`
      yield { kind: 'error', line, code: 'malformed_csv', detail: `row is not valid CSV${lines}: ${row.fault}${cell}; fix it and send it with backfill --retry-failed` }
    } else if (!row.utf8) {
      yield { kind: 'error', line, code: 'invalid_utf8', detail: 'row is not UTF-8 text (save or re-encode the file as UTF-8)' }
    } else if (row.cells.length !== headers.length) {
      yield { kind: 'error', line, code: 'csv_column_count', detail: `row has ${row.cells.length} cells, the header has ${headers.length}` }
    } else {
      yield profileItem(line, () => profileOf(row.cells), cellsWeight(row.cells))
    }
  }
}

/**
 * Why a header row holds data, naming the cell but never its content (a user's row taken for the
 * header would put its email, id and password hash in every later row's keys); undefined for field names.
 */
export function dataInHeader(cells: readonly string[]): string | undefined {
  for (let i = 0; i < cells.length; i++) {
    const cell = (cells[i] as string).trim().replace(/^'/, '')
    if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(cell)) return `cell ${i + 1} is an email address`
    if (/^[A-Za-z0-9-]+\|\S/.test(cell)) return `cell ${i + 1} is a user id`
    if (isSecretValue(cell) || redactText(cell) !== cell) return `cell ${i + 1} looks like a password hash or secret`
  }
  return undefined
}

function profileItem(line: number, profile: () => Record<string, unknown>, weight: number): FileItem {
  try {
    return { kind: 'value', line, value: profile(), weight }
  } catch (error) {
    if (!(error instanceof CsvHeaderConflict)) throw error
    return { kind: 'error', line, code: 'malformed_csv', detail: `row cannot be read as a profile (${error.message}); rename the header and send the rows with backfill --retry-failed` }
  }
}

/** How much of the file start the delimiter is sniffed from. */
const sniffBytes = 64 * 1024

/** The first non-empty line of `bytes` (after a BOM) when its line end is there, as text. */
function firstLine(bytes: Buffer): string | undefined {
  let from = bomLength(bytes)
  while (from < bytes.length && (bytes[from] === 0x0a || bytes[from] === 0x0d)) from++
  for (let i = from; i < bytes.length; i++) if (bytes[i] === 0x0a || bytes[i] === 0x0d) return bytes.toString('utf8', from, i)
  return undefined
}

/** Picks tab when the header line has more tabs than commas. */
export function sniffDelimiter(headerLine: string): string {
  const tabs = headerLine.split('\t').length
  const commas = headerLine.split(',').length
  return tabs > commas ? '\t' : ','
}

/** A row's weight: its text, and a property's worth (about 64 bytes) per cell of the profile it becomes. */
function cellsWeight(cells: readonly string[]): number {
  let weight = 64 * cells.length
  for (const cell of cells) weight += cell.length
  return weight
}
