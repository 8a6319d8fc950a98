/** Stable error codes; they go on metrics and in dead letters, messages never do. */
export const ErrorCodes = {
  configInvalid: 'GB_CONFIG_INVALID',
  connect: 'GB_CONNECT',
  sourceRead: 'GB_SOURCE_READ',
  mapping: 'GB_MAPPING',
  sinkWrite: 'GB_SINK_WRITE',
  auth: 'GB_AUTH',
  quota: 'GB_QUOTA',
  checkpoint: 'GB_CHECKPOINT',
  aborted: 'GB_ABORTED',
} as const
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

export const Stages = ['config', 'receiving', 'processing', 'sending', 'checkpoint'] as const
export type Stage = (typeof Stages)[number]

/** Base of every error gearbridge raises on purpose. */
export class ConnectorError extends Error {
  readonly code: ErrorCode
  readonly stage: Stage
  readonly retryable: boolean

  constructor(code: ErrorCode, stage: Stage, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.stage = stage
    this.retryable = options.retryable ?? false
  }
}

/** The config file is wrong; `issues` holds one line per problem with its path. Exit 78. */
export class ConfigError extends ConnectorError {
  readonly issues: readonly string[]
  constructor(message: string, issues: readonly string[] = []) {
    super(ErrorCodes.configInvalid, 'config', message)
    this.issues = issues
  }
}

export class SourceReadError extends ConnectorError {
  constructor(message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(ErrorCodes.sourceRead, 'receiving', message, options)
  }
}

/** Authgear refused the Admin API JWT (plain-text 403). Stops the run with a diagnosis. */
export class AuthError extends ConnectorError {
  constructor(message: string) {
    super(ErrorCodes.auth, 'sending', message)
  }
}

/** Authgear's usage quota is exhausted (429 UsageLimitExceeded). Stops the run resumably: exit 75. */
export class QuotaExceededError extends ConnectorError {
  readonly period: string
  constructor(period: string, message: string) {
    super(ErrorCodes.quota, 'sending', message)
    this.period = period
  }
}

export class CheckpointError extends ConnectorError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(ErrorCodes.checkpoint, 'checkpoint', message, options)
  }
}

export class AbortedError extends ConnectorError {
  constructor(message = 'aborted') {
    super(ErrorCodes.aborted, 'receiving', message)
  }
}
