import { setTimeout as sleep } from 'node:timers/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { MappedRecord, MappingResult } from '../../../src/core/mapped-record.ts'
import type { Source } from '../../../src/core/source.ts'
import type { ReadableRecord, SourceRecord } from '../../../src/core/source-record.ts'
import { CheckpointStore } from '../../../src/runtime/checkpoint-store.ts'
import { NdjsonWriter } from '../../../src/runtime/ndjson-writer.ts'
import { runPipeline } from '../../../src/runtime/pipeline.ts'
import { instantSink } from '../../support/instant-sink.ts'
import { context, tempDir } from '../connectors/auth0/helpers.ts'

const map = (record: ReadableRecord): MappingResult => {
  const email = record.data['email'] as string
  const mapped: MappedRecord = { identifier: 'email', identifierValue: email, record: { email }, passwordAlgorithm: 'none', passwordLane: 'none', warnings: [] }
  return { ok: true, value: mapped }
}

/** 1,000 batches of 10 users, read slowly enough that a stop shows in how many were read. */
function slowSource(): Source<number> & { batchesRead: () => number } {
  let read = 0
  return {
    async *read(from) {
      for (let batch = (from ?? 0) + 1; batch <= 1000; batch++) {
        read++
        const records: SourceRecord[] = Array.from({ length: 10 }, (_, k) => ({ kind: 'data', key: `${batch}-${k}`, origin: `test:${batch}`, data: { email: `user${batch}-${k}@example.com` } }))
        yield { records, position: batch }
        await sleep(5)
      }
    },
    async close() {},
    batchesRead: () => read,
  }
}

/** Runs the slow source through the pipeline into a scheduler that settles every batch as inserted at once. */
async function runSlow(options: { report?: NdjsonWriter; store: CheckpointStore<number>; ctx?: ReturnType<typeof context> }) {
  const { summary, metrics, recorder, scheduler } = instantSink({
    policy: { maxRecords: 10, maxBytes: 500_000, lingerMs: 10 },
    maxInFlight: 2,
    ...(options.report ? { report: options.report } : {}),
  })
  const source = slowSource()
  const result = await runPipeline(
    { source, sourceName: 'test', map, scheduler, recorder, writers: options.report ? [options.report] : [], store: options.store, pipelineId: 'test', fromStart: true, summary, metrics, checkpointIntervalMs: 20, maxRequestBytes: 500_000, upsert: false },
    options.ctx ?? context(),
  )
  return { result, summary, batchesRead: source.batchesRead() }
}

describe('a checkpoint commit that fails', () => {
  // /dev/full takes the open and refuses every write with ENOSPC, as a full disk does.
  it.runIf(process.platform === 'linux')('stops the run when the report cannot be written, with the checkpoint left where it was', async () => {
    const dir = await tempDir()
    const report = new NdjsonWriter('/dev/full')
    await report.open()
    const store = new CheckpointStore<number>(join(dir, 'checkpoint.json'), (value) => value as number)
    const ctx = context()
    const { result, batchesRead } = await runSlow({ report, store, ctx })
    expect(result.status).toBe('failed')
    expect((result.error as NodeJS.ErrnoException).code).toBe('ENOSPC')
    // Reading stopped at the failure rather than running to the end with outcomes going nowhere.
    expect(batchesRead).toBeLessThan(500)
    expect(await store.load('test')).toBeUndefined()
    expect(ctx.lines.filter((line) => line.level === 'error').map((line) => line.msg)).toContain('Checkpoint commit failed; stopping the run.')
  })

  it('saves the position it could not save at the next commit, so the file on disk is never left behind', async () => {
    const dir = await tempDir()
    // The first save fails (a transient I/O error); the run stops, and its last commit must still land.
    let saves = 0
    class FlakyStore extends CheckpointStore<number> {
      override async save(...args: Parameters<CheckpointStore<number>['save']>): Promise<void> {
        if (++saves === 1) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' })
        return super.save(...args)
      }
    }
    const store = new FlakyStore(join(dir, 'checkpoint.json'), (value) => value as number)
    const { result, summary, batchesRead } = await runSlow({ store })
    expect(result.status).toBe('failed')
    expect(saves).toBe(2)
    // Every record read has an outcome, and the saved position covers all of them.
    expect(summary.settled).toBe(summary.read)
    expect((await store.load('test'))?.position).toBe(batchesRead)
  })
})
