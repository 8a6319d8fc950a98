/**
 * The user as the declarative SQL column mapping reads it from a row, before normalization and
 * checks. A user mapping module receives it and returns it edited or replaced.
 */
import type { SqlColumns } from '../connectors/sql/config.ts'
import { booleanWord, isMarkerSet, isUntilInFuture, readFlag } from './sql-values.ts'

/** Raw user fields; login fields are normalized afterwards, so a module may return them as stored. */
export interface SqlUserDraft {
  email?: unknown
  email_verified?: boolean
  phone_number?: unknown
  phone_number_verified?: boolean
  /** ISO 3166 alpha-2 region for a national phone number; wins over `mapping.default_phone_region`. */
  phone_region?: unknown
  preferred_username?: unknown
  /** The stored password hash; recognized, and imported only when bcrypt. */
  password_hash?: unknown
  name?: unknown
  given_name?: unknown
  family_name?: unknown
  middle_name?: unknown
  nickname?: unknown
  gender?: unknown
  picture?: unknown
  website?: unknown
  birthdate?: unknown
  zoneinfo?: unknown
  locale?: unknown
  disabled?: boolean
  roles?: unknown
  groups?: unknown
  account_valid_from?: unknown
  account_valid_until?: unknown
  custom_attributes?: Record<string, unknown>
}

/** Draft fields whose source column is named in `columns` (for rejection messages). */
export const draftFieldColumns: Readonly<Record<string, keyof SqlColumns>> = {
  email: 'email',
  phone_number: 'phone_number',
  preferred_username: 'username',
  password_hash: 'password_hash',
}

const copied = [
  'email', 'phone_number', 'password_hash', 'name', 'given_name', 'family_name', 'middle_name', 'nickname', 'gender', 'picture',
  'website', 'birthdate', 'zoneinfo', 'locale', 'roles', 'groups', 'account_valid_from', 'account_valid_until',
] as const

export interface DraftOptions {
  readonly columns: SqlColumns
  readonly softDelete?: { readonly column: string; readonly mode: 'disable' | 'skip' }
  readonly locked?: { readonly column: string; readonly until: boolean }
  readonly now: () => number
}

/**
 * Reads the draft from a row by the column mapping. Soft-deleted (mode `disable`), locked and
 * inactive rows give `disabled: true`. `warnings` gets a line for a flag that is not readable.
 */
/** Lockouts ending within this time are temporary (failed logins), not account locks. */
const temporaryLockoutMs = 30 * 86_400_000

export function draftFromRow(row: Readonly<Record<string, unknown>>, options: DraftOptions, warnings: string[]): SqlUserDraft {
  const { columns } = options
  const draft: SqlUserDraft = {}
  for (const field of copied) {
    const column = columns[field]
    if (column !== undefined) draft[field] = row[column]
  }
  if (columns.username !== undefined) draft.preferred_username = row[columns.username]
  if (columns.country !== undefined) draft.phone_region = row[columns.country]
  for (const field of ['email_verified', 'phone_number_verified'] as const) {
    const column = columns[field]
    if (column === undefined) continue
    const flag = readFlag(row[column])
    if (flag === undefined) warnings.push(`${column} left out: not a boolean or timestamp`)
    else draft[field] = flag
  }
  let disabled = false
  if (options.softDelete?.mode === 'disable' && isMarkerSet(row[options.softDelete.column])) disabled = true
  if (options.locked) {
    const value = row[options.locked.column]
    if (!options.locked.until) {
      if (isMarkerSet(value)) disabled = true
    } else if (isUntilInFuture(value, options.now())) {
      // A lockout that ends by itself within weeks (failed logins) would stay a disable in
      // Authgear: nothing changes in the row when it ends, so a sync never enables the user again.
      // One that ends far away (ASP.NET's DateTimeOffset.MaxValue) is an account lock.
      const end = value instanceof Date ? value.getTime() : Date.parse(String(value))
      if (end - options.now() > temporaryLockoutMs) disabled = true
      else warnings.push(`${options.locked.column} left out: a lockout that ends by itself on ${new Date(end).toISOString()} is not imported, as a disable it would outlast`)
    }
  }
  if (columns.active !== undefined && row[columns.active] != null) {
    const active = readActive(row[columns.active])
    if (active === false) disabled = true
    // A status word (`banned`, `inactive`): enabled, but not silently.
    else if (active === undefined) warnings.push(`${columns.active} not read: not a boolean, so the user is imported enabled (a mapping module can read other values)`)
  }
  if (disabled) draft.disabled = true
  return draft
}

/**
 * An `active` column's flag: a boolean, 0 or 1, or a boolean word. Anything else (a status word or
 * code such as `banned` or `2`, an empty string) is `undefined`: unlike a marker column's, a date
 * or any non-zero number is no answer here.
 */
function readActive(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value
  if (typeof value === 'number' || typeof value === 'bigint') return Number(value) === 1 ? true : Number(value) === 0 ? false : undefined
  return typeof value === 'string' ? booleanWord(value) : undefined
}

const regionPattern = /^[A-Za-z]{2}$/

/**
 * The region a national phone number of this draft is read in: its `phone_region` (the country
 * column), trimmed and upper-cased, or `fallback`. `refused` when the column holds something that
 * is not an ISO 3166 alpha-2 code (then `fallback` is used).
 */
export function draftPhoneRegion<R extends string | undefined>(draft: SqlUserDraft, fallback: R): { region: R; refused: boolean } {
  const raw = typeof draft.phone_region === 'string' ? draft.phone_region.trim() : ''
  if (raw === '') return { region: fallback, refused: false }
  return regionPattern.test(raw) ? { region: raw.toUpperCase() as R, refused: false } : { region: fallback, refused: true }
}
