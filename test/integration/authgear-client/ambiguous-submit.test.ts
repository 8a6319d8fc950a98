import { generateKeyPairSync } from 'node:crypto'
import type { Dispatcher } from 'undici'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AdminApiClient } from '../../../connectors/authgear/client.ts'
import { AdminTokenSigner } from '../../../connectors/authgear/token.ts'
import { ScriptedServer, hang } from './scripted-server.ts'

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
const signer = () => new AdminTokenSigner({ projectId: 'myapp', keyId: 'k', privateKeyPem })
const body = '{"identifier":"email","records":[{"email":"a@example.com"}]}'

let server: ScriptedServer
beforeEach(async () => {
  server = await ScriptedServer.start()
})
afterEach(async () => {
  await server.close()
})

describe('an import POST that may have created a job', () => {
  it('is said to be ambiguous when its last attempt times out after the server read it', async () => {
    server.script(hang)
    const client = new AdminApiClient({ endpoint: server.url, projectId: 'myapp', signer: signer(), timeoutMs: 200, retry: { maxAttempts: 1, baseMs: 5, maxMs: 10 } })
    const told: boolean[] = []
    await expect(client.submitImport(body, undefined, (retrying) => told.push(retrying))).rejects.toThrow(/timed out/)
    expect(server.seen).toHaveLength(1)
    // The last attempt: said, but not as retried.
    expect(told).toEqual([false])
    await client.close()
  })

  it('is said to be ambiguous when a hard stop aborts it in flight', async () => {
    server.script(hang)
    const client = new AdminApiClient({ endpoint: server.url, projectId: 'myapp', signer: signer(), timeoutMs: 5_000, retry: { maxAttempts: 4, baseMs: 5, maxMs: 10 } })
    const stop = new AbortController()
    const told: boolean[] = []
    const sent = client.submitImport(body, stop.signal, (retrying) => told.push(retrying))
    while (server.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    stop.abort()
    await expect(sent).rejects.toThrow(/aborted/)
    // Abandoned, not retried: a run that logged "retrying it" here would say what does not happen.
    expect(told).toEqual([false])
    await client.close()
  })

  it('is not, when the connection was never made (a connect timeout)', async () => {
    const connectTimeout = Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' })
    const dispatcher = { request: async () => { throw connectTimeout } } as unknown as Dispatcher
    const client = new AdminApiClient({ endpoint: 'http://127.0.0.1:9', projectId: 'myapp', signer: signer(), timeoutMs: 1_000, retry: { maxAttempts: 2, baseMs: 1, maxMs: 2 }, dispatcher })
    let ambiguous = 0
    await expect(client.submitImport(body, undefined, () => ambiguous++)).rejects.toThrow()
    expect(ambiguous).toBe(0)
  })
})
