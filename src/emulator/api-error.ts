import { sortKeysDeep } from './go-json.ts'

/** Authgear's error kinds and the HTTP status each one maps to (`apierrors/kinds.go`). */
export const ErrorNames = {
  BadRequest: 400,
  Invalid: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  AlreadyExists: 409,
  DataRace: 409,
  TooManyRequest: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  RequestEntityTooLarge: 413,
} as const
export type ErrorName = keyof typeof ErrorNames

/** One JSON-schema violation; `location` is a JSON pointer (root `""`). */
export interface ValidationCause {
  readonly location: string
  readonly kind: string
  readonly details?: Record<string, unknown>
}

/** The API error object as serialized: keys in Authgear's order, `info` omitted when empty. */
export interface ApiErrorBody {
  readonly name: ErrorName
  readonly reason: string
  readonly message: string
  readonly code: number
  readonly info?: Record<string, unknown>
}

/** Builds an error body; `info` is a Go map, so its keys are sorted. */
export function apiError(name: ErrorName, reason: string, message: string, info?: Record<string, unknown>): ApiErrorBody {
  const body: { name: ErrorName; reason: string; message: string; code: number; info?: Record<string, unknown> } = {
    name,
    reason,
    message,
    code: ErrorNames[name],
  }
  if (info !== undefined && Object.keys(info).length > 0) body.info = sortKeysDeep(info) as Record<string, unknown>
  return body
}

/** Causes in Authgear's order (sorted by location, stable) with details keys sorted. */
export function validationFailed(message: string, causes: readonly ValidationCause[]): ApiErrorBody {
  const sorted = [...causes]
    .sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0))
    .map((c) => {
      const cause: { location: string; kind: string; details?: unknown } = { location: c.location, kind: c.kind }
      if (c.details !== undefined) cause.details = sortKeysDeep(c.details)
      return cause
    })
  const body = apiError('Invalid', 'ValidationFailed', message)
  return { ...body, info: { causes: sorted } }
}

/** The errors the import endpoints and workers produce. */
export const Errors = {
  unexpected: () => apiError('InternalError', 'UnexpectedError', 'unexpected error occurred'),
  serviceUnavailable: () => apiError('ServiceUnavailable', 'ServiceUnavailable', 'service unavailable'),
  invalidJson: (message: string, byteOffset: number) =>
    apiError('BadRequest', 'InvalidJSON', message, { byte_offset: byteOffset }),
  badContentType: () => apiError('BadRequest', 'BadRequest', 'request content type is invalid'),
  jsonTooLarge: (limit: number) =>
    apiError('RequestEntityTooLarge', 'JSONTooLarge', 'request body too large', { limit }),
  usageLimitExceeded: (name: string, usageName: string, period: string) =>
    apiError('TooManyRequest', 'UsageLimitExceeded', 'usage limit exceeded', { name, usage_name: usageName, period }),
  taskNotFound: () => apiError('NotFound', 'TaskNotFound', 'task not found'),
  duplicatedIdentity: (info: Record<string, unknown>) =>
    apiError('Invalid', 'InvariantViolated', 'identity already exists', { cause: { kind: 'DuplicatedIdentity' }, ...info }),
  unknownRoles: (keys: readonly string[]) => apiError('NotFound', 'RoleUnknownKeys', 'unknown role keys', { keys }),
  unknownGroups: (keys: readonly string[]) => apiError('NotFound', 'GroupUnknownKeys', 'unknown group keys', { keys }),
  invalidBcryptHash: () => apiError('Invalid', 'InvalidBcryptHash', 'invalid bcrypt hash'),
  invalidValidPeriod: () =>
    apiError('Invalid', 'InvalidAccountStatusTransition', 'account valid from must be earlier than account valid until'),
} as const
