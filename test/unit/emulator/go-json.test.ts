import { describe, expect, it } from 'vitest'
import { sortKeysDeep } from '../../../src/emulator/go-json.ts'

describe('Go-style JSON', () => {
  it('sorts keys at every level and keeps a __proto__ key as a field, as Go keeps any map key', () => {
    const value = JSON.parse('{"b":1,"address":{"__proto__":"x","a":[{"d":1,"c":2}]}}')
    expect(JSON.stringify(sortKeysDeep(value))).toBe('{"address":{"__proto__":"x","a":[{"c":2,"d":1}]},"b":1}')
  })
})
