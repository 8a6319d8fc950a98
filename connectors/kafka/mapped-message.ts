import type { MappedRecord, MappingResult } from '../../src/core/mapped-record.ts'
import type { ReadableRecord } from '../../src/core/source-record.ts'
import { checkImportRecord, IdentifierTypes, type IdentifierType } from '../../mappings/record.ts'
import { normalizeLogin } from '../../mappings/auth0-logins.ts'
import { loneSurrogate } from '../../mappings/normalize.ts'
import { PasswordLanes, type PasswordLane } from '../../src/core/mapped-record.ts'

/** The JSON value of one message published by a backfill with `publish:` (key = `<identifier>:<identifierValue>`). */
export interface PublishedRecord {
  readonly identifier: IdentifierType
  readonly identifierValue: string
  readonly record: unknown
  readonly passwordAlgorithm: string
  readonly passwordLane: PasswordLane
  readonly warnings: readonly string[]
  /** Where the backfill read the record: its source key and origin. */
  readonly source: { readonly key: string; readonly origin: string }
}

export function toPublishedRecord(mapped: MappedRecord, source: { key: string; origin: string }): PublishedRecord {
  return {
    identifier: mapped.identifier,
    identifierValue: mapped.identifierValue,
    record: mapped.record,
    passwordAlgorithm: mapped.passwordAlgorithm,
    passwordLane: mapped.passwordLane,
    warnings: mapped.warnings,
    source: { key: source.key, origin: source.origin },
  }
}

/**
 * The mapping of `format: mapped`: the record was mapped by the backfill that published it, so it
 * is only checked again against Authgear's record schema (the publisher may run another version).
 */
export function mapPublishedRecord(input: ReadableRecord): MappingResult {
  const data = input.data as Partial<PublishedRecord>
  const identifier = data.identifier
  if (typeof identifier !== 'string' || !(IdentifierTypes as readonly string[]).includes(identifier) || typeof data.identifierValue !== 'string') {
    return { ok: false, rejection: { code: 'not_a_mapped_record', message: 'the message is not a record published by gearbridge backfill (no identifier)' } }
  }
  const check = checkImportRecord(identifier, data.record)
  if (!check.ok) {
    return { ok: false, rejection: { code: 'schema', message: `record fails Authgear's import schema: ${check.causes.map((c) => `${c.location} ${c.message}`).join('; ')}` } }
  }
  // A publisher from before half characters were left out may have sent one: Authgear would store
  // U+FFFD in its place, another value than the source's. The record is refused, naming where.
  const half = halfCharacterAt(data.record, '') ?? (data.identifierValue.isWellFormed() ? undefined : '/identifierValue')
  if (half !== undefined) {
    return { ok: false, rejection: { code: 'schema', field: half, message: `record at ${half} ${loneSurrogate}; publish it again with this version` } }
  }
  // Batches dedupe and lock users by `identifierValue`, and Authgear finds a user by the raw value
  // the record sends: a value that differs from the record's, or is not the form Authgear stores,
  // would supersede another user's record or fail as a duplicate when the message is read again.
  const sent = (data.record as Record<string, unknown>)[identifier]
  if (sent !== data.identifierValue) {
    return { ok: false, rejection: { code: 'schema', field: '/identifierValue', message: `identifierValue is not the record's ${identifier}; publish the record again with gearbridge backfill` } }
  }
  const stored = normalizeLogin(identifier, data.identifierValue)
  if (!stored.ok || stored.value !== data.identifierValue) {
    return { ok: false, rejection: { code: 'schema', field: `/record/${identifier}`, message: `record ${identifier} is not in the form Authgear stores it (${stored.ok ? 'normalize it' : stored.reason}); publish the record again with gearbridge backfill` } }
  }
  const lane = (Object.values(PasswordLanes) as string[]).includes(data.passwordLane ?? '') ? (data.passwordLane as PasswordLane) : PasswordLanes.none
  const mapped: MappedRecord = {
    identifier,
    identifierValue: data.identifierValue,
    record: data.record as MappedRecord['record'],
    passwordAlgorithm: typeof data.passwordAlgorithm === 'string' ? data.passwordAlgorithm : 'none',
    passwordLane: lane,
    warnings: Array.isArray(data.warnings) ? data.warnings.filter((w): w is string => typeof w === 'string') : [],
  }
  return { ok: true, value: mapped }
}

/** The JSON pointer of the first string (value or key) in `value` holding a lone surrogate. */
function halfCharacterAt(value: unknown, at: string): string | undefined {
  // The common case, a record without one, is answered without building any pointer.
  if (wellFormed(value)) return undefined
  if (typeof value === 'string') return at || '/'
  for (const [key, member] of Object.entries(value as object)) {
    const path = `${at}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`
    if (!key.isWellFormed()) return path
    const found = halfCharacterAt(member, path)
    if (found !== undefined) return found
  }
  return undefined
}

function wellFormed(value: unknown): boolean {
  if (typeof value === 'string') return value.isWellFormed()
  if (value === null || typeof value !== 'object') return true
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!wellFormed(value[i])) return false
    return true
  }
  const keys = Object.keys(value)
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string
    if (!key.isWellFormed() || !wellFormed((value as Record<string, unknown>)[key])) return false
  }
  return true
}
