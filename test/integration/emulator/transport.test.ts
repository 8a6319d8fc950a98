import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { startHarness, type Harness } from './harness.ts'

const path = '/_api/admin/users/import'

describe('import request transport rules', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(() => h.close())

  it('answers 413 JSONTooLarge above 500,000 bytes and accepts exactly 500,000', async () => {
    const make = (size: number) => {
      const head = '{"identifier":"email","records":[{"email":"a@example.com","name":"'
      const tail = '"}]}'
      return head + 'x'.repeat(size - head.length - tail.length) + tail
    }
    const big = await h.call('POST', path, { body: make(500_001) })
    expect(big.status).toBe(413)
    expect(big.json).toEqual({
      error: { name: 'RequestEntityTooLarge', reason: 'JSONTooLarge', message: 'request body too large', code: 413, info: { limit: 500000 } },
    })
    const fits = await h.call('POST', path, { body: make(500_000) })
    expect(fits.status).toBe(200)
  })

  it('answers 413 for a chunked body without Content-Length too', async () => {
    async function* chunks() {
      yield '{"identifier":"email","records":[{"email":"a@example.com","name":"'
      for (let i = 0; i < 60; i++) yield 'y'.repeat(10_000)
      yield '"}]}'
    }
    const res = await request(`${h.emulator.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await h.token()}`, 'content-type': 'application/json' },
      body: Readable.from(chunks()),
    })
    expect(res.statusCode).toBe(413)
    expect(((await res.body.json()) as { error: { reason: string } }).error.reason).toBe('JSONTooLarge')
  })

  it('answers 415 plain text for a non-JSON media type and 400 for one the binder refuses', async () => {
    const text = await h.call('POST', path, { body: '{}', contentType: 'text/plain' })
    expect(text.status).toBe(415)
    expect(text.text).toBe('invalid content type: text/plain\n')
    const missing = await h.call('POST', path, { body: '{}', contentType: null })
    expect(missing.status).toBe(415)
    const graphql = await h.call('POST', path, { body: '{}', contentType: 'application/graphql' })
    expect(graphql.status).toBe(400)
    expect(graphql.json.error).toEqual({ name: 'BadRequest', reason: 'BadRequest', message: 'request content type is invalid', code: 400 })
    const charset = await h.call('POST', path, {
      body: JSON.stringify({ identifier: 'email', records: [{ email: 'c@example.com' }] }),
      contentType: 'application/json; charset=utf-8',
    })
    expect(charset.status).toBe(200)
  })

  it('answers 400 InvalidJSON with the byte offset, and 500 for a truncated body', async () => {
    const bad = await h.call('POST', path, { body: '{"identifier": x}' })
    expect(bad.status).toBe(400)
    expect(bad.json.error).toEqual({
      name: 'BadRequest',
      reason: 'InvalidJSON',
      message: "invalid character 'x' looking for beginning of value",
      code: 400,
      info: { byte_offset: 16 },
    })
    const truncated = await h.call('POST', path, { body: '{"identifier": "email", "records": [' })
    expect(truncated.status).toBe(500)
    expect(truncated.json.error.reason).toBe('UnexpectedError')
    const empty = await h.call('POST', path, { body: '' })
    expect(empty.status).toBe(400)
    expect(empty.json.error.reason).toBe('InvalidJSON')
  })

  it('reports request schema errors sorted by location', async () => {
    const res = await h.call('POST', path, { body: JSON.stringify({ identifier: 'foobar', records: [], users: [] }) })
    expect(res.status).toBe(400)
    expect(res.json).toEqual({
      error: {
        name: 'Invalid',
        reason: 'ValidationFailed',
        message: 'invalid request body',
        code: 400,
        info: {
          causes: [
            { location: '/identifier', kind: 'enum', details: { actual: 'foobar', expected: ['preferred_username', 'email', 'phone_number'] } },
            { location: '/records', kind: 'minItems', details: { actual: 0, expected: 1 } },
            { location: '/users', kind: '' },
          ],
        },
      },
    })
    const missing = await h.call('POST', path, { body: JSON.stringify({ records: ['x'] }) })
    expect(missing.json.error.info.causes).toEqual([
      { location: '', kind: 'required', details: { actual: ['records'], expected: ['identifier', 'records'], missing: ['identifier'] } },
      { location: '/records/0', kind: 'type', details: { actual: ['string'], expected: ['object'] } },
    ])
  })

  it('answers 405 for a wrong method and 404 for an unknown path', async () => {
    const wrong = await h.call('PUT', path, { body: '{}' })
    expect(wrong.status).toBe(405)
    const unknown = await h.call('GET', '/_api/admin/nothing')
    expect(unknown.status).toBe(404)
  })
})

describe('usage quota', () => {
  it('reserves records at POST and answers 429 UsageLimitExceeded once the day is used up', async () => {
    const h = await startHarness({ quota: { user_import: [{ quota: 150, period: 'day' }, { quota: 10_000, period: 'month' }] } })
    try {
      const records = (n: number, p: string) => Array.from({ length: n }, (_, i) => ({ email: `${p}${i}@example.com` }))
      expect((await h.importUsers({ identifier: 'email', records: records(100, 'a') })).status).toBe(200)
      const over = await h.importUsers({ identifier: 'email', records: records(51, 'b') })
      expect(over.status).toBe(429)
      expect(over.json).toEqual({
        error: {
          name: 'TooManyRequest',
          reason: 'UsageLimitExceeded',
          message: 'usage limit exceeded',
          code: 429,
          info: { name: 'UserImport', period: 'day', usage_name: 'user_import' },
        },
      })
      expect((await h.importUsers({ identifier: 'email', records: records(50, 'c') })).status).toBe(200)
      expect(h.emulator.jobs.jobsCreated).toBe(2)
    } finally {
      await h.close()
    }
  })

  it('picks the project by Host: any other host gets 404 plain-text "app not found" before the JWT is looked at', async () => {
    const h = await startHarness({ hosts: ['myapp.authgear.cloud', 'localhost:4000', '::1'] })
    try {
      const send = async (host: string, authorization: string) => {
        const res = await request(`${h.emulator.url}${path}`, {
          method: 'POST',
          headers: { host, authorization, 'content-type': 'application/json' },
          body: JSON.stringify({ identifier: 'email', records: [{ email: 'host@example.com' }] }),
        })
        return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
      }
      const token = `Bearer ${await h.token()}`
      const unknown = await send('127.0.0.1', token)
      expect(unknown.status).toBe(404)
      expect(unknown.text).toBe('app not found\n')
      expect(unknown.headers['content-type']).toBe('text/plain; charset=utf-8')
      // The project is resolved first: a bad token on an unknown host is still "app not found".
      expect((await send('other.example', 'Bearer nope')).status).toBe(404)
      expect((await send('localhost:4001', token)).status).toBe(404)
      expect((await send('MyApp.Authgear.Cloud:8443', token)).status).toBe(200)
      expect((await send('localhost:4000', token)).status).toBe(200)
      expect((await send('[::1]:3000', token)).status).toBe(200)
      expect((await send('myapp.authgear.cloud', 'Bearer nope')).status).toBe(403)
    } finally {
      await h.close()
    }
  })

  it('puts the security headers of Authgear\'s middleware on every reply', async () => {
    const h = await startHarness()
    try {
      for (const reply of [await h.call('GET', '/_api/admin/users/import/nope'), await h.call('GET', '/nowhere'), await h.call('POST', path, { body: '{}', authorization: null })]) {
        expect(reply.headers).toMatchObject({ 'cache-control': 'no-store', pragma: 'no-cache', 'x-content-type-options': 'nosniff', 'x-frame-options': 'deny', 'x-robots-tag': 'none' })
      }
    } finally {
      await h.close()
    }
  })
})
