/** Transport failure kinds that are worth another attempt. */
export type TransientFailure = 'network' | 'timeout'

/** Connection-level errno and undici codes after which the same request may succeed. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
])

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])

/**
 * Classifies an error thrown by undici while sending a request or reading its reply.
 * Returns undefined for errors that another attempt cannot fix (unknown host, bad arguments,
 * a closed client): those are reported at once.
 */
export function classifyNetworkError(error: unknown): TransientFailure | undefined {
  for (const code of errorCodes(error)) {
    if (TIMEOUT_CODES.has(code)) return 'timeout'
    if (NETWORK_CODES.has(code)) return 'network'
  }
  return undefined
}

/** Codes of the error, of its `cause` chain and of AggregateError members (happy-eyeballs connects). */
function errorCodes(error: unknown, depth = 0): string[] {
  if (typeof error !== 'object' || error === null || depth > 4) return []
  const codes: string[] = []
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') codes.push(code)
  if (error instanceof AggregateError) for (const inner of error.errors) codes.push(...errorCodes(inner, depth + 1))
  codes.push(...errorCodes((error as { cause?: unknown }).cause, depth + 1))
  return codes
}

/** The errno/undici code of an error, for messages. */
export function errorCodeOf(error: unknown): string {
  return errorCodes(error)[0] ?? (error instanceof Error ? error.name : 'unknown error')
}

/** Failures that happen before a connection exists: the request cannot have reached the server. */
const BEFORE_CONNECTION_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT'])

/**
 * Whether a request that failed with `error` may still have been received and acted on: anything
 * but a failure to connect. A reset or a timeout after the body went out leaves it unknown.
 */
export function mayHaveReachedServer(error: unknown): boolean {
  const codes = errorCodes(error)
  return !codes.some((code) => BEFORE_CONNECTION_CODES.has(code))
}
