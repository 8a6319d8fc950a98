import { generateKeyPairSync } from 'node:crypto'
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AbortedError, AuthError, QuotaExceededError } from '../../../src/core/errors.ts'
import { AdminApiClient, type ClientHooks } from '../../../connectors/authgear/client.ts'
import { AdminGraphqlClient } from '../../../connectors/authgear/graphql-client.ts'
import { ApiRequestError, ApiUnavailableError, RequestTooLargeError, TaskNotFoundError } from '../../../connectors/authgear/errors.ts'
import { AdminTokenSigner } from '../../../connectors/authgear/token.ts'
import { ScriptedServer, apiError, hang, json, resetSocket, text } from './scripted-server.ts'

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString()

const pendingJob = { id: 'userimport_9Q3M2K1H0Z8X7W6V5T4S3R2P1N0M9K8J', created_at: '2026-01-02T03:04:05.123456789Z', status: 'pending' }
const completedJob = {
  ...pendingJob,
  completed_at: '2026-01-02T03:04:07.5Z',
  status: 'completed',
  summary: { total: 2, inserted: 1, updated: 0, skipped: 1, failed: 0 },
  details: [
    { index: 0, record: { email: 'a@example.com' }, outcome: 'inserted', user_id: '0f0f65ee-4c7d-45a0-a740-bcbbfd3fcf06' },
    { index: 1, record: { email: 'b@example.com' }, outcome: 'skipped', user_id: '9c71fc29', warnings: [{ message: 'skipping because upsert = false and user exists' }] },
  ],
}

interface Recorded {
  retries: { reason: string; attempt: number; delayMs: number }[]
  requests: { route: string; status: number | 'network_error' }[]
}

let server: ScriptedServer
let client: AdminApiClient
let recorded: Recorded

function makeClient(overrides: { maxAttempts?: number; timeoutMs?: number; endpoint?: string } = {}): AdminApiClient {
  const hooks: ClientHooks = {
    onRetry: (reason, attempt, delayMs) => recorded.retries.push({ reason, attempt, delayMs }),
    onRequest: (route, status) => recorded.requests.push({ route, status }),
  }
  return new AdminApiClient({
    endpoint: overrides.endpoint ?? server.url,
    projectId: 'myapp',
    signer: new AdminTokenSigner({ projectId: 'myapp', keyId: 'kid-1', privateKeyPem }),
    timeoutMs: overrides.timeoutMs ?? 2000,
    retry: { maxAttempts: overrides.maxAttempts ?? 4, baseMs: 5, maxMs: 20 },
    hooks,
  })
}

beforeEach(async () => {
  server = await ScriptedServer.start()
  recorded = { retries: [], requests: [] }
  client = makeClient()
})

afterEach(async () => {
  await client.close()
  await server.close()
})

describe('AdminApiClient against a local HTTP server', () => {
  it('POSTs the exact body with a JSON content type and a valid Admin API JWT, and unwraps the result', async () => {
    server.script(json(200, { result: pendingJob }))
    const body = '{"identifier":"email","records":[{"email":"a@example.com"}]}'
    const job = await client.submitImport(body)

    expect(job).toEqual(pendingJob)
    const [seen] = server.seen
    expect(seen).toMatchObject({ method: 'POST', url: '/_api/admin/users/import', body })
    expect(seen!.headers['content-type']).toBe('application/json')
    const match = /^Bearer (.+)$/.exec(seen!.headers.authorization ?? '')
    expect(match).not.toBeNull()
    expect(decodeProtectedHeader(match![1]!)).toMatchObject({ alg: 'RS256', kid: 'kid-1' })
    await expect(jwtVerify(match![1]!, await importSPKI(publicKeyPem, 'RS256'), { audience: 'myapp' })).resolves.toBeDefined()
    expect(recorded.requests).toEqual([{ route: 'import_create', status: 200 }])
  })

  it('GETs a job by id and returns its details without the echoed records', async () => {
    server.script(json(200, { result: completedJob }))
    const job = await client.getImport(pendingJob.id)

    expect(job).toEqual({ ...completedJob, details: completedJob.details.map(({ record: _echo, ...detail }) => detail) })
    expect(job.details?.map((d) => d.outcome)).toEqual(['inserted', 'skipped'])
    expect(server.seen.map((s) => `${s.method} ${s.url}`)).toEqual([`GET /_api/admin/users/import/${pendingJob.id}`])
    expect(server.seen[0]!.headers['content-type']).toBeUndefined()
  })

  it('refuses a completed job whose details cannot be settled, rather than completing records with nothing', async () => {
    const raw = (body: string): Parameters<ScriptedServer['script']>[0] => (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(body)
    }
    // Two damaged bytes: a quote lost inside record 0 and `"info":` turned into `"info]:`. Cutting
    // the echoes out of it gives valid JSON in which detail 0 has lost its outcome.
    const damaged = String.raw`{"result":{"id":"j","created_at":"2026-01-02T03:04:05Z","status":"completed","details":[{"index":0,"record":{"email":"a\"}b@x","name":"q","n":[1,{ d":"\\"}]},"outcome":"inserted","user_id":"u0"},{"index":1,"record":{"email":"c@x"},"outcome":"failed","errors":[{"name":"Invalid","info]:{"record":1}}]},{"index":2,"record":{"email":"d@x"},"outcome":"skipped","user_id":"u2"}]}}`
    const malformed = [
      damaged,
      JSON.stringify({ result: { ...completedJob, details: [{ index: 0, user_id: 'u0' }] } }),
      JSON.stringify({ result: { ...completedJob, details: [{ index: '0', outcome: 'inserted' }] } }),
      JSON.stringify({ result: { ...completedJob, details: [{ index: 0, outcome: 'done' }] } }),
      JSON.stringify({ result: { ...completedJob, details: { 0: { index: 0, outcome: 'inserted' } } } }),
      JSON.stringify({ result: { ...completedJob, details: [{ index: 0, outcome: 'inserted', user_id: 7 }] } }),
    ]
    for (const body of malformed) {
      server.script(raw(body))
      const error = await client.getImport(pendingJob.id).catch((e: unknown) => e)
      expect(error, body).toBeInstanceOf(ApiRequestError)
      expect((error as ApiRequestError).retryable).toBe(false)
    }
  })

  it('reuses kept-alive connections across requests', async () => {
    server.script(json(200, { result: pendingJob }))
    for (let i = 0; i < 4; i++) await client.getImport(pendingJob.id)
    const ports = new Set(server.seen.map((s) => s.remotePort))
    expect(ports.size).toBeLessThan(4)
  })

  it('keeps a base path of the endpoint', async () => {
    await client.close()
    client = makeClient({ endpoint: `${server.url}/authgear/` })
    server.script(json(200, { result: pendingJob }))
    await client.getImport(pendingJob.id)
    expect(server.seen[0]!.url).toBe(`/authgear/_api/admin/users/import/${pendingJob.id}`)
  })

  it('retries 503 honouring Retry-After, then succeeds', async () => {
    server.script(text(503, 'busy', { 'retry-after': '1' }), json(200, { result: pendingJob }))
    const started = performance.now()
    await expect(client.submitImport('{}')).resolves.toEqual(pendingJob)

    expect(performance.now() - started).toBeGreaterThanOrEqual(950)
    expect(recorded.retries).toEqual([{ reason: '5xx', attempt: 1, delayMs: 1000 }])
    expect(recorded.requests.map((r) => r.status)).toEqual([503, 200])
  })

  it('retries a POST whose connection was reset after the body was sent', async () => {
    server.script(resetSocket, json(200, { result: pendingJob }))
    await expect(client.submitImport('{"identifier":"email","records":[]}')).resolves.toEqual(pendingJob)

    expect(server.seen).toHaveLength(2)
    expect(server.seen[1]!.body).toBe(server.seen[0]!.body)
    expect(recorded.retries.map((r) => r.reason)).toEqual(['network'])
    expect(recorded.requests.map((r) => r.status)).toEqual(['network_error', 200])
  })

  it('gives up after max_attempts with a retryable error carrying the last reply', async () => {
    server.script(json(500, apiError('InternalError', 'UnexpectedError', 500)))
    const error = await client.getImport(pendingJob.id).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(ApiUnavailableError)
    expect(error).toMatchObject({ retryable: true, attempts: 4, status: 500, reason: '5xx' })
    expect((error as ApiUnavailableError).body?.reason).toBe('UnexpectedError')
    expect(server.seen).toHaveLength(4)
    expect(recorded.retries.map((r) => r.attempt)).toEqual([1, 2, 3])
    for (const r of recorded.retries) expect(r.delayMs).toBeLessThanOrEqual(20)
  })

  it('retries a 429 that is not a quota error', async () => {
    server.script(json(429, apiError('TooManyRequest', 'RateLimited', 429), { 'retry-after': '0' }), json(200, { result: pendingJob }))
    await expect(client.submitImport('{}')).resolves.toEqual(pendingJob)
    expect(recorded.retries).toEqual([{ reason: '429', attempt: 1, delayMs: 0 }])
  })

  it('stops on quota exhaustion with the period and reset time, without retrying', async () => {
    server.script(json(429, apiError('TooManyRequest', 'UsageLimitExceeded', 429, { name: 'UserImport', usage_name: 'user_import', period: 'month' })))
    const error = await client.submitImport('{}').catch((e: unknown) => e)

    expect(error).toBeInstanceOf(QuotaExceededError)
    expect((error as QuotaExceededError).period).toBe('month')
    expect((error as Error).message).toMatch(/month.*resets at \d{4}-\d{2}-01T00:00:00\.000Z/)
    expect(server.seen).toHaveLength(1)
  })

  it('maps 413 to RequestTooLargeError so the batch can be split', async () => {
    server.script(json(413, apiError('RequestEntityTooLarge', 'JSONTooLarge', 413, { limit: 500000 })))
    const error = await client.submitImport('{}').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RequestTooLargeError)
    expect((error as RequestTooLargeError).limit).toBe(500000)
    expect(server.seen).toHaveLength(1)
  })

  it('maps 404 TaskNotFound on GET to TaskNotFoundError', async () => {
    server.script(json(404, apiError('NotFound', 'TaskNotFound', 404)))
    const error = await client.getImport('userimport_EXPIRED').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskNotFoundError)
    expect((error as TaskNotFoundError).jobId).toBe('userimport_EXPIRED')
  })

  it('maps other 4xx to a non-retryable ApiRequestError with the API error body', async () => {
    server.script(json(400, apiError('Invalid', 'ValidationFailed', 400, { causes: [{ location: '/records', kind: 'minItems' }] })))
    const error = await client.submitImport('{"identifier":"email","records":[]}').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiRequestError)
    expect(error).toMatchObject({ retryable: false, status: 400, body: { name: 'Invalid', reason: 'ValidationFailed' } })
    expect(server.seen).toHaveLength(1)
  })

  it('checkAuth treats 404 TaskNotFound as an accepted token', async () => {
    server.script(json(404, apiError('NotFound', 'TaskNotFound', 404)))
    await expect(client.checkAuth()).resolves.toBeUndefined()
    expect(server.seen[0]!.url).toMatch(/^\/_api\/admin\/users\/import\/userimport_[0-9A-Z]{32}$/)
  })

  it('diagnoses a plain-text 403: key id, audience and a skewed server clock, never the token', async () => {
    const serverDate = new Date(Date.now() + 10 * 60_000).toUTCString()
    server.script(text(403, 'Forbidden\n', { date: serverDate }))
    const error = await client.checkAuth().catch((e: unknown) => e)

    expect(error).toBeInstanceOf(AuthError)
    const message = (error as Error).message
    expect(message).toContain('"kid-1"')
    expect(message).toContain('"myapp"')
    expect(message).toMatch(/local clock .* is (59\d|60\d) s behind the server's Date header/)
    const token = /^Bearer (.+)$/.exec(server.seen[0]!.headers.authorization ?? '')![1]!
    expect(message).not.toContain(token)
    expect(JSON.stringify(error)).not.toContain(token)
    expect(server.seen).toHaveLength(1)
  })

  it('aborts promptly while waiting to retry', async () => {
    server.script(text(503, 'busy', { 'retry-after': '30' }))
    const controller = new AbortController()
    const started = performance.now()
    const pending = client.submitImport('{}', controller.signal)
    setTimeout(() => controller.abort(), 100)

    await expect(pending).rejects.toBeInstanceOf(AbortedError)
    expect(performance.now() - started).toBeLessThan(2000)
    expect(recorded.retries).toEqual([{ reason: '5xx', attempt: 1, delayMs: 30_000 }])
  })

  it('winding down for a stop, retries a failed call only within the window past it, then gives it up as aborted', async () => {
    // A server failing every call, as a stalled Authgear times out every one.
    server.script(text(503, 'busy', { 'retry-after': '1' }))
    client.windDown(1500)
    const started = performance.now()
    const error = await client.getImport(pendingJob.id).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortedError)
    expect((error as Error).message).toContain('is not retried 2 s after the stop was asked for')
    // Two retries a second apart fit in 1.5 s past the stop; the third would not.
    expect(recorded.requests.map((r) => r.status)).toEqual([503, 503])
    expect(performance.now() - started).toBeLessThan(1500)
  })

  it('winding down ends a wait for a retry already under way when the window does (a Retry-After of 40 s)', async () => {
    server.script(text(503, 'busy', { 'retry-after': '40' }))
    const started = performance.now()
    const pending = client.getImport(pendingJob.id).catch((e: unknown) => e)
    setTimeout(() => client.windDown(1000), 300)
    const error = await pending
    expect(error).toBeInstanceOf(AbortedError)
    expect((error as Error).message).toContain('is not retried 1 s after the stop was asked for')
    expect(performance.now() - started).toBeLessThan(3000)
    expect(recorded.requests.map((r) => r.status)).toEqual([503])
  })

  it('the GraphQL client winds down the same way: a failing call is given up as aborted once its next retry would fall past the window', async () => {
    server.script(text(503, 'busy'))
    const graphql = new AdminGraphqlClient({ endpoint: server.url, tokens: new AdminTokenSigner({ projectId: 'myapp', keyId: 'kid-1', privateKeyPem }), timeoutMs: 2000, retry: { maxAttempts: 8, baseMs: 400, maxMs: 400 }, random: () => 0.99 })
    try {
      graphql.windDown(1000)
      const started = performance.now()
      const error = await graphql.request('users', '{ users { totalCount } }', {}).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AbortedError)
      expect((error as Error).message).toContain('is not retried 1 s after the stop was asked for')
      expect(server.seen.length).toBeLessThan(8)
      expect(performance.now() - started).toBeLessThan(1500)
    } finally {
      await graphql.close()
    }
  })

  it('aborts a request in flight', async () => {
    server.script(hang)
    const controller = new AbortController()
    const pending = client.getImport(pendingJob.id, controller.signal)
    setTimeout(() => controller.abort(), 50)
    await expect(pending).rejects.toBeInstanceOf(AbortedError)
    expect(recorded.retries).toEqual([])
  })

  it('times out a silent server and retries with reason timeout', async () => {
    await client.close()
    client = makeClient({ timeoutMs: 100, maxAttempts: 2 })
    server.script(hang)
    const error = await client.getImport(pendingJob.id).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(ApiUnavailableError)
    expect(error).toMatchObject({ reason: 'timeout', attempts: 2, retryable: true })
    expect(recorded.retries.map((r) => r.reason)).toEqual(['timeout'])
    expect(recorded.requests.map((r) => r.status)).toEqual(['network_error', 'network_error'])
  })

  it('retries a refused connection and then reports the endpoint unreachable', async () => {
    const url = server.url
    await server.close()
    await client.close()
    client = makeClient({ endpoint: url, maxAttempts: 3 })
    const error = await client.getImport(pendingJob.id).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(ApiUnavailableError)
    expect(error).toMatchObject({ reason: 'network', attempts: 3, retryable: true })
    expect((error as Error).message).toContain('ECONNREFUSED')
    server = await ScriptedServer.start()
  })
})
