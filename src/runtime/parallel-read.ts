import type { RunContext } from '../core/run-context.ts'
import type { Source } from '../core/source.ts'
import { isBlockSource, type RawBlock } from './block-source.ts'
import { spareCpuMeter, usableCpus } from './cpu-budget.ts'
import { mappingSpecOf, type MapFunction } from './create-mapping.ts'
import { MapPool } from './map-pool.ts'
import { packItems, type PackedItems } from './packed-items.ts'

/** `auto` maps in parallel only from this much input: below it, starting workers costs more than it saves. */
export const parallelMinBytes = 32 * 1024 * 1024

/** One source batch, decoded and mapped by a worker. */
export interface MappedBatch<P> {
  readonly position: P
  readonly bytesRead?: number
  /** Records of the batch, as packed by the worker (see `unpackItems`). */
  readonly items: PackedItems
}

/** How many mapping workers a run starts with, and how many it may grow to. */
export interface WorkerPlan {
  readonly start: number
  readonly max: number
  /** How long the main thread is watched before deciding whether mapping holds it up (default 1 s). */
  readonly windowMs?: number
  /** Spare CPUs (idle, and under a quota left in it), on average over a window, that another worker needs (default 0.5). */
  readonly minIdleCpus?: number
}

const mainThreadOnly: WorkerPlan = { start: 0, max: 0 }

/**
 * The workers for this run; `start: 0` = map on the main thread. A configured count is started at
 * once. `auto` starts one and adds more (up to one per CPU the process may use, a container's CPU
 * quota counted) only while the main thread waits for
 * mapped blocks: when Authgear sets the pace, as it usually does, more workers would only cost
 * memory (each holds its own V8 heap).
 */
export async function workerPlan<P>(source: Source<P>, map: MapFunction): Promise<WorkerPlan> {
  const spec = mappingSpecOf(map)
  if (spec === undefined || !isBlockSource(source)) return mainThreadOnly
  const configured = spec.config.mapping.workers
  if (configured !== 'auto') return { start: configured, max: configured }
  const cpus = usableCpus()
  if (cpus < 2) return mainThreadOnly
  const bytes = (await source.totalBytes?.()) ?? 0
  return bytes >= parallelMinBytes ? { start: 1, max: Math.min(cpus, 8) } : mainThreadOnly
}

const growWindowMs = 1000

/**
 * Share of a window spent waiting for mapped blocks that, over two windows in a row, adds a worker.
 * One window is not enough: at the start the scheduler takes records until its jobs are in flight,
 * so the main thread waits on the first worker for a second even when Authgear will set the pace.
 * The machine must also have CPU to spare: a worker starved of CPU (by a local Authgear emulator,
 * or anything else) makes the main thread wait too, and another worker would only add memory.
 */
const growWhenWaiting = 0.2

/**
 * Reads `source` as raw blocks and maps them on `workers` threads, yielding the results in source
 * order with each block's position. Resolves to undefined when the source cannot split this read
 * (the caller then reads and maps on the main thread). At most two blocks per worker are in
 * flight, so memory stays flat. The workers are stopped when the iteration ends, however it ends.
 */
export async function readMapped<P>(source: Source<P>, map: MapFunction, plan: WorkerPlan, from: P | undefined, ctx: RunContext, onWorkers: (running: number) => void = () => undefined): Promise<AsyncIterable<MappedBatch<P>> | undefined> {
  const spec = mappingSpecOf(map)
  if (spec === undefined || !isBlockSource(source) || plan.start < 1) return undefined
  const pool = MapPool.start(plan.start, { mapping: spec })
  let read: Awaited<ReturnType<typeof source.readBlocks>>
  try {
    read = await source.readBlocks(from, ctx)
  } catch (error) {
    await pool.close()
    throw error
  }
  if (read === undefined) {
    await pool.close()
    return undefined
  }
  await pool.useDecoder(read.decoder)
  let maxWorkers = plan.max
  const grow = (waitedShare: number): void => {
    const before = pool.size
    pool.grow((error) => {
      // The run goes on with the workers it has, and tries no more.
      maxWorkers = 0
      onWorkers(pool.size)
      ctx.logger.warn({ err: error, workers: pool.size }, 'Another mapping worker could not be started; mapping goes on with the workers already running.')
    })
    // A worker that could not even be created was reported through the callback above.
    if (pool.size === before) return
    onWorkers(pool.size)
    ctx.logger.info({ workers: pool.size, waitedShare: Math.round(waitedShare * 100) / 100 }, 'Started another mapping worker: the main thread was waiting for mapped records.')
  }
  const batches = inOrder(pool, read.blocks, () => maxWorkers, { windowMs: plan.windowMs ?? growWindowMs, minIdleCpus: plan.minIdleCpus ?? 0.5, spareCpus: spareCpuMeter() }, grow, (counts) => read.finish(counts))
  return (async function* () {
    try {
      onWorkers(pool.size)
      yield* batches
    } finally {
      onWorkers(0)
    }
  })()
}

const noItems = packItems([])

interface Queued<P> {
  readonly block: RawBlock<P>
  readonly result: ReturnType<MapPool['map']> | undefined
  done: boolean
}

async function* inOrder<P>(pool: MapPool, blocks: AsyncIterable<RawBlock<P>>, maxWorkers: () => number, { windowMs, minIdleCpus, spareCpus }: { windowMs: number; minIdleCpus: number; spareCpus: () => number }, grow: (waitedShare: number) => void, finish: (counts: Record<string, number>) => Promise<void>): AsyncGenerator<MappedBatch<P>> {
  const counts: Record<string, number> = {}
  const queue: Queued<P>[] = []
  // Measured from the first mapped block: waiting for that one is start-up, not a shortage of workers.
  let windowStart = -1
  let waited = 0
  let waitingWindows = 0
  const iterator = blocks[Symbol.asyncIterator]()
  let exhausted = false
  let complete = false
  try {
    for (;;) {
      while (!exhausted && queue.length < pool.size * 2) {
        const next = await iterator.next()
        if (next.done) {
          exhausted = true
          break
        }
        const block = next.value
        const result = block.payload === undefined ? undefined : pool.map(block as RawBlock<unknown>)
        const entry: Queued<P> = { block, result, done: result === undefined }
        // Awaited in order below; until then a failure must not count as unhandled.
        result?.then(
          () => (entry.done = true),
          () => (entry.done = true),
        )
        queue.push(entry)
      }
      const head = queue.shift()
      if (head === undefined) break
      let reply: Awaited<ReturnType<MapPool['map']>> | undefined
      if (head.done || head.result === undefined) reply = head.result ? await head.result : undefined
      else {
        const before = performance.now()
        reply = await head.result
        waited += performance.now() - before
      }
      const now = performance.now()
      if (windowStart < 0 || pool.starting) {
        // A worker still loading takes no blocks yet: judge the pool again once it is working.
        windowStart = now
        spareCpus()
        waited = 0
        waitingWindows = 0
      } else if (now - windowStart >= windowMs) {
        const share = waited / (now - windowStart)
        const idleCpus = spareCpus()
        waitingWindows = share >= growWhenWaiting && idleCpus >= minIdleCpus ? waitingWindows + 1 : 0
        if (waitingWindows >= 2 && pool.size < maxWorkers()) {
          grow(share)
          waitingWindows = 0
        }
        windowStart = now
        waited = 0
      }
      if (reply) for (const [name, count] of Object.entries(reply.counts)) counts[name] = (counts[name] ?? 0) + count
      yield { position: head.block.position, ...(head.block.bytesRead !== undefined ? { bytesRead: head.block.bytesRead } : {}), items: reply?.items ?? noItems }
    }
    complete = true
  } finally {
    if (!exhausted) await iterator.return?.()
    await pool.close()
    if (complete || Object.keys(counts).length > 0) await finish(counts)
  }
}
