import { describe, expect, it } from 'vitest'
import { dropEchoedRecords } from '../../../../connectors/authgear/drop-echoed-records.ts'

/** What the reply should parse to once the echoes are gone. */
function withoutEchoes(reply: { result?: { details?: Record<string, unknown>[] } }): unknown {
  const copy = structuredClone(reply)
  for (const detail of copy.result?.details ?? []) delete detail['record']
  return copy
}

function strip(text: string): string {
  return dropEchoedRecords(Buffer.from(text)).toString('utf8')
}

const tricky = {
  email: 'a"b}c]{@example.com',
  name: 'back\\slash\\',
  nickname: '\\"quoted\\"',
  note: 'line\nbreak, "record": {"x": 1}',
  given_name: 'Zoë 名前 🙂',
  custom_attributes: { nested: [1, { deep: ['}', ']'] }], empty: {} },
  password: { type: 'bcrypt', password_hash: 'REDACTED' },
}

describe('dropEchoedRecords', () => {
  it('removes every echoed record from a completed job, wherever the key sits in its detail', () => {
    const reply = {
      result: {
        id: 'userimport_1',
        created_at: '2026-11-22T00:00:00Z',
        status: 'completed',
        summary: { total: 4, inserted: 2, updated: 0, skipped: 1, failed: 1 },
        details: [
          { index: 0, record: tricky, outcome: 'inserted', user_id: 'u0' },
          { record: { email: 'first@example.com' }, index: 1, outcome: 'skipped', warnings: [{ message: 'skipped because exists' }] },
          { index: 2, outcome: 'failed', errors: [{ name: 'Invalid', reason: 'ValidationFailed', message: 'invalid value', code: 400, info: { causes: [{ location: '/record', kind: 'required' }] } }], record: { phone_number: '+1' } },
          { record: { preferred_username: 'only' } },
        ],
      },
    }
    const text = JSON.stringify(reply)
    const stripped = strip(text)
    expect(JSON.parse(stripped)).toEqual(withoutEchoes(reply))
    expect(stripped).not.toContain('first@example.com')
  })

  it('handles replies laid out with whitespace', () => {
    const reply = { result: { id: 'j', status: 'completed', details: [{ index: 0, record: tricky, outcome: 'inserted' }, { record: tricky, index: 1, outcome: 'inserted' }] } }
    const stripped = strip(JSON.stringify(reply, null, 2).replace(/\n/g, '\r\n'))
    expect(JSON.parse(stripped)).toEqual(withoutEchoes(reply))
  })

  it('keeps a record key that is not a detail echo', () => {
    const reply = { result: { id: 'j', status: 'completed', record: { kept: true }, details: [{ index: 0, outcome: 'inserted', errors: [{ record: 'kept too' }] }] }, record: 'top level' }
    expect(JSON.parse(strip(JSON.stringify(reply)))).toEqual(reply)
  })

  it('keeps the JSON valid when a detail repeats the record key', () => {
    for (const detail of ['{"record":1,"record":2,"index":0}', '{"index":0,"record":1,"record":2}', '{"record":1,"index":0,"record":2,"outcome":"inserted"}', '{"record":1,"record":2}']) {
      const stripped = strip(`{"result":{"details":[${detail}]}}`)
      const parsed = JSON.parse(stripped) as { result: { details: Record<string, unknown>[] } }
      expect(parsed.result.details[0]).not.toHaveProperty('record')
    }
  })

  it('returns other bodies unchanged', () => {
    for (const text of [
      '{"result":{"id":"userimport_1","created_at":"2026-11-22T00:00:00Z","status":"pending"}}',
      '{"error":{"name":"NotFound","reason":"TaskNotFound","message":"task not found","code":404}}',
      'forbidden',
      '',
      '{"result":{"details":[{"index":0,"record":{"email":"cut short',
      '{"result":{"details":[{"index":0,"record":}]}}',
      '{"result":{"details":"not an array"}}',
      '{"result":{"details":[1,2,3]}}',
      '{"result":{"details":{"a":{"index":0,"record":{"email":"x@example.com"}}}}}',
    ]) {
      const body = Buffer.from(text)
      expect(dropEchoedRecords(body)).toBe(body)
    }
  })

  it('agrees with parsing and deleting on generated replies', () => {
    let seed = 7
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const alphabet = ['a', 'Z', '"', '\\', '{', '}', '[', ']', ',', ':', ' ', 'é', '🙂', '\n', '\u0000']
    const text = (): string => Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')
    const value = (depth: number): unknown => {
      const kind = Math.floor(random() * (depth > 2 ? 4 : 6))
      if (kind === 0) return text()
      if (kind === 1) return Math.floor(random() * 1e6) / 100 - 50
      if (kind === 2) return random() < 0.5
      if (kind === 3) return null
      if (kind === 4) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1))
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [text(), value(depth + 1)]))
    }
    for (let n = 0; n < 300; n++) {
      const details = Array.from({ length: Math.floor(random() * 5) }, (_, index) => {
        const fields: [string, unknown][] = [['index', index], ['outcome', 'inserted'], ['record', value(0)]]
        fields.sort(() => random() - 0.5)
        return Object.fromEntries(fields)
      })
      const reply = { result: { id: 'j', status: 'completed', details } }
      expect(JSON.parse(strip(JSON.stringify(reply)))).toEqual(withoutEchoes(reply))
    }
  })
})
