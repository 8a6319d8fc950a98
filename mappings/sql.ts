/**
 * The SQL mapping: a table row → one Authgear import record, by the declarative column mapping
 * (`source.columns`), optionally edited or replaced by a user mapping module.
 */
import { jsonErrorReason } from '../connectors/json-error-reason.ts'
import type { SqlSourceConfig } from '../connectors/sql/config.ts'
import type { MappedRecord, MappingResult } from '../src/core/mapped-record.ts'
import type { ReadableRecord } from '../src/core/source-record.ts'
import { thrownText } from '../src/core/thrown-text.ts'
import { chooseLogins } from './auth0-logins.ts'
import { StandardAttributeNames, type MappingConfig } from './config.ts'
import { isEmpty } from './normalize.ts'
import { decidePassword } from './password-lane.ts'
import { pathKeys } from './source-path.ts'
import { checkImportRecord, IdentifierTypes, type ImportRecord } from './record.ts'
import { draftFromRow, draftPhoneRegion, type SqlUserDraft } from './sql-draft.ts'
import { loadUserMapping, type SqlUserMapping } from './sql-module.ts'
import { sqlProfile } from './sql-profile.ts'

export type { SqlUserDraft, SqlUserMapping }

export interface SqlMappingOptions {
  /** Where a relative `source.module` resolves: the config file's directory. Default: the working directory. */
  readonly baseDir?: string
  /** A mapping function given directly (tests, embedding); wins over `source.module`. */
  readonly module?: SqlUserMapping
  readonly now?: () => number
  /**
   * Under `sink.upsert`: a mapped field whose value is NULL (or empty) is sent as `null` (`[]` for
   * roles and groups), which removes it from the user, where leaving it out would keep the old value.
   */
  readonly clearEmpty?: boolean
}

function withoutUndefined(object: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {}
  for (const key in object) if (object[key] !== undefined) result[key] = object[key]
  return result
}

/**
 * Builds the mapping for a `type: sql` source. The returned function is synchronous and never
 * throws: a row that cannot be mapped is rejected with the column at fault, and messages never
 * contain a password hash.
 */
export function createSqlMapping(source: SqlSourceConfig, config: MappingConfig, options: SqlMappingOptions = {}): (record: ReadableRecord) => MappingResult {
  const userMapping = options.module ?? (source.module !== undefined ? loadUserMapping(source.module, options.baseDir ?? process.cwd()) : undefined)
  const now = options.now ?? Date.now
  const columnOf = (field: string): string => {
    const columns = source.columns as Record<string, string | undefined>
    const name = field === 'preferred_username' ? columns['username'] : field === 'phone_region' ? columns['country'] : columns[field]
    return name ?? field
  }
  const draftOptions = { columns: source.columns, ...(source.soft_delete ? { softDelete: source.soft_delete } : {}), ...(source.locked ? { locked: source.locked } : {}), now }

  return (input) => {
    const row = input.data
    const warnings: string[] = []
    let draft: SqlUserDraft = draftFromRow(row, draftOptions, warnings)
    if (userMapping) {
      try {
        const edited: unknown = userMapping(row, draft)
        if (edited === null) return { ok: false, rejection: { code: 'module_rejected', message: 'the mapping module rejected the row' } }
        if (typeof edited !== 'object') return { ok: false, rejection: { code: 'module_error', message: 'the mapping module returned neither an object nor null' } }
        if (typeof (edited as { then?: unknown }).then === 'function') {
          // Its rejection is nobody's to handle: left unhandled it would end the process.
          ;(edited as PromiseLike<unknown>).then(undefined, () => undefined)
          return { ok: false, rejection: { code: 'module_error', message: 'the mapping module returned a Promise: it must return the draft (or null) synchronously, not be async' } }
        }
        if (Array.isArray(edited)) return { ok: false, rejection: { code: 'module_error', message: 'the mapping module returned an array: it must return one draft (or null)' } }
        // Every field is normalized below into strings, booleans and scalar attributes, so what
        // is sent is always JSON; a getter that throws is the row's mapping_error (mapGuarded).
        draft = edited as SqlUserDraft
      } catch (error) {
        return { ok: false, rejection: { code: 'module_error', message: `the mapping module failed: ${moduleErrorText(error)}` } }
      }
    }

    // What a module gave as the password may come from any column, under any name: the dead
    // letter of a row refused from here on redacts it by value.
    const secretsRead = userMapping && typeof draft.password_hash === 'string' && draft.password_hash !== '' ? [draft.password_hash] : undefined
    const refusal = <T extends object>(result: T): T & { secretsRead?: readonly string[] } => (secretsRead === undefined ? result : { ...result, secretsRead })
    const { region, refused } = draftPhoneRegion(draft, config.default_phone_region)
    if (refused) warnings.push(`${columnOf('phone_region')} left out: not an ISO 3166 alpha-2 code`)
    const logins = { email: draft.email, phone_number: draft.phone_number, username: draft.preferred_username }
    const choice = chooseLogins(logins, region === config.default_phone_region ? config : { ...config, default_phone_region: region }, warnings)
    if (!choice.ok) {
      const { field } = choice.rejection
      const column = field === undefined ? undefined : columnOf(field === 'username' ? 'preferred_username' : field)
      if (column === undefined || field === undefined) {
        const fields = [source.columns.email, source.columns.phone_number, source.columns.username].filter((c) => c !== undefined).join(', ')
        return refusal({ ok: false as const, rejection: { code: choice.rejection.code, message: `no value in ${fields || 'the login columns'} to identify the user by` } })
      }
      return refusal({ ok: false as const, rejection: { code: choice.rejection.code, field: column, message: choice.rejection.message.replace(`${field}:`, `${column}:`) } })
    }
    const { identifier, logins: normalized } = choice
    const loginsRead = { identifier, identifierValue: normalized[identifier] as string, logins: normalized }
    const password = decidePassword(draft.password_hash, columnOf('password_hash'), config.passwords)
    if (!password.ok) return refusal({ ok: false as const, rejection: password.rejection, passwordAlgorithm: password.algorithm, loginsRead })
    if (password.warning !== undefined) warnings.push(password.warning)

    const record = withoutUndefined({
      email: normalized.email,
      email_verified: normalized.email === undefined ? undefined : draft.email_verified,
      phone_number: normalized.phone_number,
      phone_number_verified: normalized.phone_number === undefined ? undefined : draft.phone_number_verified,
      preferred_username: normalized.preferred_username,
      ...sqlProfile(draft, row, config, columnOf, warnings),
      password: password.password,
    }) as ImportRecord

    if (options.clearEmpty) clearEmptyFields(record as Record<string, unknown>, draft, row, identifier, config)
    const check = checkImportRecord(identifier, record)
    if (!check.ok) {
      const first = check.causes[0]
      return refusal({
        ok: false as const,
        rejection: { code: 'schema', ...(first === undefined ? {} : { field: first.location }), message: `record fails Authgear's import schema: ${check.causes.map((c) => `${c.location} ${c.message}`).join('; ')}` },
        passwordAlgorithm: password.algorithm,
        loginsRead,
      })
    }
    const mapped: MappedRecord = { identifier, identifierValue: normalized[identifier] as string, record, passwordAlgorithm: password.algorithm, passwordLane: password.lane, warnings }
    return { ok: true, value: mapped }
  }
}

/**
 * Fields Authgear's upsert removes when they are `null`: the login IDs besides the identifier, and
 * the standard attributes (the SQL mapping reads neither `profile` nor `address`).
 */
const nullableFields: readonly string[] = [...IdentifierTypes, ...StandardAttributeNames.filter((name) => name !== 'profile' && name !== 'address')]

/**
 * States the removal of what the row holds no value for, so an update makes the user match the
 * row: a phone number set to NULL leaves Authgear (and is then free for the user who gets it next),
 * a cleared name goes. Only fields the draft has (a mapped column, or a module's explicit value):
 * one the mapping does not read stays as it is in Authgear, and so does a value left out as invalid.
 */
function clearEmptyFields(record: Record<string, unknown>, draft: SqlUserDraft, row: Readonly<Record<string, unknown>>, identifier: string, config: MappingConfig): void {
  const given = draft as Record<string, unknown>
  for (const field of nullableFields) {
    if (field !== identifier && record[field] === undefined && given[field] !== undefined && isEmpty(given[field])) record[field] = null
  }
  for (const field of ['roles', 'groups'] as const) {
    if (record[field] === undefined && given[field] !== undefined && isEmpty(given[field])) record[field] = []
  }
  const fromModule = draft.custom_attributes ?? {}
  for (const [name, path] of Object.entries(config.custom_attributes)) {
    const attributes = record['custom_attributes'] as Record<string, unknown> | undefined
    if (attributes !== undefined && Object.hasOwn(attributes, name)) continue
    const empty = Object.hasOwn(fromModule, name) ? fromModule[name] === null : holdsNone(row, path)
    if (empty) record['custom_attributes'] = { ...attributes, [name]: null }
  }
}

/**
 * The row says there is no value at `path`: its column is NULL or empty, or an object on the way
 * is NULL (a JSON column left empty) or lacks the last key. A path that meets anything else on
 * the way (a JSON column carried as text, as Debezium sends json and jsonb) says nothing.
 */
function holdsNone(row: Readonly<Record<string, unknown>>, path: string): boolean {
  if (Object.hasOwn(row, path)) return isEmpty(row[path])
  const keys = pathKeys(path)
  let node: unknown = row
  for (let i = 0; i < keys.length; i++) {
    if (node === null) return i > 0
    if (typeof node !== 'object') return false
    const key = keys[i] as string | number
    if (!Object.hasOwn(node, key)) return i > 0
    node = (node as Record<string | number, unknown>)[key]
  }
  return isEmpty(node)
}

/**
 * What a mapping module's error says, safe for dead letters and `validate`: errors JavaScript
 * itself raised (`JSON.parse`, `BigInt`, a property of undefined) and `node:assert`'s quote the
 * row's values, so only their kind and the parser's reason are kept; the module's own errors keep
 * their message.
 */
function moduleErrorText(error: unknown): string {
  if (error instanceof SyntaxError && /\bJSON\b/.test(error.message)) return `SyntaxError: ${jsonErrorReason(error)}`
  if (error instanceof SyntaxError || error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) return `${error.name} (its message, which may quote the row, is left out)`
  // `node:assert` quotes the values it compared (`assert.match(row.pw, …)` prints the password).
  if ((error as { code?: unknown } | null)?.code === 'ERR_ASSERTION') return `AssertionError (its message, which may quote the row, is left out)`
  return thrownText(error)
}
