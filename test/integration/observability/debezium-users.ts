/** A Kafka message as the test broker's `produce` takes it (null value = tombstone). */
export interface ChangeEvent {
  readonly key: string
  readonly value: string | null
}

/** The columns the sync's `record_mapping: sql` reads, for `source.columns`. */
export const userColumns = { email: 'email', name: 'name' } as const

function event(id: number, op: 'r' | 'd', ts: number): ChangeEvent {
  const row = { id, email: `cdc${id}@legacy.example`, name: `CDC user ${id}` }
  const payload = { before: op === 'd' ? row : null, after: op === 'd' ? null : row, op, ts_ms: ts, source: { connector: 'postgresql', db: 'legacy', table: 'users', ts_ms: ts } }
  return { key: JSON.stringify({ id }), value: JSON.stringify(payload) }
}

/** Debezium snapshot events (`op: r`) of rows 1..`rows` of a legacy users table, keyed by primary key. */
export function snapshotEvents(rows: number): ChangeEvent[] {
  return Array.from({ length: rows }, (_, i) => event(i + 1, 'r', 1_700_000_000_000 + i))
}

/** Delete events (`op: d`) of `ids`, each followed by the tombstone Debezium writes for log compaction. */
export function deleteEvents(ids: readonly number[]): ChangeEvent[] {
  return ids.flatMap((id) => [event(id, 'd', 1_800_000_000_000 + id), { key: JSON.stringify({ id }), value: null }])
}
