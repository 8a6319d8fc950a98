import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { ConnectionOptions as TlsOptions } from 'node:tls'
import { ConfigError } from '../../src/core/errors.ts'
import type { SqlSourceConfig } from './config.ts'
import { registerSecret, registerUrlSecret } from '../../src/runtime/redact.ts'

/** Driver-neutral connection settings, files read and defaults applied. */
export interface ConnectionSettings {
  readonly url?: string
  readonly host?: string
  readonly port?: number
  readonly database?: string
  readonly user?: string
  readonly password?: string
  readonly tls?: TlsOptions
  readonly connectTimeoutMs: number
}

function readSecretFile(path: string, baseDir: string, what: string): string {
  const full = resolve(baseDir, path)
  try {
    return readFileSync(full, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read the ${what} file ${full}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, [`source: cannot read ${what} file ${full}`])
  }
}

/**
 * Resolves the connection part of the config: reads `password_file` and the TLS files relative to
 * `baseDir`. Errors name the file, never its content.
 */
export function connectionSettings(config: SqlSourceConfig, baseDir: string): ConnectionSettings {
  const password = config.password_file !== undefined ? readSecretFile(config.password_file, baseDir, 'password').replace(/\r?\n$/, '') : config.password
  // A driver's error may quote them (see `registerSecret`).
  registerSecret(password)
  registerUrlSecret(config.url)
  let tls: TlsOptions | undefined
  if (config.tls.enabled) {
    const t = config.tls
    tls = {
      rejectUnauthorized: t.reject_unauthorized,
      ...(t.ca_file ? { ca: readSecretFile(t.ca_file, baseDir, 'TLS CA') } : {}),
      ...(t.cert_file ? { cert: readSecretFile(t.cert_file, baseDir, 'TLS certificate') } : {}),
      ...(t.key_file ? { key: readSecretFile(t.key_file, baseDir, 'TLS key') } : {}),
      ...(t.server_name ? { servername: t.server_name } : {}),
    }
  }
  return {
    ...(config.url !== undefined ? { url: config.url } : {}),
    ...(config.host !== undefined ? { host: config.host } : {}),
    port: config.port ?? (config.dialect === 'postgres' ? 5432 : 3306),
    ...(config.database !== undefined ? { database: config.database } : {}),
    ...(config.user !== undefined ? { user: config.user } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls ? { tls } : {}),
    connectTimeoutMs: config.connect_timeout_ms,
  }
}
