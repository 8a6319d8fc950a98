/**
 * The Auth0 mapping: an Auth0 user profile (bulk export, extension export or Auth0 import format,
 * with `password_hash` merged in from the support hash export) → one Authgear import record.
 */
import type { MappedRecord, MappingResult } from '../src/core/mapped-record.ts'
import type { ReadableRecord } from '../src/core/source-record.ts'
import { joinMissWarning, passwordJoinMiss, type PasswordJoinMiss } from '../src/core/password-join-miss.ts'
import { chooseLogins } from './auth0-logins.ts'
import { mapMfaFactors } from './auth0-mfa.ts'
import { mapProfile } from './auth0-profile.ts'
import type { MappingConfig } from './config.ts'
import { isEmpty, parseBoolean } from './normalize.ts'
import { getPath } from './source-path.ts'
import { decidePassword } from './password-lane.ts'
import { checkImportRecord, type ImportRecord } from './record.ts'

function verifiedFlag(data: Record<string, unknown>, field: string, warnings: string[]): boolean | undefined {
  const value = data[field]
  const flag = parseBoolean(value)
  if (flag === undefined && !isEmpty(value)) warnings.push(`${field} left out: not a boolean`)
  return flag
}

/** Sets `key` only for a defined value: deleting keys later would turn the record into a slow dictionary object. */
function put(record: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) record[key] = value
}

function sourceNotes(data: Record<string, unknown>, mfaImported: boolean, warnings: string[]): void {
  const identities = data['identities']
  if (Array.isArray(identities) && identities.length > 1) {
    warnings.push(`identities has ${identities.length} linked accounts; Authgear's import has no field for them, so the extra logins must be linked again`)
  }
  const multifactor = data['multifactor']
  if (!mfaImported && Array.isArray(multifactor) && multifactor.length > 0) {
    warnings.push('multifactor lists enrolled factors, which cannot be imported without their secrets (mfa_factors)')
  }
}

/** The profile with each configured standard attribute read from its path (a copy; only when configured). */
function withStandardAttributes(data: Record<string, unknown>, config: MappingConfig): Record<string, unknown> {
  const paths = Object.entries(config.standard_attributes)
  if (paths.length === 0) return data
  const view: Record<string, unknown> = { ...data }
  for (const [attribute, path] of paths) {
    const value = getPath(data, path as string)
    if (!isEmpty(value)) view[attribute] = value
  }
  return view
}

/**
 * Builds the mapping for `config`. The returned function is pure and synchronous: it never does
 * I/O and never throws for any input. A rejection names the source field and never contains a
 * password hash or TOTP secret.
 */
export function createAuth0Mapping(config: MappingConfig): (record: ReadableRecord) => MappingResult {
  return (source) => {
    const data = source.data
    const warnings: string[] = []
    const choice = chooseLogins(data, config, warnings)
    if (!choice.ok) return { ok: false, rejection: choice.rejection }
    const { identifier, logins } = choice
    const loginsRead = { identifier, identifierValue: logins[identifier] as string, logins }

    // `passwordHash` is the hash export's own name for it: a profile merged with its hash line by
    // another tool (or a Kafka message built that way) carries it under that name.
    const hashField = isEmpty(data['password_hash']) && !isEmpty(data['passwordHash']) ? 'passwordHash' : 'password_hash'
    const hasHash = !isEmpty(data[hashField])
    const passwordField = hasHash || isEmpty(data['custom_password_hash']) ? hashField : 'custom_password_hash'
    if (hasHash && !isEmpty(data['custom_password_hash'])) warnings.push(`custom_password_hash left out: ${hashField} is used`)
    const password = decidePassword(data[passwordField], passwordField, config.passwords)
    if (!password.ok) return { ok: false, rejection: password.rejection, passwordAlgorithm: password.algorithm, loginsRead }
    if (password.warning !== undefined) warnings.push(password.warning)
    const miss = (data as Record<symbol, unknown>)[passwordJoinMiss] as PasswordJoinMiss | undefined
    if (miss !== undefined && !hasHash) warnings.push(joinMissWarning(miss))

    const mfa = mapMfaFactors(data['mfa_factors'], config, warnings)
    sourceNotes(data, mfa !== undefined, warnings)

    const record: Record<string, unknown> = {}
    put(record, 'email', logins.email)
    if (logins.email !== undefined) put(record, 'email_verified', verifiedFlag(data, 'email_verified', warnings))
    put(record, 'phone_number', logins.phone_number)
    if (logins.phone_number !== undefined) put(record, 'phone_number_verified', verifiedFlag(data, 'phone_verified', warnings))
    put(record, 'preferred_username', logins.preferred_username)
    const profile = mapProfile(withStandardAttributes(data, config), config, warnings) as Record<string, unknown>
    for (const key in profile) put(record, key, profile[key])
    put(record, 'password', password.password)
    put(record, 'mfa', mfa)

    const check = checkImportRecord(identifier, record)
    if (!check.ok) {
      const first = check.causes[0]
      return {
        ok: false,
        rejection: {
          code: 'schema',
          ...(first === undefined ? {} : { field: first.location }),
          message: `record fails Authgear's import schema: ${check.causes.map((c) => `${c.location} ${c.message}`).join('; ')}`,
        },
        passwordAlgorithm: password.algorithm,
        loginsRead,
      }
    }
    const identifierValue = logins[identifier] as string
    const mapped: MappedRecord = {
      identifier,
      identifierValue,
      record: record as ImportRecord,
      passwordAlgorithm: password.algorithm,
      passwordLane: password.lane,
      warnings,
    }
    return { ok: true, value: mapped }
  }
}
