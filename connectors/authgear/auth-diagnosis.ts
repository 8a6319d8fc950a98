import { AuthError } from '../../src/core/errors.ts'
import { IAT_BACKDATE_SECONDS } from './token.ts'

/** A clock difference up to this is noise: `Date` has 1 s resolution and the reply takes time. */
export const CLOCK_TOLERANCE_SECONDS = 5

/** Behind the server by less than this, a token is still unexpired there (half its default 300 s after the back-dating, as it is renewed by then). */
const BEHIND_HARMLESS_SECONDS = (300 - IAT_BACKDATE_SECONDS) / 2

export interface AuthFailureFacts {
  /** Where the request went (scheme + host, no credentials). */
  readonly endpoint: string
  readonly keyId: string
  /** The `aud` sent: the configured project id. */
  readonly audience: string
  /** The reply's `Date` header, if any. */
  readonly serverDate: string | undefined
  /** Local clock (ms since epoch) when the reply arrived. */
  readonly localNowMs: number
}

/**
 * Turns Authgear's bare plain-text 403 into an actionable `AuthError`. Authgear says nothing about
 * why a token was refused, so the message lists what the token claimed and compares clocks.
 * It never includes the token or the key.
 */
export function authFailureError(facts: AuthFailureFacts): AuthError {
  const message =
    `Authgear refused the Admin API token (HTTP 403 Forbidden) at ${facts.endpoint}. ` +
    `The token was signed RS256 with key id "${facts.keyId}" (sink.key_id) for audience "${facts.audience}" (sink.project_id). ` +
    `Check that this key id is an Admin API key of that project (portal: Advanced → Admin API), that the private key configured (sink.private_key_file or sink.private_key) is that key's, ` +
    `and that the endpoint serves that project. Clock: ${describeClock(facts.serverDate, facts.localNowMs)}.`
  return new AuthError(message)
}

/** Compares the server's `Date` header with the local clock, in words. */
export function describeClock(serverDate: string | undefined, localNowMs: number): string {
  const serverMs = serverDate === undefined ? Number.NaN : Date.parse(serverDate)
  if (Number.isNaN(serverMs)) return 'the server sent no usable Date header, so the local clock could not be compared with it'
  const local = new Date(localNowMs).toISOString()
  const server = new Date(serverMs).toISOString()
  const skew = Math.round((localNowMs - serverMs) / 1000)
  if (Math.abs(skew) <= CLOCK_TOLERANCE_SECONDS) {
    return `the local clock agrees with the server's Date header (${server}), so the clock is not the cause`
  }
  const direction = skew > 0 ? 'ahead of' : 'behind'
  // Even a server that allows no skew accepts a token whose iat (back-dated) and exp it has passed
  // and not yet reached: a smaller difference cannot be why it was refused.
  if (skew > 0 ? skew < IAT_BACKDATE_SECONDS - CLOCK_TOLERANCE_SECONDS : -skew < BEHIND_HARMLESS_SECONDS) {
    return `the local clock (${local}) is ${Math.abs(skew)} s ${direction} the server's Date header (${server}), which the token allows (iat is back-dated ${IAT_BACKDATE_SECONDS} s and exp is minutes ahead), so the clock is not the cause`
  }
  return (
    `the local clock (${local}) is ${Math.abs(skew)} s ${direction} the server's Date header (${server}); ` +
    `Authgear checks iat and exp against its own clock (tokens are back-dated ${IAT_BACKDATE_SECONDS} s; older Authgear builds allow no skew), ` +
    `so synchronise this machine's clock (NTP)`
  )
}
