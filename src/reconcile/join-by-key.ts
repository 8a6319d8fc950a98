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

/** The source side of one key, reduced as it streams by: how many versions, the last, the last that is not a delete. */
export interface SourceVersions {
  readonly count: number
  readonly last: string | undefined
  readonly lastKept: string | undefined
}

/**
 * As `joinByKey`, but the source side of each key is reduced to `SourceVersions` as it is read: a
 * topic can hold a million versions of one user, and only the last (and the last that is not a
 * delete) decide the verdict. `isDelete` tells a delete from a version.
 */
export async function* joinLatestByKey(
  source: AsyncIterable<SortedEntry>,
  authgear: AsyncIterable<SortedEntry>,
  isDelete: (json: string) => boolean,
): AsyncGenerator<{ readonly key: string; readonly source: SourceVersions; readonly authgear: readonly SortedEntry[] }> {
  const a = source[Symbol.asyncIterator]()
  const b = authgear[Symbol.asyncIterator]()
  let x = await a.next()
  let y = await b.next()
  try {
    while (!x.done || !y.done) {
      const key = x.done ? y.value!.key : y.done ? x.value.key : x.value.key < y.value.key ? x.value.key : y.value.key
      let count = 0
      let last: string | undefined
      let lastKept: string | undefined
      while (!x.done && x.value.key === key) {
        count++
        last = x.value.json
        if (!isDelete(last)) lastKept = last
        x = await a.next()
      }
      const right: SortedEntry[] = []
      while (!y.done && y.value.key === key) {
        right.push(y.value)
        y = await b.next()
      }
      yield { key, source: { count, last, lastKept }, authgear: right }
    }
  } finally {
    await a.return?.(undefined)
    await b.return?.(undefined)
  }
}
