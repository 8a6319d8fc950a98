/**
 * One user as read from a source, before mapping.
 *
 * A source never drops what it cannot parse: a malformed line becomes an `unreadable` record so the
 * pipeline can count it, dead-letter it with its origin and still move the checkpoint past it.
 */
export type SourceRecord = ReadableRecord | UnreadableRecord

export interface ReadableRecord {
  readonly kind: 'data'
  /** Stable key of the user in the source (Auth0 `user_id`, primary key, topic/partition/offset). Reports only, never metric labels. */
  readonly key: string
  /** Where it was read, for humans: `users.ndjson.gz:1042`, `public.users id=42`. */
  readonly origin: string
  /** The parsed record: an Auth0 profile (with `password_hash` joined in when a hash export is configured), a row, a message. */
  readonly data: Record<string, unknown>
  /** A record published by a backfill (Kafka `format: mapped`): the key and origin it was read under there, for reports. */
  readonly publishedFrom?: { readonly key: string; readonly origin: string }
}

export interface UnreadableRecord {
  readonly kind: 'unreadable'
  readonly key: string
  readonly origin: string
  /** Stable reason code, e.g. `malformed_json`, `bad_gzip`, `csv_column_count`. */
  readonly code: string
  /** Human explanation naming the file, line and field; never contains record content. */
  readonly message: string
  /** The damage ended the read of its file: nothing after it in the file was read (a cut gzip, a bad CSV header). */
  readonly restSkipped?: true
}
