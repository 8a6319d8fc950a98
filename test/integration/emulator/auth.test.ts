import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateAdminKey } from '../../../src/emulator/keys.ts'
import { SignJWT } from 'jose'
import { createPrivateKey } from 'node:crypto'
import { startHarness, type Harness } from './harness.ts'

const now = () => Math.floor(Date.now() / 1000)
const body = JSON.stringify({ identifier: 'email', records: [{ email: 'a@example.com' }] })

async function expectForbidden(h: Harness, authorization: string | null, payload = body): Promise<void> {
  const res = await h.call('POST', '/_api/admin/users/import', { authorization, body: payload })
  expect(res.status).toBe(403)
  expect(res.text).toBe('Forbidden\n')
  expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
}

describe('Admin API JWT (default 300 s skew)', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(() => h.close())

  it('accepts a valid token, with aud as a string or an array containing the project id', async () => {
    for (const aud of ['myapp', ['other', 'myapp']]) {
      const res = await h.call('GET', '/_api/admin/users/import/userimport_X', { authorization: `Bearer ${await h.token({ aud })}` })
      expect(res.status).toBe(404)
    }
  })

  it('answers a plain 403 for every token problem, before looking at the body', async () => {
    await expectForbidden(h, null)
    await expectForbidden(h, `bearer ${await h.token()}`)
    await expectForbidden(h, `Bearer  ${await h.token()}`)
    await expectForbidden(h, `Bearer ${await h.token({ aud: 'otherapp' })}`)
    await expectForbidden(h, `Bearer ${await h.token({ aud: undefined })}`)
    await expectForbidden(h, `Bearer ${await h.token({}, { kid: 'not-the-key' })}`)
    await expectForbidden(h, `Bearer ${await h.token({ exp: now() - 301 })}`)
    await expectForbidden(h, `Bearer ${await h.token({ iat: now() + 301 })}`)
    await expectForbidden(h, 'Bearer not.a.jwt')
    // Signed with another key under the right kid.
    const other = await generateAdminKey()
    const forged = await new SignJWT({ aud: 'myapp', iat: now(), exp: now() + 60 })
      .setProtectedHeader({ alg: 'RS256', kid: h.key.keyId })
      .sign(createPrivateKey(other.privateKeyPem))
    await expectForbidden(h, `Bearer ${forged}`)
    // Without a kid, even when signed by the only key.
    const noKid = await new SignJWT({ aud: 'myapp', iat: now(), exp: now() + 60 }).setProtectedHeader({ alg: 'RS256' }).sign(h.privateKey)
    await expectForbidden(h, `Bearer ${noKid}`)
    // Auth comes before the content type and the body.
    const res = await h.call('POST', '/_api/admin/users/import', { authorization: null, body: 'not json', contentType: 'text/plain' })
    expect(res.status).toBe(403)
  })

  it('tolerates clocks 5 minutes apart', async () => {
    const ok = await h.call('GET', '/_api/admin/users/import/userimport_X', {
      authorization: `Bearer ${await h.token({ iat: now() + 200, exp: now() - 200 })}`,
    })
    expect(ok.status).toBe(404)
  })
})

describe('Admin API JWT with zero skew (servers before 2026-05-22)', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ clock_skew_seconds: 0 })
  })
  afterAll(() => h.close())

  it('refuses an iat slightly in the future or an exp just passed', async () => {
    await expectForbidden(h, `Bearer ${await h.token({ iat: now() + 20 })}`)
    await expectForbidden(h, `Bearer ${await h.token({ exp: now() - 2 })}`)
    const ok = await h.call('POST', '/_api/admin/users/import', { authorization: `Bearer ${await h.token()}`, body })
    expect(ok.status).toBe(200)
  })
})

describe('auth: none', () => {
  it('lets requests through without a token', async () => {
    const h = await startHarness({ auth: 'none' })
    try {
      const res = await h.call('POST', '/_api/admin/users/import', { authorization: null, body })
      expect(res.status).toBe(200)
    } finally {
      await h.close()
    }
  })
})
