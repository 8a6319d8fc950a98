import { sortKeysDeep } from './go-json.ts'
import { isPlainObject } from './schema-check.ts'

const redacted = 'REDACTED'

/** `password`-shaped value: objects get `password_hash` replaced (or added), other non-nulls become REDACTED. */
function redactSecretObject(value: unknown, secretKey: string): unknown {
  if (value === null) return null
  if (!isPlainObject(value)) return redacted
  return { ...value, [secretKey]: redacted }
}

/**
 * The record as Authgear echoes it in `details[].record` (`Record.Redact`): password hashes and
 * the TOTP secret replaced by `"REDACTED"`, everything else unchanged, keys sorted at every level
 * (the echo is a Go map).
 */
export function redactRecord(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...record }
  if (Object.hasOwn(record, 'password')) out.password = redactSecretObject(record.password, 'password_hash')
  if (Object.hasOwn(record, 'mfa')) {
    const mfa = record.mfa
    if (mfa !== null && !isPlainObject(mfa)) out.mfa = redacted
    else if (isPlainObject(mfa)) {
      const copy: Record<string, unknown> = { ...mfa }
      if (Object.hasOwn(mfa, 'password')) copy.password = redactSecretObject(mfa.password, 'password_hash')
      if (Object.hasOwn(mfa, 'totp')) copy.totp = redactSecretObject(mfa.totp, 'secret')
      out.mfa = copy
    }
  }
  return sortKeysDeep(out) as Record<string, unknown>
}
