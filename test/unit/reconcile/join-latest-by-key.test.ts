import { describe, expect, it } from 'vitest'
import { joinLatestByKey } from '../../../src/reconcile/join-by-key.ts'
import type { SortedEntry } from '../../../src/reconcile/sorted-entry.ts'

async function* entries(list: [string, string][]): AsyncGenerator<SortedEntry> {
  for (const [key, json] of list) yield { key, json } as SortedEntry
}

describe('joinLatestByKey', () => {
  it('keeps, per key, the count of source versions, the last, and the last that is not a delete', async () => {
    const versions: [string, string][] = Array.from({ length: 100_000 }, (_, i) => ['email:a', `{"id":"a","fields":{"n":${i}}}`])
    versions.push(['email:a', '{"id":"a","deleted":true}'], ['email:b', '{"id":"b","fields":{}}'])
    const groups = []
    for await (const group of joinLatestByKey(entries(versions), entries([['email:b', '{"id":"u1"}'], ['email:c', '{"id":"u2"}']]), (json) => json.endsWith('"deleted":true}'))) groups.push(group)
    expect(groups).toEqual([
      { key: 'email:a', source: { count: 100_001, last: '{"id":"a","deleted":true}', lastKept: '{"id":"a","fields":{"n":99999}}' }, authgear: [] },
      { key: 'email:b', source: { count: 1, last: '{"id":"b","fields":{}}', lastKept: '{"id":"b","fields":{}}' }, authgear: [{ key: 'email:b', json: '{"id":"u1"}' }] },
      { key: 'email:c', source: { count: 0, last: undefined, lastKept: undefined }, authgear: [{ key: 'email:c', json: '{"id":"u2"}' }] },
    ])
  })
})
