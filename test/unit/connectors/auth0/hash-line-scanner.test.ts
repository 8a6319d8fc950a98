import { describe, expect, it } from 'vitest'
import { createKeySpans, scanHashKeys } from '../../../../connectors/auth0/hash-line-scanner.ts'
import { parseHashRecord } from '../../../../connectors/auth0/hash-record.ts'

/** Each line, and whether the index build may read its keys from the bytes (else it parses the line). */
const lines: [string, boolean][] = [
  ['{"_id":{"$oid":"3b7cf3c25632b92409d3fb64"},"alt_id":"legacy-0","email_verified":true,"email":"Ana.Sato0@Example.com","passwordHash":"$2b$10$p65q4z5FA1Q2e5rIp6G8IWFXSoegCx0PIR3QHnhSFHCRpnFefLwO9","password_set_date":{"$date":"2019-01-01T00:00:58.863Z"},"tenant":"acme-prod","connection":"Username-Password-Authentication","_tmp_is_unique":true}', true],
  ['{"_ID":{"$oid":"abc"},"email":"b@example.com","nested":{"a":[1,{"b":"}"}],"c":"\\"x"},"n":-1.5e3,"m":null}', true],
  ['{"_id":{"$oid":""},"email":""}', true],
  ['{}', true],
  ['{"email":"dup1@example.com","email":"dup2@example.com"}', true],
  ['{ "_id" : "plain-id" , "connection": 7 }\r', true],
  ['\uFEFF{"_ID":{"$oid":"abc"}, "email" : "z\\u00fc@example.com"}', false],
  ['{"_id":{"$oid": "spaced"}}', false],
  ['{"email":"é@exämple.com","passwordHash":"h"}', false],
  ['{"email":"z\\u00fc@example.com"}', false],
  ['{"em\\u0061il":"escaped-key@example.com"}', false],
  ['  ', false],
  ['[1,2]', false],
  ['"text"', false],
  ['{"_id":{"$oid":"x"}', false],
  ['{"_id":{"$oid":"x"}} trailing', false],
  ['{"email":"a@b.c","x":tru}', false],
  ['{"email":"a@b.c",}', false],
  ['{"email":"a@b.c" "x":1}', false],
]

describe('scanHashKeys', () => {
  it.each(lines)('reads the keys of %s as a full parse does, or leaves the line to it', (line, fast) => {
    const bytes = Buffer.from(`xx${line}\n`, 'utf8')
    const end = bytes.length - 1
    const spans = createKeySpans()
    expect(scanHashKeys(bytes, 2, end, spans)).toBe(fast)
    if (!fast) return
    const text = (slot: number): string | undefined => ((spans[slot] as number) >= 0 && (spans[slot + 1] as number) > (spans[slot] as number) ? bytes.toString('latin1', spans[slot], spans[slot + 1]) : undefined)
    const parsed = parseHashRecord(bytes.toString('utf8', 2, end))
    expect([text(0), text(2), text(4)].filter((id) => id !== undefined)).toEqual(parsed?.ids)
    expect(text(6)?.toLowerCase()).toEqual(parsed?.email)
  })
})
