import { describe, expect, it } from 'vitest'
import { scanHashLine } from '../../../../connectors/auth0/hash-line-scanner.ts'
import { parseHashRecord } from '../../../../connectors/auth0/hash-record.ts'

const lines = [
  '{"_id":{"$oid":"3b7cf3c25632b92409d3fb64"},"alt_id":"legacy-0","email_verified":true,"email":"Ana.Sato0@Example.com","passwordHash":"$2b$10$p65q4z5FA1Q2e5rIp6G8IWFXSoegCx0PIR3QHnhSFHCRpnFefLwO9","password_set_date":{"$date":"2019-01-01T00:00:58.863Z"},"tenant":"acme-prod","connection":"Username-Password-Authentication","_tmp_is_unique":true}',
  '\uFEFF{"_ID":{"$oid":"abc"}, "email" : "z\\u00fc@example.com", "passwordHash":"", "password_set_date":{"$date":1546300858863}}',
  '{ "_id" : "plain-id", "_ID": {"$oid": "other"}, "alt_id": "", "connection": 7, "nested": {"a": [1, {"b": "}"}], "c": "\\"x"}, "n": -1.5e3, "m": null }',
  '{"email":"é@exämple.com","passwordHash":"h","password_set_date":"2020-01-01"}\r',
  '{"_id":{"$oid":""},"email":""}',
  '{}',
  '  ',
  '[1,2]',
  '"text"',
  '{"_id":{"$oid":"x"}',
  '{"_id":{"$oid":"x"}} trailing',
  '{"email":"a@b.c","x":tru}',
  '{"email":"a@b.c",}',
  '{"email":"a@b.c" "x":1}',
  '{"em\\u0061il":"escaped-key@example.com"}',
  '{"email":"dup1@example.com","email":"dup2@example.com"}',
]

describe('scanHashLine', () => {
  it.each(lines)('reads %s exactly as a full parse does', (line) => {
    const bytes = Buffer.from(`xx${line}\n`, 'utf8')
    const end = bytes.length - 1
    expect(scanHashLine(bytes, 2, end)).toEqual(parseHashRecord(bytes.toString('utf8', 2, end)))
  })
})
