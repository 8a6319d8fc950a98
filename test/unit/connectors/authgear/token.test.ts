import { generateKeyPairSync } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader, importSPKI, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../../src/core/errors.ts'
import { AdminTokenSigner } from '../../../../connectors/authgear/token.ts'

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()
const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString()

function clock(startMs: number): { now: () => number; advance: (s: number) => void } {
  let t = startMs
  return { now: () => t, advance: (s) => (t += s * 1000) }
}

describe('AdminTokenSigner', () => {
  it('signs an RS256 token Authgear accepts: kid, typ, aud = project id, iat 30 s back, exp = iat + ttl', async () => {
    const c = clock(Date.UTC(2026, 0, 2, 3, 4, 5))
    const signer = new AdminTokenSigner({ projectId: 'myapp', keyId: 'key-1', privateKeyPem: pkcs8, ttlSeconds: 300, now: c.now })
    const token = await signer.token()

    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', kid: 'key-1', typ: 'JWT' })
    const claims = decodeJwt(token)
    const nowS = Math.floor(c.now() / 1000)
    expect(claims.aud).toBe('myapp')
    expect(claims.iat).toBe(nowS - 30)
    expect(claims.exp).toBe(nowS - 30 + 300)

    const key = await importSPKI(spki, 'RS256')
    const verified = await jwtVerify(token, key, { audience: 'myapp', algorithms: ['RS256'], currentDate: new Date(c.now()) })
    expect(verified.payload.aud).toBe('myapp')
    expect(signer.lastIssued).toEqual({ keyId: 'key-1', audience: 'myapp', iat: nowS - 30, exp: nowS + 270 })
  })

  it('reuses the cached token and renews it 60 s before it expires', async () => {
    const c = clock(Date.UTC(2026, 0, 2))
    const signer = new AdminTokenSigner({ projectId: 'myapp', keyId: 'k', privateKeyPem: pkcs8, ttlSeconds: 300, now: c.now })
    const first = await signer.token()
    const exp = decodeJwt(first).exp!

    c.advance(200) // exp is 270 s away at issue; 70 s remain
    expect(await signer.token()).toBe(first)

    c.advance(11) // 59 s remain: inside the renewal window
    const second = await signer.token()
    expect(second).not.toBe(first)
    expect(decodeJwt(second).iat).toBe(Math.floor(c.now() / 1000) - 30)
    expect(decodeJwt(second).exp).toBeGreaterThan(exp)
  })

  it('shares one signing operation between concurrent callers', async () => {
    const signer = new AdminTokenSigner({ projectId: 'p', keyId: 'k', privateKeyPem: pkcs8 })
    const tokens = await Promise.all([signer.token(), signer.token(), signer.token()])
    expect(new Set(tokens).size).toBe(1)
  })

  it('accepts a PKCS#1 RSA key as downloaded by some tools', async () => {
    const signer = new AdminTokenSigner({ projectId: 'p', keyId: 'k', privateKeyPem: pkcs1 })
    const key = await importSPKI(spki, 'RS256')
    await expect(jwtVerify(await signer.token(), key, { audience: 'p' })).resolves.toBeDefined()
  })

  it('rejects unreadable and non-RSA keys without echoing key material', () => {
    const broken = pkcs8.replace(/[A-Za-z]{20}/, 'x')
    let thrown: unknown
    try {
      new AdminTokenSigner({ projectId: 'p', keyId: 'k', privateKeyPem: broken })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ConfigError)
    const body = pkcs8.split('\n')[1]!
    expect((thrown as Error).message).not.toContain(body.slice(0, 16))

    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    expect(() => new AdminTokenSigner({ projectId: 'p', keyId: 'k', privateKeyPem: ec })).toThrow(/must be an RSA key/)
  })

  it('refuses a lifetime that the 30 s back-dating would eat', () => {
    expect(() => new AdminTokenSigner({ projectId: 'p', keyId: 'k', privateKeyPem: pkcs8, ttlSeconds: 30 })).toThrow(ConfigError)
  })

  it('never shows the key or token when printed', async () => {
    const signer = new AdminTokenSigner({ projectId: 'p', keyId: 'k', privateKeyPem: pkcs8 })
    const token = await signer.token()
    const printed = `${String(signer)} ${JSON.stringify(signer)}`
    expect(printed).not.toContain(token)
    expect(printed).not.toContain('PRIVATE KEY')
  })
})
