import { CsvHeaderConflict, csvProfileBuilder } from './csv-cells.ts'
import { csvRows } from './csv-rows.ts'
import type { FileItem, ReaderStart } from './file-item.ts'

/**
 * Reads a CSV (or tab-separated) export. The first row is the header. A row with the wrong number
 * of cells, that is not valid CSV (a stray quote, a quote never closed) or that is not UTF-8 (a
 * spreadsheet's Windows-1252 save) becomes an error item and reading goes on with the next row;
 * only a header that is not valid CSV ends the file. `line` is the row's last physical line, so a
 * resume skips rows ending at or before it.
 */
export async function* readCsv(chunks: AsyncIterable<Buffer>, start: ReaderStart, delimiter: string): AsyncGenerator<FileItem> {
  const iterator = chunks[Symbol.asyncIterator]()
  const head = await iterator.next()
  if (head.done) return
  const firstChunk: Buffer = head.value
  const chosen = delimiter === 'auto' ? sniffDelimiter(firstChunk.toString('utf8', 0, Math.min(firstChunk.length, 64 * 1024)).split('\n')[0] ?? '') : delimiter
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      yield firstChunk
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
      headers = row.cells
      profileOf = csvProfileBuilder(headers)
      continue
    }
    if (line <= start.line) continue
    if (row.fault !== undefined) {
      yield { kind: 'error', line, code: 'malformed_csv', detail: `row is not valid CSV${lines}: ${row.fault}; fix it and run again with --from-start to import it` }
    } else if (!row.utf8) {
      yield { kind: 'error', line, code: 'invalid_utf8', detail: 'row is not UTF-8 text (save or re-encode the file as UTF-8)' }
    } else if (row.cells.length !== headers.length) {
      yield { kind: 'error', line, code: 'csv_column_count', detail: `row has ${row.cells.length} cells, the header has ${headers.length}` }
    } else {
      yield profileItem(line, () => profileOf(row.cells))
    }
  }
}

function profileItem(line: number, profile: () => Record<string, unknown>): FileItem {
  try {
    return { kind: 'value', line, value: profile() }
  } catch (error) {
    if (!(error instanceof CsvHeaderConflict)) throw error
    return { kind: 'error', line, code: 'malformed_csv', detail: `row cannot be read as a profile (${error.message}); rename the header and run again with --from-start` }
  }
}

/** Picks tab when the header line has more tabs than commas. */
export function sniffDelimiter(headerLine: string): string {
  const tabs = headerLine.split('\t').length
  const commas = headerLine.split(',').length
  return tabs > commas ? '\t' : ','
}
