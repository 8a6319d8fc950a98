import { describe, expect, it } from 'vitest'
import { parseReply } from '../../../../connectors/authgear/envelope.ts'

const excerpt = (text: string): string => {
  const reply = parseReply(text)
  if (reply.kind !== 'plain') throw new Error(`not plain: ${reply.kind}`)
  return reply.text
}

describe('parseReply, plain text', () => {
  it('takes a proxy\'s echoed headers out before it makes the page one line', () => {
    const page = 'HTTP 502 Bad Gateway\nX-Api-Key: k-3f9a8b7c6d5e4f3a2b1c\nproxy-authorization: Basic dXNlcjpodW50ZXIy\ncookie: session=abcdef0123456789abcdef'
    const text = excerpt(page)
    for (const secret of ['k-3f9a8b7c6d5e4f3a2b1c', 'dXNlcjpodW50ZXIy', 'abcdef0123456789abcdef']) expect(text).not.toContain(secret)
    expect(text).toMatch(/^HTTP 502 Bad Gateway X-Api-Key: REDACTED/)
  })

  it('leaves out a page that echoes a secret percent-encoded or HTML-escaped', () => {
    const body = JSON.stringify({ email: 'a@b.co', mfa_factors: [{ totp: { secret: 'JBSWY3DPEHPK3PXP' } }] })
    expect(excerpt(`Request rejected: body=${encodeURIComponent(body)}`)).toBe('(the reply quotes, encoded, what looks like a secret: left out)')
    expect(excerpt(`<p>Request rejected: ${body.replace(/"/g, '&quot;')}</p>`)).toBe('(the reply quotes, encoded, what looks like a secret: left out)')
    // A secret in clear on an encoded page is redacted, the page kept.
    expect(excerpt('Bad Gateway &amp; retry later. Authorization: Bearer abcdefghijklmnop')).toBe('Bad Gateway &amp; retry later. Authorization: Bearer REDACTED')
    // An encoded page without one is quoted as it was.
    expect(excerpt('Bad request: path=%2F_api%2Fadmin%2Fusers%2Fimport')).toBe('Bad request: path=%2F_api%2Fadmin%2Fusers%2Fimport')
  })
})
