import type { KeyObject } from 'node:crypto'
import { jwtVerify } from 'jose'

/** Settings of the Admin API JWT check. */
export interface AuthorizerOptions {
  readonly mode: 'jwt' | 'none'
  readonly projectId: string
  readonly keys: ReadonlyMap<string, KeyObject>
  readonly clockSkewSeconds: number
  /** Injectable clock (seconds) for tests. */
  readonly now?: () => number
}

const bearer = /^Bearer (.*)$/

/**
 * Checks an `Authorization` header the way Authgear's admin authz middleware does: exact
 * `Bearer <token>`, RS256 only, a `kid` naming a configured key, `aud` containing the project ID,
 * `exp`/`nbf`/`iat` within the skew. Resolves true when the request may proceed; every failure is
 * the same opaque false (the caller answers a plain 403).
 */
export function createAuthorizer(options: AuthorizerOptions): (header: string | undefined) => Promise<boolean> {
  if (options.mode === 'none') return async () => true
  const skew = options.clockSkewSeconds
  const now = options.now ?? (() => Date.now() / 1000)
  return async (header) => {
    const token = header === undefined ? undefined : bearer.exec(header)?.[1]
    if (token === undefined) return false
    try {
      const { payload } = await jwtVerify(
        token,
        (protectedHeader) => {
          // jwx's WithKeySet requires the kid; jose would otherwise fall back to a lone key.
          const key = protectedHeader.kid === undefined ? undefined : options.keys.get(protectedHeader.kid)
          if (key === undefined) throw new Error('no key for kid')
          return key
        },
        {
          algorithms: ['RS256'],
          audience: options.projectId,
          clockTolerance: skew,
          currentDate: new Date(now() * 1000),
        },
      )
      // jose checks iat only against a maximum age; jwx also refuses an iat in the future.
      if (payload.iat !== undefined && payload.iat > now() + skew) return false
      return true
    } catch {
      return false
    }
  }
}
