import { describe, expect, it } from 'vitest'
import { maxOffsetsPerKey, OffsetTable } from '../../../../connectors/auth0/offset-table.ts'

describe('OffsetTable', () => {
  it('keeps at most maxOffsetsPerKey offsets of one key in a multimap, and every other key whole', () => {
    const table = new OffsetTable({ expectedKeys: 200_000, maxOffset: 1 << 30, unique: false })
    // Lines of a hash export that all carry one id: each further copy walked every copy before it.
    for (let line = 0; line < 100_000; line++) table.add('dupdupdup', line * 100)
    for (let key = 0; key < 1000; key++) table.add(`id${key}`, 10_000_000 + key)
    expect(table.lookup('dupdupdup')).toEqual(Array.from({ length: maxOffsetsPerKey }, (_, i) => i * 100))
    expect(table.droppedCopies).toBe(100_000 - maxOffsetsPerKey)
    for (let key = 0; key < 1000; key++) expect(table.lookup(`id${key}`)).toContain(10_000_000 + key)
    // A key in a few connections keeps all its offsets.
    table.add('twice', 7)
    table.add('twice', 8)
    expect(table.lookup('twice').sort()).toEqual([7, 8])
  })
})
