import { ownValue } from '../core/own-property.ts'

/** One `${VAR}` that has no value and no default, or (`name` undefined) a `${` this syntax does not read. */
export interface MissingVariable {
  readonly name: string | undefined
}

const pattern = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

/**
 * Replaces `${VAR}` and `${VAR:-default}` with values from `env`; `$${` is a literal `${`.
 * An unset variable without default is reported, not silently replaced by an empty string;
 * `${VAR:-default}` also applies the default when VAR is set but empty, as in the shell.
 */
export function interpolate(text: string, env: NodeJS.ProcessEnv, missing: MissingVariable[]): string {
  // A `${` the pattern does not take (no closing brace, `${VAR-x}`, a default holding another
  // `${…}`) would otherwise reach the value as literal text: a password of "${FALLBACK}".
  const leftover = text.replace(pattern, (match, _name: string | undefined, fallback: string | undefined) => (match !== '$${' && fallback?.includes('${') ? '${' : ''))
  if (leftover.includes('${')) missing.push({ name: undefined })
  return text.replace(pattern, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${'
    const value = ownValue(env, name!)
    if (value !== undefined && (value !== '' || fallback === undefined)) return value
    if (fallback !== undefined) return fallback
    missing.push({ name: name! })
    return ''
  })
}
