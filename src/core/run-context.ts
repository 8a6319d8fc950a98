/** The logger surface connectors may use (a pino-compatible subset). */
export interface Logger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  child(bindings: Record<string, unknown>): Logger
}

/** Passed to every connector call: one abort signal from SIGTERM/SIGINT, and a logger. */
export interface RunContext {
  readonly signal: AbortSignal
  readonly logger: Logger
}
