import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { auth0SourceConfigSchema } from '../../../connectors/auth0/config.ts'
import { auth0PositionSchema, type Auth0Position } from '../../../connectors/auth0/position.ts'
import { createAuth0Source } from '../../../connectors/auth0/source.ts'
import type { MappedRecord, MappingResult } from '../../../src/core/mapped-record.ts'
import type { Outcome } from '../../../src/core/outcome.ts'
import type { Source } from '../../../src/core/source.ts'
import type { ReadableRecord, SourceRecord } from '../../../src/core/source-record.ts'
import { CheckpointStore } from '../../../src/runtime/checkpoint-store.ts'
import { runPipeline, type PipelineResult } from '../../../src/runtime/pipeline.ts'
import type { WorkItem } from '../../../src/runtime/work-item.ts'
import { instantSink } from '../../support/instant-sink.ts'
import { context, tempDir } from '../connectors/auth0/helpers.ts'

const map = (record: ReadableRecord): MappingResult => {
  const email = record.data['email'] as string
  const mapped: MappedRecord = { identifier: 'email', identifierValue: email, record: { email }, passwordAlgorithm: 'none', passwordLane: 'none', warnings: [] }
  return { ok: true, value: mapped }
}

/**
 * Runs `source` through the pipeline into a scheduler whose jobs `settle` decides (an outcome, or
 * a throw for a job that never settles), one record a job. Returns the result and the origins sent.
 */
async function run<P>(source: Source<P>, store: CheckpointStore<P>, options: { fromStart?: boolean; resumeSettled?: boolean; signal?: AbortSignal; settle?: (item: WorkItem) => Promise<Outcome> | Outcome } = {}) {
  const sent: string[] = []
  const { summary, metrics, recorder, scheduler } = instantSink({
    policy: { maxRecords: 1, maxBytes: 500_000, lingerMs: 1 },
    maxInFlight: 3,
    onJob: (_identifier, items) => sent.push(...items.map((item) => item.source.origin)),
    ...(options.settle ? { settle: options.settle } : {}),
  })
  const result: PipelineResult = await runPipeline(
    { source, sourceName: 'test', map, scheduler, recorder, writers: [], store, pipelineId: 't', fromStart: options.fromStart ?? false, resumeSettled: options.resumeSettled ?? false, summary, metrics, checkpointIntervalMs: 1000, maxRequestBytes: 499_999, upsert: false },
    context(options.signal),
  )
  return { result, summary, sent }
}

async function savedAt(dir: string, position: number): Promise<CheckpointStore<number>> {
  const store = new CheckpointStore<number>(join(dir, 'checkpoint.json'), (value) => value as number)
  await store.save({ version: 1, pipeline: 't', position, committedAt: new Date().toISOString(), recordsCommitted: position, deadLettered: 0, complete: false })
  return store
}

const records = (...keys: string[]): SourceRecord[] => keys.map((key, i) => ({ kind: 'data', key, origin: `users.ndjson:${i + 1}`, data: { email: `${key}@example.com` } }))

describe('--from-start and the saved checkpoint', () => {
  it('lets go of the saved checkpoint when the source yields nothing at all (no row changed since --since): the run is complete', async () => {
    const dir = await tempDir()
    const store = await savedAt(dir, 5000)
    const { result } = await run<number>({ async *read() {}, async close() {} }, store, { fromStart: true })
    expect(result.status).toBe('complete')
    expect(await store.load('t')).toBeUndefined()
  })

  it('keeps the saved checkpoint, and says so, when the run fails or is stopped before its first batch', async () => {
    const dir = await tempDir()
    const store = await savedAt(dir, 5000)
    const failing = await run<number>({ async *read() { throw new Error('no such table') }, async close() {} }, store, { fromStart: true })
    expect(failing.result).toMatchObject({ status: 'failed', checkpointKept: true })
    const stop = new AbortController()
    const stopped = await run<number>(
      {
        // A signal while the source starts (a slow first query): it ends without a batch.
        async *read() {
          stop.abort()
        },
        async close() {},
      },
      store,
      { fromStart: true, signal: stop.signal },
    )
    expect(stopped.result).toMatchObject({ status: 'stopped', checkpointKept: true })
    expect((await store.load('t'))?.position).toBe(5000)
  })

  it('leaves a complete checkpoint complete when a rerun is stopped before it settles anything', async () => {
    const dir = await tempDir()
    const store = new CheckpointStore<number>(join(dir, 'checkpoint.json'), (value) => value as number)
    await store.save({ version: 1, pipeline: 't', position: 5000, committedAt: '2026-11-24T00:00:00.000Z', recordsCommitted: 5000, deadLettered: 2, complete: true, finished: true })
    const stop = new AbortController()
    // A signal while the rerun starts: its read ends at once, with nothing read.
    const stopped = await run<number>({ async *read() { stop.abort() }, async close() {} }, store, { signal: stop.signal })
    // Not "nothing was checkpointed": the earlier runs' checkpoint stands.
    expect(stopped.result).toMatchObject({ status: 'stopped', checkpointed: true })
    expect(await store.load('t')).toMatchObject({ position: 5000, complete: true, deadLettered: 2, committedAt: '2026-11-24T00:00:00.000Z' })
  })
})

describe('a stop that committed no position', () => {
  it('saves the records a publishing run settled ahead, so a rerun does not publish them again', async () => {
    const dir = await tempDir()
    const store = new CheckpointStore<number>(join(dir, 'checkpoint.json'), (value) => value as number)
    const source: Source<number> = {
      async *read() {
        yield { records: records('a', 'b', 'c'), position: 1 }
      },
      async contentDigest() {
        return 'digest'
      },
      async close() {},
    }
    // The first record's job never settles (the broker went away); the other two are published.
    const { result } = await run(source, store, {
      resumeSettled: true,
      settle: async (item) => {
        if (item.source.key === 'a') {
          await new Promise((resolve) => setTimeout(resolve, 100))
          throw new Error('broker gone')
        }
        return { kind: 'published' }
      },
    })
    expect(result.status).toBe('failed')
    expect([...((await store.load('t'))?.settledAhead?.origins ?? [])].sort()).toEqual(['users.ndjson:2', 'users.ndjson:3'])
  })
})

describe('a stop saved by an earlier version', () => {
  it('still finds the JSON array elements it named by element number alone, and sends them no more', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'users.json'), JSON.stringify([1, 2, 3].map((i) => ({ user_id: `auth0|${i}`, email: `u${i}@example.com` })), null, 2))
    const source = createAuth0Source(auth0SourceConfigSchema.parse({ type: 'auth0', files: 'users.json' }), { baseDir: dir })
    const store = new CheckpointStore<Auth0Position>(join(dir, 'checkpoint.json'), (value) => auth0PositionSchema.parse(value))
    // Elements 2 and 3 settled ahead of a null position, element 3 dead-lettered: `users.json:<element>`, as versions before named them.
    await store.save({ version: 1, pipeline: 't', position: null, committedAt: new Date().toISOString(), recordsCommitted: 0, deadLettered: 0, complete: false, settledAhead: { origins: ['users.json:2', 'users.json:3'], dead_lettered: ['users.json:3'], content: (await source.contentDigest!()) as string } })
    try {
      const { result, summary, sent } = await run(source, store, { resumeSettled: true })
      expect(result).toMatchObject({ status: 'complete', deadLetteredEarlier: 1 })
      expect(sent).toEqual(['users.json:2 (element 1)'])
      expect(summary.settledEarlier).toBe(2)
    } finally {
      await source.close()
    }
  })
})
