import { createPrivateKey, type KeyObject } from 'node:crypto'
import { SignJWT, type JWTPayload } from 'jose'
import { request } from 'undici'
import type { EmulatorOptions } from '../../../src/emulator/config.ts'
import { startEmulator, type RunningEmulator } from '../../../src/emulator/emulator.ts'
import { generateAdminKey, type AdminKey } from '../../../src/emulator/keys.ts'

/** A running emulator plus a way to sign tokens with its key and call it. */
export interface Harness {
  readonly emulator: RunningEmulator
  readonly key: AdminKey
  readonly privateKey: KeyObject
  token(claims?: JWTPayload, header?: Record<string, unknown>): Promise<string>
  call(method: string, path: string, options?: CallOptions): Promise<{ status: number; headers: Record<string, unknown>; text: string; json: any }>
  importUsers(body: unknown): Promise<{ status: number; json: any }>
  waitForJob(id: string, timeoutMs?: number): Promise<any>
  close(): Promise<void>
}

export interface CallOptions {
  readonly body?: string | Buffer
  readonly contentType?: string | null
  /** `undefined` = a fresh valid token; `null` = no Authorization header. */
  readonly authorization?: string | null
}

export async function startHarness(options: EmulatorOptions = {}): Promise<Harness> {
  const key = await generateAdminKey()
  const emulator = await startEmulator({ project_id: 'myapp', ...options, jwks: { keys: [key.publicJwk] } })
  const privateKey = createPrivateKey(key.privateKeyPem)
  const now = () => Math.floor(Date.now() / 1000)
  const token: Harness['token'] = (claims = {}, header = {}) =>
    new SignJWT({ aud: emulator.projectId, iat: now() - 30, exp: now() + 300, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: key.keyId, typ: 'JWT', ...header })
      .sign(privateKey)
  const call: Harness['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = {}
    const authorization = opts.authorization === undefined ? `Bearer ${await token()}` : opts.authorization
    if (authorization !== null) headers.authorization = authorization
    const contentType = opts.contentType === undefined ? 'application/json' : opts.contentType
    if (contentType !== null && opts.body !== undefined) headers['content-type'] = contentType
    const res = await request(`${emulator.url}${path}`, { method: method as 'GET', headers, body: opts.body })
    const text = await res.body.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: res.statusCode, headers: res.headers, text, json }
  }
  const importUsers: Harness['importUsers'] = async (body) => {
    const res = await call('POST', '/_api/admin/users/import', { body: JSON.stringify(body) })
    return { status: res.status, json: res.json }
  }
  const waitForJob: Harness['waitForJob'] = async (id, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const res = await call('GET', `/_api/admin/users/import/${id}`)
      if (res.status !== 200) throw new Error(`GET job answered ${res.status}: ${res.text}`)
      if (res.json.result.status === 'completed') return res.json.result
      if (Date.now() > deadline) throw new Error('job did not complete in time')
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  return { emulator, key, privateKey, token, call, importUsers, waitForJob, close: () => emulator.close() }
}

/** `n` simple email records: user0@example.com … */
export function emailRecords(n: number, prefix = 'user'): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({ email: `${prefix}${i}@example.com`, email_verified: true }))
}
