import { Readable, pipeline } from 'node:stream'
import { parse, type Info } from 'csv-parse'
import { csvRowToProfile } from './csv-cells.ts'
import type { FileItem, ReaderStart } from './file-item.ts'
import { InvalidUtf8Lines } from './invalid-utf8-lines.ts'

interface Row {
  readonly record: string[]
  readonly info: Info
}

/**
 * Reads a CSV (or tab-separated) export with csv-parse. The first row is the header. A row with
 * the wrong number of cells, or that is not valid CSV (a stray quote), becomes an error item and
 * reading goes on; only a quote left open swallows the rest of the file, and its error item says
 * so. `line` is the row's last physical line, so a resume skips rows ending at or before it.
 * A row with bytes that are not UTF-8 (a spreadsheet's Windows-1252 save) is an error item too.
 */
export async function* readCsv(chunks: AsyncIterable<Buffer>, start: ReaderStart, delimiter: string): AsyncGenerator<FileItem> {
  const iterator = chunks[Symbol.asyncIterator]()
  const head = await iterator.next()
  if (head.done) return
  const firstChunk: Buffer = head.value
  const chosen = delimiter === 'auto' ? sniffDelimiter(firstChunk.toString('utf8', 0, Math.min(firstChunk.length, 64 * 1024)).split('\n')[0] ?? '') : delimiter
  async function* replay(): AsyncGenerator<Buffer> {
    yield firstChunk
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value
  }
  const invalid = new InvalidUtf8Lines()
  // Rows the parser refused, in line order; the parser runs ahead of this loop, so each is
  // reported once the rows before it have been.
  const refused: { line: number; code: string }[] = []
  const rows = pipeline(
    Readable.from(invalid.watch(replay()), { objectMode: false }),
    parse({
      delimiter: chosen,
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      relax_quotes: false,
      skip_records_with_error: true,
      on_skip: (error) => {
        const row = { line: (error as { lines?: number } | undefined)?.lines ?? 0, code: (error as { code?: string } | undefined)?.code ?? 'CSV_INVALID' }
        // A row with two faults is refused twice: one dead letter, the one that ends the file if either does.
        const last = refused.at(-1)
        if (last?.line !== row.line) refused.push(row)
        else if (row.code === 'CSV_QUOTE_NOT_CLOSED') last.code = row.code
        return undefined
      },
    }),
    () => {},
  )
  let headers: string[] | undefined
  let line = 0
  /** Error items for the refused rows that end before `upTo`; a fatal one ends the file. */
  const refusedBefore = function* (upTo: number): Generator<FileItem> {
    while (refused.length > 0 && (refused[0] as { line: number }).line < upTo) {
      const row = refused.shift() as { line: number; code: string }
      const after = line
      line = row.line
      if (headers === undefined) {
        // Without its header no row can be read: taking the next row as the header would key
        // every later row by that row's values.
        yield { kind: 'error', line: row.line, code: 'malformed_csv', detail: `the header row is not valid CSV (${row.code}); nothing in this file was read`, fatal: true }
        return
      }
      if (row.line <= start.line) continue
      if (row.code === 'CSV_QUOTE_NOT_CLOSED') {
        yield { kind: 'error', line: row.line, code: 'malformed_csv', detail: `a quote opened after line ${after} is not closed before the end of the file, so the rest of the file could not be read as rows (${row.code})`, fatal: true }
        return
      }
      yield { kind: 'error', line: row.line, code: 'malformed_csv', detail: `row is not valid CSV (${row.code}); fix it and run again with --from-start to import it` }
    }
  }
  try {
    for await (const { record, info } of rows as AsyncIterable<Row>) {
      for (const item of refusedBefore(info.lines)) {
        yield item
        if (item.kind === 'error' && item.fatal) return
      }
      const previous = line
      line = info.lines
      if (!headers) {
        headers = record
        continue
      }
      if (line <= start.line) continue
      if (invalid.anyIn(previous, line)) {
        yield { kind: 'error', line, code: 'invalid_utf8', detail: 'row is not UTF-8 text (save or re-encode the file as UTF-8)' }
        continue
      }
      if (record.length !== headers.length) {
        yield { kind: 'error', line, code: 'csv_column_count', detail: `row has ${record.length} cells, the header has ${headers.length}` }
        continue
      }
      yield { kind: 'value', line, value: csvRowToProfile(headers, record) }
    }
    for (const item of refusedBefore(Number.POSITIVE_INFINITY)) {
      yield item
      if (item.kind === 'error' && item.fatal) return
    }
  } catch (error) {
    if ((error as { code?: unknown }).code?.toString().startsWith('Z_')) throw error
    yield { kind: 'error', line: line + 1, code: 'malformed_csv', detail: `invalid CSV after line ${line} (${csvReason(error)}); the rest of the file is skipped`, fatal: true }
  } finally {
    rows.destroy()
    await iterator.return?.()
  }
}

function csvReason(error: unknown): string {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : 'parse error'
}

/** Picks tab when the header line has more tabs than commas. */
export function sniffDelimiter(headerLine: string): string {
  const tabs = headerLine.split('\t').length
  const commas = headerLine.split(',').length
  return tabs > commas ? '\t' : ','
}
