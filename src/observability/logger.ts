import pino from 'pino'
import type { Logger } from '../core/run-context.ts'

/** Field paths that may hold secrets; pino replaces their values before anything is written. */
export const redactPaths = [
  'password', 'password_hash', 'passwordHash', 'secret', 'token', 'jwt', 'authorization', 'private_key', 'privateKey',
  '*.password', '*.password_hash', '*.passwordHash', '*.secret', '*.token', '*.jwt', '*.authorization', '*.private_key', '*.privateKey',
  '*.*.password_hash', '*.*.secret', '*.*.private_key', 'headers.authorization', 'config.sink.private_key', 'config.source.password',
]

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

/** JSON logs to stderr (stdout stays free for command output such as `config schema`). */
export function createLogger(level: LogLevel = 'info', destination: NodeJS.WritableStream = process.stderr): Logger & pino.Logger {
  return pino({ level, base: { app: 'gearbridge' }, redact: { paths: redactPaths, censor: '[REDACTED]' }, timestamp: pino.stdTimeFunctions.isoTime }, destination as pino.DestinationStream)
}
