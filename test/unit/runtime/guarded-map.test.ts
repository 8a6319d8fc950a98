import { describe, expect, it } from 'vitest'
import { mapGuarded } from '../../../src/runtime/guarded-map.ts'

const record = { kind: 'data', key: 'k', origin: 'users id=1', data: {} } as const

describe('mapGuarded', () => {
  it('turns whatever a mapping throws into that record\'s mapping_error, even a value that cannot become text', () => {
    const throwing = (value: unknown) => () => {
      throw value
    }
    expect(mapGuarded(throwing(new Error('boom')), record)).toEqual({ ok: false, rejection: { code: 'mapping_error', message: 'mapping failed on users id=1: boom' } })
    expect(mapGuarded(throwing('text'), record)).toMatchObject({ rejection: { message: 'mapping failed on users id=1: text' } })
    expect(mapGuarded(throwing(Object.create(null)), record)).toMatchObject({ rejection: { message: 'mapping failed on users id=1: a thrown value that cannot be shown as text' } })
    expect(mapGuarded(throwing({ toString: () => { throw new Error('no') } }), record)).toMatchObject({ rejection: { code: 'mapping_error' } })
    expect(mapGuarded(() => ({ ok: false, rejection: { code: 'x', message: 'y' } }), record)).toEqual({ ok: false, rejection: { code: 'x', message: 'y' } })
  })
})
