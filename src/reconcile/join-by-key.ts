import type { SortedEntry } from './sorted-entry.ts'

/** The source side of one key, reduced as it streams by: how many versions, the last, the last that is not a delete. */
export interface SourceVersions {
  readonly count: number
  readonly last: string | undefined
  readonly lastKept: string | undefined
}

/**
 * Merge-joins two streams sorted by key into one group per key. The source side of each key is
 * reduced to `SourceVersions` as it is read (a topic can hold a million versions of one user, and
 * only the last, and the last that is not a delete, decide the verdict); the Authgear side keeps
 * its entries (login IDs are unique there: one). `isDelete` tells a delete from a version.
 */
export async function* joinLatestByKey(
  source: AsyncIterable<SortedEntry>,
  authgear: AsyncIterable<SortedEntry>,
  isDelete: (json: string) => boolean,
  /** An entry that is no version of a user (a login ID left for another): last if it comes last, never counted or kept. */
  isMarker: (json: string) => boolean = () => false,
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
        last = x.value.json
        if (!isMarker(last)) {
          count++
          if (!isDelete(last)) lastKept = last
        }
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
