import { AuthError, QuotaExceededError } from '../../src/core/errors.ts'
import { ApiRequestError, ApiUnavailableError } from './errors.ts'
import { mayHaveReachedServer } from './network-errors.ts'

/**
 * Errors of import requests that cannot have created a job (see `refusedBeforeAnyJob`), marked by
 * the sink, which alone knows whether an attempt was left in doubt. The records they carried are
 * in no job, so the notes the login ledger wrote for them before the request can go (see
 * `LoginLedger.unsent`).
 */
const createdNothing = new WeakSet<object>()

/**
 * Errors that say by themselves that Authgear created no job, when no attempt of the request was
 * left in doubt: a refusal (403, a 4xx) or a quota refusal, and a request that never connected.
 * Anything else (an unreadable 2xx, a transport error after connecting) may follow a created job.
 */
export function refusedBeforeAnyJob(error: unknown): boolean {
  if (error instanceof AuthError || error instanceof QuotaExceededError) return true
  if (error instanceof ApiRequestError) return error.status >= 400 && error.status < 500
  return error instanceof ApiUnavailableError && error.cause !== undefined && !mayHaveReachedServer(error.cause)
}

export function markNothingCreated(error: unknown): void {
  if (error !== null && typeof error === 'object') createdNothing.add(error)
}

export function nothingCreated(error: unknown): boolean {
  return error !== null && typeof error === 'object' && createdNothing.has(error)
}
