/**
 * What a file reader yields for one unit of input (a line, a CSV row, an array element).
 * Readers know nothing of keys, joins or batches; the source turns items into records.
 */
export type FileItem =
  | {
      readonly kind: 'value'
      /** 1-based line (CSV: last physical line of the row; JSON arrays: element number). */
      readonly line: number
      /** JSON arrays: the physical line the element starts on (`line` counts elements). */
      readonly startLine?: number
      /** Byte offset just after this item in the decompressed input, when the reader can seek. */
      readonly offset?: number
      readonly value: Record<string, unknown>
      /** About what the parsed value holds, in bytes of its text: batches close on it, as a few wide profiles can weigh more than hundreds of narrow ones. */
      readonly weight?: number
    }
  | {
      readonly kind: 'error'
      readonly line: number
      readonly startLine?: number
      readonly offset?: number
      /** `malformed_json`, `not_an_object`, `bad_gzip`, `malformed_csv`, `csv_column_count`. */
      readonly code: string
      /** Names the problem only; never record content. The source prefixes the file. */
      readonly detail: string
      /** The reader stops after this item (the rest of the file cannot be read). */
      readonly fatal?: boolean
    }

/** Where a reader starts: `line` items already consumed, `offset` bytes to seek past (plain files). */
export interface ReaderStart {
  readonly line: number
  readonly offset?: number
}

/** Counts bytes read from disk, for `SourceBatch.bytesRead`. */
export interface ByteCounter {
  bytes: number
}
