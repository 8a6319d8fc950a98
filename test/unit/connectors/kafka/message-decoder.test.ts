import { describe, expect, it } from 'vitest'
import { decodeMessage } from '../../../../connectors/kafka/message-decoder.ts'

const decode = (value: Buffer) => decodeMessage({ topic: 'users', partition: 2, offset: 9, value }, 'json')

describe('decodeMessage', () => {
  it('dead-letters a message that is not JSON with the reason, never the text around it', () => {
    for (const text of ['{"password":hunter2secret}', '{"email":"a@b.c","password_hash":$2b$10$abcdefghijklmnopqrstuv}', `${'x'.repeat(40)}{"totp":"JBSWY3DPEHPK3PXP"`]) {
      const record = decode(Buffer.from(text))
      expect(record).toMatchObject({ kind: 'unreadable', code: 'malformed_json', key: 'users/2/9' })
      const message = (record as { message: string }).message
      expect(message).toMatch(/^kafka topic users partition 2 offset 9: not JSON \(.+\)$/)
      for (const secret of ['hunter2', '$2b$10', 'abcdef', 'JBSWY3', 'password']) expect(message).not.toContain(secret)
    }
  })

  it('dead-letters a message that is not UTF-8 instead of importing it with replacement characters', () => {
    const latin1 = Buffer.concat([Buffer.from('{"email":"jose@example.com","name":"Jos'), Buffer.from([0xe9]), Buffer.from('"}')])
    expect(decode(latin1)).toMatchObject({ kind: 'unreadable', code: 'invalid_utf8', key: 'users/2/9' })
    expect(decode(Buffer.from('{"email":"jose@example.com","name":"José"}'))).toMatchObject({ kind: 'data', data: { name: 'José' } })
  })

  it('carries a published record\'s source key and origin (format: mapped), unless a hand-made message makes them longer than any a publisher writes', () => {
    const mapped = (source: unknown) => decodeMessage({ topic: 'mapped', partition: 0, offset: 3, value: Buffer.from(JSON.stringify({ identifier: 'email', source })) }, 'mapped')
    expect(mapped({ key: 'auth0|7', origin: 'users.ndjson:8' })).toMatchObject({ kind: 'data', key: 'mapped/0/3', publishedFrom: { key: 'auth0|7', origin: 'users.ndjson:8' } })
    expect(mapped({ key: 'x'.repeat(1025), origin: 'users.ndjson:8' })).not.toHaveProperty('publishedFrom')
    expect(mapped({ key: 7, origin: 'users.ndjson:8' })).not.toHaveProperty('publishedFrom')
    expect(decodeMessage({ topic: 'users', partition: 0, offset: 3, value: Buffer.from(JSON.stringify({ email: 'a@b.c', source: { key: 'k', origin: 'o' } })) }, 'json')).not.toHaveProperty('publishedFrom')
  })
})
