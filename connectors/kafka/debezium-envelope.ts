/** Debezium operations: create, update, read (snapshot), delete. Truncate and message are not row changes. */
export const DebeziumOps = ['c', 'u', 'r', 'd'] as const
export type DebeziumOp = (typeof DebeziumOps)[number]

/** A Debezium change event reduced to what the mapping needs. */
export interface DebeziumChange {
  readonly op: DebeziumOp
  readonly before: Record<string, unknown> | null
  readonly after: Record<string, unknown> | null
  /** When the change happened in the database (`source.ts_ms`), if present. */
  readonly sourceTsMs?: number
  /** The Kafka message's key as text: Debezium keys each event by the row's primary key. */
  readonly rowKey?: string
  /**
   * A primary-key change, which Debezium sends as a delete of the old key and a create of the new:
   * on the delete the new key (`__debezium.newkey`), on the create the old one (`__debezium.oldkey`).
   */
  readonly otherRowKey?: string
}

export type EnvelopeResult =
  | { readonly kind: 'change'; readonly change: DebeziumChange }
  | { readonly kind: 'tombstone' }
  | { readonly kind: 'invalid'; readonly code: string; readonly message: string }

function isRow(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Reads a Debezium change event from a parsed JSON message value, with the JsonConverter's
 * `{"schema": …, "payload": …}` wrapper (schemas.enable=true) or without it. A `null` value or
 * payload is a tombstone (it follows a delete so compaction can drop the key) and is ignored.
 * Never throws; the messages of an invalid event name no row data.
 */
export function readDebeziumEnvelope(value: unknown): EnvelopeResult {
  if (value === null) return { kind: 'tombstone' }
  if (!isRow(value)) return { kind: 'invalid', code: 'debezium_envelope', message: 'the message is not a JSON object' }
  let event: unknown = value
  if ('payload' in value && 'schema' in value) event = value['payload']
  if (event === null) return { kind: 'tombstone' }
  if (!isRow(event)) return { kind: 'invalid', code: 'debezium_envelope', message: 'payload is not a JSON object' }
  const op = event['op']
  if (op === 't') return { kind: 'invalid', code: 'debezium_truncate', message: 'a truncate event: every row of the table was deleted; no user is changed, check the source before replaying' }
  if (typeof op !== 'string' || !(DebeziumOps as readonly string[]).includes(op)) {
    return { kind: 'invalid', code: 'debezium_envelope', message: `op is ${JSON.stringify(typeof op === 'string' ? op.slice(0, 8) : typeof op)}, expected c, u, r or d` }
  }
  const before = event['before'] ?? null
  const after = event['after'] ?? null
  if (before !== null && !isRow(before)) return { kind: 'invalid', code: 'debezium_envelope', message: 'before is not an object' }
  if (after !== null && !isRow(after)) return { kind: 'invalid', code: 'debezium_envelope', message: 'after is not an object' }
  if (op !== 'd' && after === null) return { kind: 'invalid', code: 'debezium_envelope', message: `op ${op} without an after image` }
  const source = event['source']
  const ts = isRow(source) ? source['ts_ms'] : undefined
  return { kind: 'change', change: { op: op as DebeziumOp, before, after, ...(typeof ts === 'number' ? { sourceTsMs: ts } : {}) } }
}
