/** One `${VAR}` that has no value and no default. */
export interface MissingVariable {
  readonly name: string
}

const pattern = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

/**
 * Replaces `${VAR}` and `${VAR:-default}` with values from `env`; `$${` is a literal `${`.
 * An unset variable without default is reported, not silently replaced by an empty string;
 * `${VAR:-default}` also applies the default when VAR is set but empty, as in the shell.
 */
export function interpolate(text: string, env: NodeJS.ProcessEnv, missing: MissingVariable[]): string {
  return text.replace(pattern, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${'
    const value = env[name!]
    if (value !== undefined && (value !== '' || fallback === undefined)) return value
    if (fallback !== undefined) return fallback
    missing.push({ name: name! })
    return ''
  })
}
