import { describe, expect, it } from 'vitest'
import { parseJsonBody } from '../../../src/emulator/json-body.ts'
import { findJsonSyntaxProblem } from '../../../src/emulator/json-syntax.ts'

const scan = (text: string) => findJsonSyntaxProblem(Buffer.from(text))

describe('JSON body decoding', () => {
  it('reports Go scanner messages with the offset after the bad byte', () => {
    expect(scan('x')).toEqual({ kind: 'syntax', message: "invalid character 'x' looking for beginning of value", offset: 1 })
    expect(scan('{"a" 1}')).toEqual({ kind: 'syntax', message: "invalid character '1' after object key", offset: 6 })
    expect(scan('{"a":1 "b"}')).toEqual({ kind: 'syntax', message: `invalid character '"' after object key:value pair`, offset: 8 })
    expect(scan('[1,]')).toMatchObject({ message: "invalid character ']' looking for beginning of value", offset: 4 })
    expect(scan('{"a":tru}')).toMatchObject({ message: "invalid character '}' in literal true (expecting 'e')" })
    expect(scan('"a\nb"')).toMatchObject({ message: "invalid character '\\n' in string literal", offset: 3 })
    expect(scan('{\'a\':1}')).toMatchObject({ message: "invalid character '\\'' looking for beginning of object key string" })
  })

  it('tells truncated, empty and trailing texts apart', () => {
    expect(scan('{"records": [')).toEqual({ kind: 'truncated' })
    expect(scan('"abc')).toEqual({ kind: 'truncated' })
    expect(scan('  ')).toEqual({ kind: 'empty' })
    expect(scan('{} x')).toEqual({ kind: 'trailing', end: 2 })
  })

  it('maps problems to Authgear errors', () => {
    expect(parseJsonBody(Buffer.from('{"a":1}'))).toEqual({ ok: true, value: { a: 1 } })
    expect(parseJsonBody(Buffer.from('{"a":1} garbage'))).toEqual({ ok: true, value: { a: 1 } })
    const truncated = parseJsonBody(Buffer.from('{"a":'))
    expect(truncated.ok || truncated.error).toMatchObject({ code: 500, reason: 'UnexpectedError' })
    const bad = parseJsonBody(Buffer.from('{"a":x}'))
    expect(bad.ok || bad.error).toMatchObject({ code: 400, reason: 'InvalidJSON', info: { byte_offset: 6 } })
  })
})
