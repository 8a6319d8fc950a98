import type { MappedRecord, MappingResult } from '../../src/core/mapped-record.ts'
import type { ReadableRecord } from '../../src/core/source-record.ts'
import { checkImportRecord, IdentifierTypes, type IdentifierType } from '../../mappings/record.ts'
import { normalizeLogin } from '../../mappings/auth0-logins.ts'
import { loneSurrogate } from '../../mappings/normalize.ts'
import { HashAlgorithms, recognizeHash, type HashAlgorithm } from '../../mappings/hashes.ts'
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
  // The record schema takes any bcrypt shape Authgear accepts; the lanes import only those it can
  // verify ($2$ and $2x$ are accepted and never verify). A publisher of another version or a
  // hand-made message is held to the lanes' rule.
  const record = data.record as Record<string, unknown>
  const mfa = record['mfa'] as Record<string, unknown> | undefined
  for (const [at, password] of [['/record/password', record['password']], ['/record/mfa/password', mfa?.['password']]] as const) {
    const hash = (password as { password_hash?: string } | undefined)?.password_hash
    const recognized = hash === undefined ? undefined : recognizeHash(hash)
    if (recognized !== undefined && !recognized.importable) {
      return { ok: false, rejection: { code: 'password_policy', field: `${at}/password_hash`, message: `record ${at} is a ${recognized.algorithm} hash, which Authgear would take and never verify; publish the record again with this version` } }
    }
  }
  const mapped: MappedRecord = {
    identifier,
    identifierValue: data.identifierValue,
    record: data.record as MappedRecord['record'],
    ...publishedLane(data, record['password'] !== undefined),
    warnings: Array.isArray(data.warnings) ? data.warnings.filter((w): w is string => typeof w === 'string') : [],
  }
  return { ok: true, value: mapped }
}

/**
 * The algorithm and lane a message is counted under (metric labels): taken from what the record
 * carries, not from what the message says. A record with a password is bcrypt, imported; one
 * without is counted as published (reset or none), under a name from the closed list.
 */
function publishedLane(data: Partial<PublishedRecord>, hasPassword: boolean): { passwordAlgorithm: HashAlgorithm; passwordLane: PasswordLane } {
  if (hasPassword) return { passwordAlgorithm: 'bcrypt', passwordLane: PasswordLanes.imported }
  if (data.passwordLane !== PasswordLanes.reset) return { passwordAlgorithm: 'none', passwordLane: PasswordLanes.none }
  const named = HashAlgorithms.find((name) => name === data.passwordAlgorithm && name !== 'none')
  return { passwordAlgorithm: named ?? 'unknown', passwordLane: PasswordLanes.reset }
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
