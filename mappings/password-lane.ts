/**
 * The password lane: turns a source password value into an Authgear `password` member, a reset
 * (no password), or a rejection, according to the `passwords` policies.
 */
import type { MappingRejection, PasswordLane } from '../src/core/mapped-record.ts'
import type { MappingConfig } from './config.ts'
import { recognizeHash } from './hashes.ts'
import type { ImportRecord } from './record.ts'

export type PasswordDecision =
  | {
      readonly ok: true
      readonly lane: PasswordLane
      readonly algorithm: string
      readonly password?: NonNullable<ImportRecord['password']>
      readonly warning?: string
    }
  | { readonly ok: false; readonly algorithm: string; readonly rejection: MappingRejection }

/**
 * Decides the lane for `value`, read from the source field `field`. Messages name the field and the
 * algorithm, never the value.
 */
export function decidePassword(value: unknown, field: string, policies: MappingConfig['passwords']): PasswordDecision {
  const recognized = recognizeHash(value)
  const { algorithm } = recognized
  if (algorithm === 'none') return { ok: true, lane: 'none', algorithm }
  if (recognized.importable && recognized.bcrypt !== undefined) {
    return { ok: true, lane: 'imported', algorithm, password: { type: 'bcrypt', password_hash: recognized.bcrypt } }
  }
  const policyName = algorithm === 'unknown' ? 'unknown' : 'non_bcrypt'
  // Named after the hash, not before it: no article to get wrong ("a md5", "a argon2").
  const what = algorithm === 'unknown' ? 'an unrecognised password hash format' : `a password hash of type ${algorithm}`
  if (policies[policyName] === 'dead_letter') {
    return {
      ok: false,
      algorithm,
      rejection: {
        code: 'password_policy',
        field,
        message: `${field} holds ${what}, which Authgear cannot import, and passwords.${policyName} is dead_letter`,
      },
    }
  }
  return {
    ok: true,
    lane: 'reset',
    algorithm,
    warning: `${field} holds ${what}, which Authgear cannot import: imported without a password, the user must reset it`,
  }
}
