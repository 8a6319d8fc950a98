import { createHash, createPrivateKey, createPublicKey, generateKeyPair, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto'
import { promisify } from 'node:util'
import type { EmulatorConfig } from './config.ts'

const generateKeyPairAsync = promisify(generateKeyPair)

/** A fresh Admin API key, shaped like the one Authgear's portal hands out. */
export interface AdminKey {
  /** UUID, the JWT header `kid`. */
  readonly keyId: string
  /** PKCS#8 PEM of the private key; a secret, never logged. */
  readonly privateKeyPem: string
  /** Public JWK with `kid`, `use: "sig"` and `alg: "RS256"`, ready for the emulator's `jwks`. */
  readonly publicJwk: PublicAdminJwk
}

/** An RSA public JWK as Authgear's portal key set holds it. */
export interface PublicAdminJwk {
  readonly kty: 'RSA'
  readonly n: string
  readonly e: string
  readonly kid: string
  readonly use: 'sig'
  readonly alg: 'RS256'
  readonly [member: string]: unknown
}

/** Makes an RS256 RSA-2048 key pair with a UUID key ID, as Authgear's `secrets.GenerateRSAKey`. */
export async function generateAdminKey(): Promise<AdminKey> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 })
  return adminKeyOf(privateKey, () => randomUUID())
}

/** The AdminKey of an RSA private key, with the key id `kidOf` gives for its public JWK. */
function adminKeyOf(privateKey: KeyObject, kidOf: (jwk: { n: string; e: string }) => string): AdminKey {
  const { n, e } = createPublicKey(privateKey).export({ format: 'jwk' }) as { n: string; e: string }
  const keyId = kidOf({ n, e })
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  return { keyId, privateKeyPem, publicJwk: { kty: 'RSA', n, e, kid: keyId, use: 'sig', alg: 'RS256' } }
}

/**
 * The Admin API key held in `pem` (an unencrypted RSA private key), or undefined when it holds
 * none. Its key id is the RFC 7638 thumbprint of the public half, so the same key file always
 * gives the same `kid`: a restarted `gearbridge emulator` keeps accepting the configs pointed at it.
 */
export function adminKeyFromPem(pem: string): AdminKey | undefined {
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' })
  } catch {
    return undefined
  }
  if (privateKey.asymmetricKeyType !== 'rsa') return undefined
  return adminKeyOf(privateKey, ({ n, e }) => createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url'))
}

/** The configured verification keys by `kid`. PEM private keys contribute their public half. */
export function loadVerificationKeys(config: Pick<EmulatorConfig, 'jwks' | 'public_keys'>): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>()
  for (const jwk of config.jwks?.keys ?? []) {
    const { kid, ...material } = jwk
    keys.set(kid, createPublicKey({ key: material as JsonWebKey, format: 'jwk' }))
  }
  for (const { kid, pem } of config.public_keys) keys.set(kid, createPublicKey(pem))
  return keys
}
