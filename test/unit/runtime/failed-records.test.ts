import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readFailedRecords } from '../../../src/runtime/failed-records.ts'
import { planRetry, refuseRetryOf } from '../../../src/cli/retry-failed.ts'
import { CheckpointStore } from '../../../src/runtime/checkpoint-store.ts'
import { ConfigError } from '../../../src/core/errors.ts'

let dir: string | undefined
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

async function report(lines: readonly (object | string)[]): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'gb-failed-'))
  const path = join(dir, 'test.report.ndjson')
  await writeFile(path, lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n'))
  return path
}

const failedIn = async (lines: readonly (object | string)[], span = {}) => (await readFailedRecords(await report(lines), span))!

describe('readFailedRecords', () => {
  it('keeps the keys whose last outcome is failed or rejected', async () => {
    const failed = await failedIn([
      { source_key: 'a', origin: 'u.ndjson:1', outcome: 'failed' },
      { source_key: 'b', origin: 'u.ndjson:2', outcome: 'rejected' },
      { source_key: 'c', origin: 'u.ndjson:3', outcome: 'inserted' },
      { source_key: 'a', origin: 'u.ndjson:1', outcome: 'skipped' },
      { source_key: 'c', origin: 'u.ndjson:3', outcome: 'failed' },
      { source_key: 'd', origin: 'u.ndjson:4', outcome: 'superseded' },
      { source_key: 'e', origin: 'users id=5', outcome: 'failed' },
    ])
    expect(failed.size).toBe(3)
    expect(failed.has('a', 'u.ndjson:1')).toBe(false)
    expect(failed.has('b', 'elsewhere:9')).toBe(true)
    expect(failed.has('c', 'u.ndjson:3')).toBe(true)
    expect(failed.has('d', 'u.ndjson:4')).toBe(false)
    expect(failed.has('e', 'users id=5')).toBe(true)
  })

  it('judges a user by the version the source gives last, whatever order the outcomes came in', async () => {
    // The newer version (line 3) was refused by the mapping at once; the older one imported later.
    const newerRefused = await failedIn([
      { source_key: 'c1', origin: 'u.ndjson:3', outcome: 'rejected' },
      { source_key: 'c1', origin: 'u.ndjson:1', outcome: 'inserted' },
    ])
    expect(newerRefused.has('c1', 'u.ndjson:1')).toBe(true)
    const olderRefused = await failedIn([
      { source_key: 'c1', origin: 'u.ndjson:3', outcome: 'inserted' },
      { source_key: 'c1', origin: 'u.ndjson:1', outcome: 'rejected' },
    ])
    expect(olderRefused.size).toBe(0)
    // Files are read in name order.
    const acrossFiles = await failedIn([
      { source_key: 'c1', origin: 'b.ndjson:1', outcome: 'failed' },
      { source_key: 'c1', origin: 'a.ndjson:9', outcome: 'inserted' },
    ])
    expect(acrossFiles.size).toBe(1)
  })

  it('lets a retry\'s lines replace the earlier runs\' for the keys it read, even at another line', async () => {
    const lines = [
      { source_key: 'm', origin: 'u.ndjson:5', outcome: 'rejected' },
      { source_key: 'n', origin: 'u.ndjson:6', outcome: 'rejected' },
    ]
    const path = await report([...lines, { source_key: 'm', origin: 'u.ndjson:4', outcome: 'inserted' }])
    const retryStart = Buffer.byteLength(lines.map((line) => JSON.stringify(line)).join('\n') + '\n')
    const failed = (await readFailedRecords(path, { retries: { starts: [retryStart], complete: [1] } }))!
    expect(failed.has('m', 'u.ndjson:4')).toBe(false)
    expect(failed.size).toBe(1)
    // A retry that stopped partway adds to the story: line 5 still comes after line 4.
    expect((await readFailedRecords(path, { retries: { starts: [retryStart] } }))!.has('m', 'u.ndjson:4')).toBe(true)
    // Without the retry's start, the same lines are one run's.
    expect((await readFailedRecords(path))!.has('m', 'u.ndjson:4')).toBe(true)
  })

  it('keeps a user whose later version a stopped retry did not reach failing, so the last version lands last', async () => {
    const first = [
      { source_key: 'x', origin: 'a.ndjson:1', outcome: 'failed' },
      { source_key: 'x', origin: 'b.ndjson:1', outcome: 'failed' },
    ]
    const start = Buffer.byteLength(first.map((line) => JSON.stringify(line)).join('\n') + '\n')
    const path = await report([...first, { source_key: 'x', origin: 'a.ndjson:1', outcome: 'inserted' }])
    expect((await readFailedRecords(path, { retries: { starts: [start] } }))!.has('x', 'a.ndjson:1')).toBe(true)
    // The later version was imported, then a stopped retry sent the earlier one over it.
    const over = [
      { source_key: 'b.ndjson.gz:200', origin: 'b.ndjson.gz:200', outcome: 'rejected', code: 'bad_gzip', rest_skipped: true },
      { source_key: 'x', origin: 'c.ndjson:1', outcome: 'inserted' },
    ]
    const overStart = Buffer.byteLength(over.map((line) => JSON.stringify(line)).join('\n') + '\n')
    const stale = (await readFailedRecords(await report([...over, { source_key: 'x', origin: 'b.ndjson.gz:301', outcome: 'updated' }]), { retries: { starts: [overStart] } }))!
    expect(stale.size).toBe(2)
    expect(stale.has('x', 'c.ndjson:1')).toBe(true)
  })

  it('reads from where the import began: an earlier import\'s dead letters are not this one\'s', async () => {
    const earlier = { source_key: 'k', origin: 'u.ndjson:1', outcome: 'rejected' }
    const failed = await failedIn([earlier, { source_key: 'm', origin: 'u.ndjson:1', outcome: 'rejected' }], { from: JSON.stringify(earlier).length + 1 })
    expect(failed.size).toBe(1)
    expect(failed.has('m', 'u.ndjson:1')).toBe(true)
    expect(failed.notFound).toBe(0)
  })

  it('names a line that could not be read by its place, settled by any outcome of a record read there later', async () => {
    const failed = await failedIn([
      { source_key: 'u.ndjson:7', origin: 'u.ndjson:7', outcome: 'rejected', code: 'malformed_json' },
      { source_key: 'u.ndjson:9', origin: 'u.ndjson:9', outcome: 'rejected', code: 'malformed_json' },
      { source_key: 'u.ndjson:2', origin: 'u.ndjson:2', outcome: 'rejected', code: 'malformed_json' },
      { source_key: 'auth0|x', origin: 'u.ndjson:9', outcome: 'inserted' },
      // Fixed JSON, but the record is refused for another reason: one dead letter, not two.
      { source_key: 'auth0|z', origin: 'u.ndjson:2', outcome: 'rejected', code: 'invalid_phone_number' },
    ])
    expect(failed.size).toBe(2)
    // The fixed line reads as a user now: found by where it is.
    expect(failed.has('auth0|y', 'u.ndjson:7')).toBe(true)
    expect(failed.has('auth0|x', 'u.ndjson:9')).toBe(false)
    expect(failed.has('auth0|z', 'u.ndjson:2')).toBe(true)
    expect(failed.notFound).toBe(0)
  })

  it('retries every record after a line that ended the read of its file, which the backfill never read', async () => {
    const failed = await failedIn([
      { source_key: 'a', origin: 'u.ndjson.gz:1', outcome: 'inserted' },
      { source_key: 'b', origin: 'u.ndjson.gz:2', outcome: 'inserted' },
      { source_key: 'e', origin: 'v.ndjson:40', outcome: 'inserted' },
      { source_key: 'u.ndjson.gz:3', origin: 'u.ndjson.gz:3', outcome: 'rejected', code: 'bad_gzip', rest_skipped: true },
    ])
    expect(failed.has('a', 'u.ndjson.gz:1')).toBe(false)
    expect(failed.has('b', 'u.ndjson.gz:2')).toBe(false)
    expect(failed.has('c', 'u.ndjson.gz:3')).toBe(true)
    expect(failed.has('d', 'u.ndjson.gz:40')).toBe(true)
    expect(failed.has('e', 'v.ndjson:40')).toBe(false)
    // A later version of a user sent from there is sent too, wherever it is: the last version lands last.
    expect(failed.has('d', 'w.ndjson:1')).toBe(true)
    expect(failed.notFound).toBe(0)
  })

  it('judges the rest after damage by place: what a stopped or killed retry reached is not sent again, the rest is', async () => {
    const damage = { source_key: 'u.ndjson.gz:3', origin: 'u.ndjson.gz:3', outcome: 'rejected', code: 'bad_gzip', rest_skipped: true }
    const lines = [
      { source_key: 'x', origin: 'a.ndjson:1', outcome: 'rejected' },
      damage,
      // A retry, killed before it saved anything: its lines fold into the backfill's run.
      { source_key: 'c', origin: 'u.ndjson.gz:3', outcome: 'inserted' },
      { source_key: 'd', origin: 'u.ndjson.gz:40', outcome: 'rejected' },
      // The same user as a.ndjson:1, which that retry fixed: its version in the unread rest is still to send.
      { source_key: 'x', origin: 'a.ndjson:1', outcome: 'inserted' },
    ]
    const failed = await failedIn(lines)
    expect(failed.has('c', 'u.ndjson.gz:3')).toBe(false)
    expect(failed.has('d', 'u.ndjson.gz:40')).toBe(true)
    expect(failed.has('e', 'u.ndjson.gz:41')).toBe(true)
    expect(failed.has('x', 'u.ndjson.gz:201')).toBe(true)
    // The damage stays until a retry reads the file to its end without meeting it.
    expect(failed.failingDamage()).toEqual([{ key: 'u.ndjson.gz:3', file: 'u.ndjson.gz', epoch: 0 }])
  })

  it('always takes a line that cannot be read, so damage met somewhere new is recorded, and counts a damaged file gone as not found', async () => {
    const failed = await failedIn([{ source_key: 'k', origin: 'u.ndjson.gz:20', outcome: 'inserted' }, { source_key: 'u.ndjson.gz:50', origin: 'u.ndjson.gz:50', outcome: 'rejected', code: 'bad_gzip', rest_skipped: true }])
    expect(failed.has('u.ndjson.gz:20', 'u.ndjson.gz:20', true)).toBe(true)
    expect(failed.has('k', 'u.ndjson.gz:20')).toBe(false)
    const gone = await failedIn([{ source_key: 'v.ndjson.gz:9', origin: 'v.ndjson.gz:9', outcome: 'rejected', code: 'bad_gzip', rest_skipped: true }])
    gone.has('a', 'other.ndjson:1')
    expect(gone.notFound).toBe(1)
  })

  it('settles damage once a retry repaired it, and not before', async () => {
    const header = { source_key: 'u.csv:1', origin: 'u.csv:1', outcome: 'rejected', code: 'malformed_csv', rest_skipped: true }
    const path = await report([header, { source_key: 'a', origin: 'u.csv:2', outcome: 'inserted' }, { source_key: 'b', origin: 'u.csv:3', outcome: 'inserted' }, { source_key: 'z', origin: 'u.csv:9', outcome: 'inserted' }])
    const start = JSON.stringify(header).length + 1
    expect((await readFailedRecords(path, { retries: { starts: [start] } }))!.size).toBe(1)
    const repaired = (await readFailedRecords(path, { retries: { starts: [start], repaired: { 'u.csv:1': 1 } } }))!
    expect(repaired.size).toBe(0)
    expect(repaired.has('a', 'u.csv:2')).toBe(false)
    expect(repaired.has('z', 'u.csv:9')).toBe(false)
  })

  it('orders the elements of a JSON array on one line by their numbers', async () => {
    const versions = await failedIn([
      { source_key: 'v', origin: 'u.json:1 (element 1)', outcome: 'rejected' },
      { source_key: 'v', origin: 'u.json:1 (element 2)', outcome: 'inserted' },
    ])
    expect(versions.size).toBe(0)
    const cut = await failedIn([
      { source_key: 'a', origin: 'u.json:1 (element 4)', outcome: 'inserted' },
      { source_key: 'b', origin: 'u.json:1 (element 5)', outcome: 'inserted' },
      { source_key: 'u.json:1 (element 6)', origin: 'u.json:1 (element 6)', outcome: 'rejected', code: 'malformed_json', rest_skipped: true },
    ])
    expect(cut.has('a', 'u.json:1 (element 4)')).toBe(false)
    expect(cut.has('b', 'u.json:1 (element 5)')).toBe(false)
    expect(cut.has('c', 'u.json:1 (element 6)')).toBe(true)
    expect(cut.has('d', 'u.json:1 (element 7)')).toBe(true)
  })

  it('sends a user the import never gave an outcome: one split off a line that could not be read, or added since', async () => {
    const failed = await failedIn([
      { source_key: 'y', origin: 'u.ndjson:1', outcome: 'inserted' },
      { source_key: 'u.ndjson:2', origin: 'u.ndjson:2', outcome: 'rejected', code: 'malformed_json' },
      { source_key: 'w', origin: 'u.ndjson:3', outcome: 'inserted' },
    ])
    expect(failed.has('y', 'u.ndjson:1')).toBe(false)
    expect(failed.has('x', 'u.ndjson:2')).toBe(true)
    expect(failed.has('z', 'u.ndjson:3')).toBe(true)
    expect(failed.has('w', 'u.ndjson:4')).toBe(false)
    expect(failed.notFound).toBe(0)
  })

  it('sends the later versions of a user read where a line could not be read, so its newest lands last', async () => {
    const failed = await failedIn([
      { source_key: 'a.ndjson:2', origin: 'a.ndjson:2', outcome: 'rejected', code: 'malformed_json' },
      { source_key: 'x', origin: 'b.ndjson:1', outcome: 'inserted' },
    ])
    expect(failed.has('x', 'a.ndjson:2')).toBe(true)
    expect(failed.has('x', 'b.ndjson:1')).toBe(true)
  })

  it('counts the failing keys no record matched', async () => {
    const failed = await failedIn([{ source_key: 'a', origin: 't:a', outcome: 'failed' }, { source_key: 'b', origin: 't:b', outcome: 'failed' }])
    expect(failed.has('a', 't:a')).toBe(true)
    expect(failed.notFound).toBe(1)
  })

  it('passes over a line cut short by a crash and lines that are not report lines; a missing report is undefined', async () => {
    const failed = await failedIn([{ source_key: 'a', origin: 't:a', outcome: 'failed' }, '', '[1]', '{"source_key":"b","origin":"t:b","outcome":"fai'])
    expect(failed.size).toBe(1)
    expect(await readFailedRecords(join(tmpdir(), 'gb-no-such-report.ndjson'))).toBeUndefined()
  })
})

describe('planRetry', () => {
  const store = new CheckpointStore(join(tmpdir(), 'gb-no-such-checkpoint.json'), (value) => value)
  const plan = { store, key: { id: 'x' }, reportPath: 'r', configFile: 'c.yaml' }

  it('refuses a kafka source and a publishing backfill as config errors', () => {
    expect(() => refuseRetryOf('kafka', false)).toThrow(ConfigError)
    expect(() => refuseRetryOf('auth0', true)).toThrow(ConfigError)
    expect(() => refuseRetryOf('sql', false)).not.toThrow()
  })

  it('refuses before any backfill saved a checkpoint', async () => {
    await expect(planRetry(plan)).rejects.toThrow(/no backfill of this config has saved a checkpoint/)
  })
})
