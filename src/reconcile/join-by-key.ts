import type { SortedEntry } from './sorted-entry.ts'

/** All entries of one key from both sides (either side may be empty). */
export interface KeyGroup {
  readonly key: string
  readonly source: readonly SortedEntry[]
  readonly authgear: readonly SortedEntry[]
}

/**
 * Merge-joins two streams sorted by key into one group per key. Holds only the entries of the
 * current key, so memory does not grow with the streams.
 */
export async function* joinByKey(source: AsyncIterable<SortedEntry>, authgear: AsyncIterable<SortedEntry>): AsyncGenerator<KeyGroup> {
  const a = source[Symbol.asyncIterator]()
  const b = authgear[Symbol.asyncIterator]()
  let x = await a.next()
  let y = await b.next()
  try {
    while (!x.done || !y.done) {
      const key = x.done ? y.value!.key : y.done ? x.value.key : x.value.key < y.value.key ? x.value.key : y.value.key
      const left: SortedEntry[] = []
      const right: SortedEntry[] = []
      while (!x.done && x.value.key === key) {
        left.push(x.value)
        x = await a.next()
      }
      while (!y.done && y.value.key === key) {
        right.push(y.value)
        y = await b.next()
      }
      yield { key, source: left, authgear: right }
    }
  } finally {
    await a.return?.(undefined)
    await b.return?.(undefined)
  }
}
