/**
 * The source conformance suite, written once and run against every source connector with a
 * harness: positions resume with no gap and no duplicate, an abort ends the read promptly, a
 * persisted position round-trips through its schema, and (for sources that poll) every change
 * made during polling arrives.
 */
import { describe, expect, it } from 'vitest'
import type { RunContext } from '../../src/core/run-context.ts'
import type { Source, SourceBatch } from '../../src/core/source.ts'
import type { ReadableRecord } from '../../src/core/source-record.ts'
import { cliTarget, runCli } from './cli-run.ts'
import { quietLogger } from './quiet-logger.ts'

/** One change applied to the source while it is polled. */
export interface SourceChange {
  readonly op: 'insert' | 'update' | 'soft_delete'
  readonly keys: readonly string[]
  /** The change's timestamp relative to the source's clock, in ms (negative: committed late with an older time). Same value = same timestamp. */
  readonly atOffsetMs?: number
}

export interface SourceHarness<P> {
  readonly name: string
  /** Empties the source and fills it with users keyed `1`…`count`. */
  reset(count: number): Promise<void>
  /** A new source over the current data. */
  create(options: { mode: 'backfill' | 'sync'; pageSize?: number }): Source<P>
  parsePosition(value: unknown): P
  /** Applies changes (sources that can be polled for changes). */
  apply?(change: SourceChange): Promise<void>
  /** Whether a record shows the soft-delete marker. */
  isDeleted?(record: ReadableRecord): boolean
  /** A version tag of a record (the updated-at value), to tell an update from the original. */
  version?(record: ReadableRecord): string
  /** The YAML `source:` block reading the current data, for runs of the CLI; users `n` have email `user<n>@example.com`. */
  sourceBlock?(): Record<string, unknown>
}

export function context(signal: AbortSignal = new AbortController().signal): RunContext {
  return { signal, logger: quietLogger }
}

/** Reads every batch to the end. */
export async function readAll<P>(source: Source<P>, from: P | undefined): Promise<SourceBatch<P>[]> {
  const batches: SourceBatch<P>[] = []
  for await (const batch of source.read(from, context())) batches.push(batch)
  return batches
}

export function keysOf(batches: readonly SourceBatch<unknown>[]): string[] {
  return batches.flatMap((b) => b.records.map((r) => r.key))
}

const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => String(from + i))
const sorted = (keys: readonly string[]) => [...keys].sort((a, b) => Number(a) - Number(b))

async function waitFor(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

export function defineSourceSuite<P>(harness: () => SourceHarness<P>): void {
  describe('source conformance', () => {
    it('reads every record once from an empty position', async () => {
      const h = harness()
      await h.reset(250)
      const source = h.create({ mode: 'backfill', pageSize: 40 })
      try {
        const keys = keysOf(await readAll(source, undefined))
        expect(sorted(keys)).toEqual(range(1, 250))
        expect(new Set(keys).size).toBe(keys.length)
      } finally {
        await source.close()
      }
    })

    it('resumes after a partial acknowledgement with no gap and no duplicate', async () => {
      const h = harness()
      await h.reset(300)
      const first = h.create({ mode: 'backfill', pageSize: 35 })
      const batches = await readAll(first, undefined)
      await first.close()
      for (const cut of [1, Math.floor(batches.length / 2), batches.length - 1]) {
        const acked = batches.slice(0, cut)
        // The position goes through JSON and the schema, as a checkpoint file does.
        const position = h.parsePosition(JSON.parse(JSON.stringify(acked.at(-1)?.position)))
        const resumed = h.create({ mode: 'backfill', pageSize: 35 })
        const rest = keysOf(await readAll(resumed, position))
        await resumed.close()
        const before = keysOf(acked)
        expect(rest.filter((k) => before.includes(k))).toEqual([])
        expect(sorted([...before, ...rest])).toEqual(range(1, 300))
      }
    })

    it('ends promptly when aborted mid-read, and closes', async () => {
      const h = harness()
      await h.reset(500)
      const source = h.create({ mode: 'backfill', pageSize: 10 })
      const controller = new AbortController()
      const iterator = source.read(undefined, context(controller.signal))[Symbol.asyncIterator]()
      const first = await iterator.next()
      expect(first.done).toBe(false)
      controller.abort()
      const started = Date.now()
      for (let i = 0; i < 3; i++) if ((await iterator.next()).done) break
      const end = await iterator.next()
      expect(end.done).toBe(true)
      expect(Date.now() - started).toBeLessThan(2000)
      await source.close()
    })

    it('a sync read ends promptly when aborted while it waits for changes', async (ctx) => {
      const h = harness()
      if (h.apply === undefined) return ctx.skip()
      await h.reset(5)
      const source = h.create({ mode: 'sync' })
      const controller = new AbortController()
      const seen: string[] = []
      const reading = (async () => {
        for await (const batch of source.read(undefined, context(controller.signal))) seen.push(...batch.records.map((r) => r.key))
      })()
      await waitFor(() => seen.length >= 5, 10_000, () => `5 records, got ${seen.length}`)
      const started = Date.now()
      controller.abort()
      await reading
      expect(Date.now() - started).toBeLessThan(2000)
      await source.close()
    })

    it('delivers inserts, updates, soft deletes, same-timestamp rows and late commits inside the safety lag while polling', async (ctx) => {
      const h = harness()
      const apply = h.apply?.bind(h)
      if (apply === undefined || h.isDeleted === undefined || h.version === undefined) return ctx.skip()
      await h.reset(20)
      const source = h.create({ mode: 'sync', pageSize: 3 })
      const controller = new AbortController()
      const received: ReadableRecord[] = []
      let lastPosition: P | undefined
      const reading = (async () => {
        for await (const batch of source.read(undefined, context(controller.signal))) {
          received.push(...(batch.records as ReadableRecord[]))
          lastPosition = batch.position
        }
      })()
      const has = (key: string, test: (r: ReadableRecord) => boolean = () => true) => received.some((r) => r.key === key && test(r))
      try {
        await waitFor(() => range(1, 20).every((k) => has(k)), 15_000, () => 'the initial rows')
        // Ten rows sharing one timestamp: with pages of 3, the tie crosses page boundaries.
        await apply({ op: 'insert', keys: range(21, 30), atOffsetMs: 0 })
        const before = new Map(range(1, 5).map((k) => [k, h.version?.(received.find((r) => r.key === k) as ReadableRecord)]))
        await apply({ op: 'update', keys: range(1, 5) })
        await apply({ op: 'soft_delete', keys: ['6', '7'] })
        await waitFor(() => range(21, 30).every((k) => has(k)), 15_000, () => 'same-timestamp inserts')
        // A transaction that committed now with a timestamp older than rows already read, inside the lag.
        await apply({ op: 'insert', keys: ['31', '32'], atOffsetMs: -1500 })
        await waitFor(
          () =>
            has('31') && has('32') &&
            range(1, 5).every((k) => has(k, (r) => h.version?.(r) !== before.get(k))) &&
            ['6', '7'].every((k) => has(k, (r) => h.isDeleted?.(r) === true)),
          15_000,
          () => `updates, soft deletes and late commits; got ${received.map((r) => r.key).join(',')}`,
        )
      } finally {
        controller.abort()
        await reading
      }
      await source.close()
      // Restarting from the last position loses nothing: anything after it is read again.
      const resumed = h.create({ mode: 'sync', pageSize: 3 })
      const again: string[] = []
      const stop = new AbortController()
      const position = lastPosition === undefined ? undefined : h.parsePosition(JSON.parse(JSON.stringify(lastPosition)))
      const rereading = (async () => {
        for await (const batch of resumed.read(position, context(stop.signal))) again.push(...batch.records.map((r) => r.key))
      })()
      await apply({ op: 'insert', keys: ['33'] })
      await waitFor(() => again.includes('33'), 15_000, () => 'an insert after a restart')
      stop.abort()
      await rereading
      await resumed.close()
      expect(new Set(received.map((r) => r.key))).toEqual(new Set(range(1, 32)))
    })

    it('loses nothing when `gearbridge backfill` is killed with SIGKILL mid-snapshot and restarted', async (ctx) => {
      const h = harness()
      if (h.sourceBlock === undefined) return ctx.skip()
      const count = 3000
      await h.reset(count)
      const target = await cliTarget({ ...h.sourceBlock(), page_size: 150 }, { emulator: { record_delay_ms: 1 }, sink: { batch: { max_records: 200, linger_ms: 20 }, max_in_flight: 2 } })
      try {
        const kills: string[] = []
        let killedMidway = 0
        for (let i = 0; i < 3; i++) {
          const before = target.emulator.store.count()
          const result = await runCli(['backfill', '--config', target.configPath], { killWhen: () => target.emulator.store.count() > before, killDelayMs: Math.floor(Math.random() * 400) })
          const imported = target.emulator.store.count()
          if (result.signal === 'SIGKILL' && imported > 0 && imported < count) killedMidway++
          kills.push(`${result.signal ?? result.code} at ${imported} users`)
        }
        if (process.env['GB_TEST_LOG'] === '1') process.stderr.write(`kills: ${kills.join('; ')}\n`)
        expect(killedMidway, kills.join('; ')).toBeGreaterThan(0)
        const final = await runCli(['backfill', '--config', target.configPath])
        expect(final.code, `${kills.join('; ')}\n${final.stderr}`).toBe(0)
        expect(target.emulator.store.count()).toBe(count)
        for (let n = 1; n <= count; n++) expect(target.emulator.store.findByLoginId('email', `user${n}@example.com`), `user${n}`).toBeDefined()
      } finally {
        await target.close()
      }
    })
  })
}
