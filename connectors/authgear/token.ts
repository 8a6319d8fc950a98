import { createPrivateKey, type KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
import { ConfigError } from '../../src/core/errors.ts'

/** Seconds `iat` is back-dated: Authgear builds before 2026-05-22 allow no clock skew at all. */
export const IAT_BACKDATE_SECONDS = 30
/** Renew this long before `exp` (at most half the lifetime), so a token never expires in flight. */
const RENEW_BEFORE_SECONDS = 60

export interface AdminTokenSignerOptions {
  /** Authgear project id; becomes `aud`. */
  readonly projectId: string
  /** Admin API key id from the portal; becomes the header `kid`. */
  readonly keyId: string
  /** RSA private key in PEM, PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`). */
  readonly privateKeyPem: string
  /** Lifetime from `iat` to `exp`; default 300. */
  readonly ttlSeconds?: number
  /** Clock in milliseconds since the epoch; default `Date.now`. */
  readonly now?: () => number
}

/** Claims and header of the token currently in use, without the token itself (for diagnostics). */
export interface AdminTokenInfo {
  readonly keyId: string
  readonly audience: string
  readonly iat: number
  readonly exp: number
}

/**
 * Signs Authgear Admin API JWTs: RS256, header `kid` + `typ: JWT`, `aud` = project id,
 * `iat` 30 s in the past, `exp = iat + ttl`. The token is cached and renewed before it expires.
 * Safe to call `token()` concurrently: callers share one signing operation.
 * The key and tokens are never included in errors or `toString()`.
 */
export class AdminTokenSigner {
  readonly #projectId: string
  readonly #keyId: string
  readonly #key: KeyObject
  readonly #ttlSeconds: number
  readonly #now: () => number
  #cached: { token: string; info: AdminTokenInfo } | undefined
  #pending: Promise<string> | undefined

  constructor(opts: AdminTokenSignerOptions) {
    const ttl = opts.ttlSeconds ?? 300
    if (!Number.isInteger(ttl) || ttl <= IAT_BACKDATE_SECONDS) {
      throw new ConfigError(`Admin API token lifetime must be an integer above ${IAT_BACKDATE_SECONDS} seconds, got ${ttl}`)
    }
    if (opts.projectId === '') throw new ConfigError('Admin API token needs a project id (the JWT aud)')
    if (opts.keyId === '') throw new ConfigError('Admin API token needs a key id (the JWT kid)')
    this.#projectId = opts.projectId
    this.#keyId = opts.keyId
    this.#key = parseRsaPrivateKey(opts.privateKeyPem)
    this.#ttlSeconds = ttl
    this.#now = opts.now ?? Date.now
  }

  /** The key id sent as `kid`. */
  get keyId(): string {
    return this.#keyId
  }

  /** The audience sent as `aud` (the project id). */
  get audience(): string {
    return this.#projectId
  }

  /** Claims of the last token issued, or undefined before the first `token()`. */
  get lastIssued(): AdminTokenInfo | undefined {
    return this.#cached?.info
  }

  /** Returns a valid token, signing a new one when none is cached or the cached one is near expiry. */
  token(): Promise<string> {
    const nowSeconds = Math.floor(this.#now() / 1000)
    const cached = this.#cached
    const renewBefore = Math.min(RENEW_BEFORE_SECONDS, Math.floor(this.#ttlSeconds / 2))
    if (cached !== undefined && nowSeconds < cached.info.exp - renewBefore) return Promise.resolve(cached.token)
    this.#pending ??= this.#sign(nowSeconds).finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }

  async #sign(nowSeconds: number): Promise<string> {
    const iat = nowSeconds - IAT_BACKDATE_SECONDS
    const exp = iat + this.#ttlSeconds
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: this.#keyId, typ: 'JWT' })
      .setAudience(this.#projectId)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.#key)
    this.#cached = { token, info: { keyId: this.#keyId, audience: this.#projectId, iat, exp } }
    return token
  }

  toString(): string {
    return `AdminTokenSigner(kid=${this.#keyId}, aud=${this.#projectId})`
  }
}

function parseRsaPrivateKey(pem: string): KeyObject {
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch {
    // The parser's own message is dropped: it must never risk echoing key material.
    throw new ConfigError('the Admin API private key is not a readable unencrypted PEM private key (PKCS#8 or PKCS#1)')
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new ConfigError(`the Admin API private key must be an RSA key (Authgear signs with RS256), got ${key.asymmetricKeyType ?? 'unknown'}`)
  }
  return key
}
