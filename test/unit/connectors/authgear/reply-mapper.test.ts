import { describe, expect, it } from 'vitest'
import { AuthError, QuotaExceededError, type ConnectorError } from '../../../../src/core/errors.ts'
import { ApiRequestError, BodyRejectedError, RequestTooLargeError, TaskNotFoundError } from '../../../../connectors/authgear/errors.ts'
import { mapReply, type ReplyContext } from '../../../../connectors/authgear/reply-mapper.ts'

const now = Date.UTC(2026, 0, 30, 15, 0, 0)
const ctx: ReplyContext = { route: 'import_get', endpoint: 'https://myapp.authgear.cloud', keyId: 'kid-1', audience: 'myapp', jobId: 'userimport_X', nowMs: now }
const reply = (status: number, body: unknown, extra: { date?: string; retryAfter?: string } = {}) => ({
  status,
  text: typeof body === 'string' ? body : JSON.stringify(body),
  date: extra.date,
  retryAfter: extra.retryAfter,
})
const apiError = (name: string, reason: string, code: number, info?: object) => ({ error: { name, reason, message: `${reason} msg`, code, ...(info ? { info } : {}) } })
function failure(decision: ReturnType<typeof mapReply>): ConnectorError {
  if (decision.type !== 'fail') throw new Error(`expected fail, got ${decision.type}`)
  return decision.error
}

/** What a gateway or proxy may echo back from a request: a bearer token and a password hash. */
const secrets = 'Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln body={"password_hash":"$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K"}'

describe('mapReply', () => {
  it('unwraps the result envelope', () => {
    expect(mapReply(reply(200, { result: { id: 'userimport_X', status: 'pending' } }), ctx)).toEqual({ type: 'ok', result: { id: 'userimport_X', status: 'pending' } })
  })

  it('refuses a 200 that is not an envelope', () => {
    expect(failure(mapReply(reply(200, '<html>portal</html>'), ctx))).toBeInstanceOf(ApiRequestError)
  })

  it('asks again after a 200 whose JSON was cut short, for a poll; never for a POST, whose job may exist', () => {
    const cut = reply(200, '{"result":{"id":"userimport_X","status":"compl')
    expect(mapReply(cut, ctx)).toMatchObject({ type: 'retry', reason: 'network', status: 200 })
    expect(failure(mapReply(cut, { ...ctx, route: 'import_create' }))).toBeInstanceOf(ApiRequestError)
  })

  it.each([
    ['an error envelope a gateway echoed them into', () => {
      const echoed = apiError('BadRequest', 'Gateway', 400)
      echoed.error.message = `rejected request with ${secrets}`
      return reply(400, echoed)
    }, 'rejected request'],
    ['a plain-text error page', () => reply(400, `Bad Request from proxy. ${secrets}`), 'Bad Request from proxy'],
  ] as const)('quotes %s without the bearer token or hashes in it', (_what, make, kept) => {
    const error = failure(mapReply(make(), { ...ctx, route: 'import_create' }))
    expect(error.message).toContain(kept)
    for (const secret of ['eyJhbGci', '$2b$10$nFgu']) expect(error.message).not.toContain(secret)
  })

  it("says a body was refused as a whole only when Authgear's envelope says so, not for a proxy's page", () => {
    const refused = failure(mapReply(reply(400, apiError('Invalid', 'ValidationFailed', 400)), { ...ctx, route: 'import_create' }))
    expect(refused).toBeInstanceOf(BodyRejectedError)
    expect(refused.message).toContain('the request body was rejected as a whole')
    expect(failure(mapReply(reply(400, 'Request Header Or Cookie Too Large'), { ...ctx, route: 'import_create' }))).not.toBeInstanceOf(BodyRejectedError)
    expect(failure(mapReply(reply(400, 'Request Header Or Cookie Too Large'), { ...ctx, route: 'import_create' })).message).not.toContain('rejected as a whole')
  })

  it('fails at once on UserExportDisabled, a 500 no retry will change', () => {
    const error = failure(mapReply(reply(500, apiError('InternalError', 'UserExportDisabled', 500)), { ...ctx, route: 'export_create' }))
    expect(error).toBeInstanceOf(ApiRequestError)
    expect(error.message).toContain('user export disabled')
    expect(mapReply(reply(500, apiError('InternalError', 'UnexpectedError', 500)), ctx).type).toBe('retry')
  })

  it('maps quota exhaustion to QuotaExceededError naming the period and reset', () => {
    const day = failure(mapReply(reply(429, apiError('TooManyRequest', 'UsageLimitExceeded', 429, { usage_name: 'user_import', period: 'day' })), ctx))
    expect(day).toBeInstanceOf(QuotaExceededError)
    expect((day as QuotaExceededError).period).toBe('day')
    expect(day.message).toContain('day')
    expect(day.message).toContain('2026-01-31T00:00:00.000Z')

    const month = failure(mapReply(reply(429, apiError('TooManyRequest', 'UsageLimitExceeded', 429, { period: 'month' })), ctx))
    expect(month.message).toContain('month')
    expect(month.message).toContain('2026-02-01T00:00:00.000Z')
  })

  it('retries 5xx and other 429s, carrying Retry-After', () => {
    const decision = mapReply(reply(429, apiError('TooManyRequest', 'RateLimited', 429), { retryAfter: '2' }), ctx)
    expect(decision).toMatchObject({ type: 'retry', reason: '429', retryAfterMs: 2000 })
    expect(mapReply(reply(503, 'upstream unavailable'), ctx)).toMatchObject({ type: 'retry', reason: '5xx', status: 503 })
  })

  it('maps 413 to RequestTooLargeError with the limit', () => {
    const error = failure(mapReply(reply(413, apiError('RequestEntityTooLarge', 'JSONTooLarge', 413, { limit: 500000 })), { ...ctx, route: 'import_create' }))
    expect(error).toBeInstanceOf(RequestTooLargeError)
    expect((error as RequestTooLargeError).limit).toBe(500000)
  })

  it('maps 404 TaskNotFound on a job GET to TaskNotFoundError', () => {
    const error = failure(mapReply(reply(404, apiError('NotFound', 'TaskNotFound', 404)), ctx))
    expect(error).toBeInstanceOf(TaskNotFoundError)
    expect((error as TaskNotFoundError).jobId).toBe('userimport_X')
  })

  it('explains a plain-text 404 as a wrong endpoint', () => {
    expect(failure(mapReply(reply(404, 'app not found\n'), ctx)).message).toContain('check sink.endpoint')
  })

  it('maps plain-text 403 to AuthError naming kid, audience and the clock, and JSON 403 to ApiRequestError', () => {
    const error = failure(mapReply(reply(403, 'Forbidden\n', { date: new Date(now - 120_000).toUTCString() }), ctx))
    expect(error).toBeInstanceOf(AuthError)
    expect(error.message).toContain('"kid-1"')
    expect(error.message).toContain('"myapp"')
    expect(error.message).toContain('120 s ahead of')
    expect(failure(mapReply(reply(403, apiError('Forbidden', 'Forbidden', 403)), ctx))).not.toBeInstanceOf(AuthError)
  })

  it('maps other 4xx to a non-retryable ApiRequestError carrying the body', () => {
    const error = failure(mapReply(reply(400, apiError('Invalid', 'ValidationFailed', 400, { causes: [] })), { ...ctx, route: 'import_create' }))
    expect(error).toBeInstanceOf(ApiRequestError)
    expect(error.retryable).toBe(false)
    expect((error as ApiRequestError).body?.reason).toBe('ValidationFailed')
    expect(error.message).toContain('Invalid/ValidationFailed')
  })
})
