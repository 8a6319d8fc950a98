import { generateKeyPairSync } from 'node:crypto'
import type { Dispatcher } from 'undici'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AdminApiClient } from '../../../connectors/authgear/client.ts'
import { AdminTokenSigner } from '../../../connectors/authgear/token.ts'
import { ScriptedServer, hang, json, text } from './scripted-server.ts'
import { refusedBeforeAnyJob } from '../../../connectors/authgear/nothing-created.ts'

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

  it('is said to be ambiguous when a 2xx reply cannot be read (cut short, no envelope, not a job), or the reply breaks off after it connected', async () => {
    const client = new AdminApiClient({ endpoint: server.url, projectId: 'myapp', signer: signer(), timeoutMs: 2_000, retry: { maxAttempts: 2, baseMs: 5, maxMs: 10 } })
    const brokenOff: Parameters<ScriptedServer['script']>[0] = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' })
      res.write('{"result":{"id":"userimport_x"', () => res.socket?.destroy())
    }
    for (const step of [text(200, '{"result":{"id":"userimport_x","sta'), json(200, { id: 'userimport_x' }), json(200, { result: { id: 'x' } }), brokenOff]) {
      server.script(step, step)
      const told: boolean[] = []
      const error = await client.submitImport(body, undefined, (retrying) => told.push(retrying)).then(() => undefined, (caught: unknown) => caught)
      expect(error).toBeInstanceOf(Error)
      // Said, the last time as given up; a 2xx is not asked again (the job may exist). Never taken
      // for a request that created nothing.
      expect(told.at(-1)).toBe(false)
      if (step !== brokenOff) expect(told).toEqual([false])
      expect(refusedBeforeAnyJob(error)).toBe(false)
    }
    await client.close()
  })

  it('is not, when Authgear refused it outright (403), and that refusal created nothing', async () => {
    server.script(text(403, 'invalid token'))
    const client = new AdminApiClient({ endpoint: server.url, projectId: 'myapp', signer: signer(), timeoutMs: 2_000, retry: { maxAttempts: 2, baseMs: 5, maxMs: 10 } })
    const told: boolean[] = []
    const error = await client.submitImport(body, undefined, (retrying) => told.push(retrying)).then(() => undefined, (caught: unknown) => caught)
    expect(told).toEqual([])
    expect(refusedBeforeAnyJob(error)).toBe(true)
    await client.close()
  })

  it('is not, when the connection was never made (a connect timeout)', async () => {
    const connectTimeout = Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' })
    const dispatcher = { request: async () => { throw connectTimeout } } as unknown as Dispatcher
    const client = new AdminApiClient({ endpoint: 'http://127.0.0.1:9', projectId: 'myapp', signer: signer(), timeoutMs: 1_000, retry: { maxAttempts: 2, baseMs: 1, maxMs: 2 }, dispatcher })
    let ambiguous = 0
    const error = await client.submitImport(body, undefined, () => ambiguous++).then(() => undefined, (caught: unknown) => caught)
    expect(error).toBeInstanceOf(Error)
    expect(ambiguous).toBe(0)
    expect(refusedBeforeAnyJob(error)).toBe(true)
  })
})
