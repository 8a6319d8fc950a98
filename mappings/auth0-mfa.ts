/**
 * Auth0 `mfa_factors` (import format, or merged from an MFA-secrets export) → Authgear `mfa`.
 * Each factor is an object with one key: `totp.secret`, `phone.value` or `email.value`.
 */
import type { MappingConfig } from './config.ts'
import { isBase32Secret } from './formats.ts'
import { normalizeEmail, normalizePhone } from './normalize.ts'
import type { ImportRecord } from './record.ts'

type Mfa = NonNullable<ImportRecord['mfa']>

function member(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined
}

/**
 * Reads the factors. Authgear takes one factor of each kind, so later duplicates are left out with
 * a warning, as are malformed ones. Warnings never contain a secret.
 */
export function mapMfaFactors(factors: unknown, config: MappingConfig, warnings: string[]): Mfa | undefined {
  if (!config.mfa || factors === undefined || factors === null) return undefined
  if (!Array.isArray(factors)) {
    warnings.push('mfa_factors left out: not an array')
    return undefined
  }
  const mfa: Mfa = {}
  factors.forEach((factor: unknown, index) => {
    const where = `mfa_factors[${index}]`
    const totp = member(factor, 'totp')
    const phone = member(factor, 'phone')
    const email = member(factor, 'email')
    if (totp !== undefined) {
      const raw = member(totp, 'secret')
      // Padding carries no bits and Authgear's decoder refuses it: `JBSWY3DPEE======` is sent as `JBSWY3DPEE`.
      const secret = typeof raw === 'string' ? raw.replace(/\s+/g, '').toUpperCase().replace(/=+$/, '') : ''
      if (!isBase32Secret(secret)) warnings.push(`${where}.totp.secret left out: not a base32 secret`)
      else if (mfa.totp !== undefined) warnings.push(`${where} left out: only one TOTP factor is imported`)
      else mfa.totp = { secret }
    } else if (phone !== undefined) {
      const raw = member(phone, 'value')
      const result = typeof raw === 'string' ? normalizePhone(raw, config.default_phone_region) : undefined
      if (result === undefined || !result.ok) warnings.push(`${where}.phone.value left out: ${result?.reason ?? 'not a string'}`)
      else if (mfa.phone_number !== undefined) warnings.push(`${where} left out: only one SMS factor is imported`)
      else mfa.phone_number = result.value
    } else if (email !== undefined) {
      const raw = member(email, 'value')
      const result = typeof raw === 'string' ? normalizeEmail(raw) : undefined
      if (result === undefined || !result.ok) warnings.push(`${where}.email.value left out: ${result?.reason ?? 'not a string'}`)
      else if (mfa.email !== undefined) warnings.push(`${where} left out: only one email factor is imported`)
      else mfa.email = result.value
    } else {
      warnings.push(`${where} left out: not a totp, phone or email factor`)
    }
  })
  return Object.keys(mfa).length > 0 ? mfa : undefined
}
