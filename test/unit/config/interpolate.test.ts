import { describe, expect, it } from 'vitest'
import { interpolate, type MissingVariable } from '../../../src/config/interpolate.ts'

describe('interpolate', () => {
  it('substitutes variables, defaults and the $${ escape', () => {
    const missing: MissingVariable[] = []
    const env = { HOST: 'db', EMPTY: '' }
    expect(interpolate('${HOST}:${PORT:-5432} ${EMPTY:-x} $${HOST}', env, missing)).toBe('db:5432 x ${HOST}')
    expect(missing).toEqual([])
  })

  it('reports unset variables without a default', () => {
    const missing: MissingVariable[] = []
    interpolate('key: ${SECRET}', {}, missing)
    expect(missing).toEqual([{ name: 'SECRET' }])
  })

  it('takes only variables that are set, never a name every object inherits', () => {
    const missing: MissingVariable[] = []
    expect(interpolate('${toString}/${constructor:-c}', { ...process.env }, missing)).toBe('/c')
    expect(missing).toEqual([{ name: 'toString' }])
    expect(interpolate('${HOME}', process.env, [])).toBe(process.env['HOME'])
  })
})
