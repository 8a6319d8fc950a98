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

describe('readFailedRecords', () => {
  it('keeps the keys whose last outcome is failed or rejected', async () => {
    const failed = await readFailedRecords(
      await report([
        { source_key: 'a', origin: 'u.ndjson:1', outcome: 'failed' },
        { source_key: 'b', origin: 'u.ndjson:2', outcome: 'rejected' },
        { source_key: 'c', origin: 'u.ndjson:3', outcome: 'inserted' },
        { source_key: 'a', origin: 'u.ndjson:1', outcome: 'skipped' },
        { source_key: 'c', origin: 'u.ndjson:3', outcome: 'failed' },
        { source_key: 'd', origin: 'u.ndjson:4', outcome: 'superseded' },
      ]),
    )
    expect(failed.size).toBe(2)
    expect(failed.has('a', 'u.ndjson:1')).toBe(false)
    expect(failed.has('b', 'elsewhere:9')).toBe(true)
    expect(failed.has('c', 'u.ndjson:3')).toBe(true)
    expect(failed.has('d', 'u.ndjson:4')).toBe(false)
  })

  it('names a line that could not be read by its place, and settles it when a record read there gets an outcome', async () => {
    const path = await report([
      { source_key: 'u.ndjson:7', origin: 'u.ndjson:7', outcome: 'rejected', code: 'malformed_json' },
      { source_key: 'u.ndjson:9', origin: 'u.ndjson:9', outcome: 'rejected', code: 'malformed_json' },
      { source_key: 'auth0|x', origin: 'u.ndjson:9', outcome: 'inserted' },
    ])
    const failed = await readFailedRecords(path)
    expect(failed.size).toBe(1)
    // The fixed line reads as a user now: found by where it is.
    expect(failed.has('auth0|y', 'u.ndjson:7')).toBe(true)
    expect(failed.has('auth0|x', 'u.ndjson:9')).toBe(false)
    expect(failed.notFound).toBe(0)
  })

  it('counts the failing keys no record matched', async () => {
    const failed = await readFailedRecords(await report([{ source_key: 'a', origin: 't:a', outcome: 'failed' }, { source_key: 'b', origin: 't:b', outcome: 'failed' }]))
    expect(failed.has('a', 't:a')).toBe(true)
    expect(failed.notFound).toBe(1)
  })

  it('passes over a line cut short by a crash and lines that are not report lines; a missing report is empty', async () => {
    const failed = await readFailedRecords(await report([{ source_key: 'a', origin: 't:a', outcome: 'failed' }, '', '[1]', '{"source_key":"b","origin":"t:b","outcome":"fai']))
    expect(failed.size).toBe(1)
    expect((await readFailedRecords(join(tmpdir(), 'gb-no-such-report.ndjson'))).size).toBe(0)
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
