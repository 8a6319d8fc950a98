import { OffsetTable, type OffsetTableState } from './offset-table.ts'
import { hash64 } from './string-hash.ts'

/**
 * Offset tables built over separate byte ranges of one file (by separate threads), looked up as
 * one: a key's candidates are those of every part. In unique (email) tables each part only knows
 * its own range, so the same key may be unique in two parts; the join verifies every candidate and
 * treats two verified lines as ambiguous, as one table would have marked them.
 */
export class OffsetTables {
  readonly parts: readonly OffsetTable[]

  constructor(parts: readonly OffsetTable[]) {
    this.parts = parts
  }

  static attach(states: readonly OffsetTableState[]): OffsetTables {
    return new OffsetTables(states.map((state) => new OffsetTable(state)))
  }

  get states(): OffsetTableState[] {
    return this.parts.map((part) => part.state)
  }

  get size(): number {
    return this.parts.reduce((sum, part) => sum + part.size, 0)
  }

  get bytes(): number {
    return this.parts.reduce((sum, part) => sum + part.bytes, 0)
  }

  /** Candidate offsets for `key` in every part (see `OffsetTable.lookup`). */
  lookup(key: string): number[] {
    const hi = hash64(key).hi
    const out: number[] = []
    for (let i = 0; i < this.parts.length; i++) (this.parts[i] as OffsetTable).lookupHashed(hi, out)
    return out
  }
}
