import { availableParallelism } from 'node:os'
import type { RunContext } from '../core/run-context.ts'
import type { Source } from '../core/source.ts'
import { isBlockSource, type RawBlock } from './block-source.ts'
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

/** How many workers to use for this run; 0 = map on the main thread. */
export async function workerCount<P>(source: Source<P>, map: MapFunction): Promise<number> {
  const spec = mappingSpecOf(map)
  if (spec === undefined || !isBlockSource(source)) return 0
  const configured = spec.config.mapping.workers ?? 'auto'
  if (configured !== 'auto') return configured
  const cpus = availableParallelism()
  if (cpus < 2) return 0
  const bytes = (await source.totalBytes?.()) ?? 0
  return bytes >= parallelMinBytes ? Math.min(cpus, 8) : 0
}

/**
 * Reads `source` as raw blocks and maps them on `workers` threads, yielding the results in source
 * order with each block's position. Resolves to undefined when the source cannot split this read
 * (the caller then reads and maps on the main thread). At most two blocks per worker are in
 * flight, so memory stays flat. The workers are stopped when the iteration ends, however it ends.
 */
export async function readMapped<P>(source: Source<P>, map: MapFunction, workers: number, from: P | undefined, ctx: RunContext): Promise<AsyncIterable<MappedBatch<P>> | undefined> {
  const spec = mappingSpecOf(map)
  if (spec === undefined || !isBlockSource(source) || workers < 1) return undefined
  const pool = MapPool.start(workers, { mapping: spec })
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
  return inOrder(pool, read.blocks, workers * 2, (counts) => read.finish(counts))
}

const noItems = packItems([])

async function* inOrder<P>(pool: MapPool, blocks: AsyncIterable<RawBlock<P>>, ahead: number, finish: (counts: Record<string, number>) => Promise<void>): AsyncGenerator<MappedBatch<P>> {
  const counts: Record<string, number> = {}
  const queue: { block: RawBlock<P>; result: ReturnType<MapPool['map']> | undefined }[] = []
  const iterator = blocks[Symbol.asyncIterator]()
  let exhausted = false
  let complete = false
  try {
    for (;;) {
      while (!exhausted && queue.length < ahead) {
        const next = await iterator.next()
        if (next.done) {
          exhausted = true
          break
        }
        const block = next.value
        const result = block.payload === undefined ? undefined : pool.map(block as RawBlock<unknown>)
        // Awaited in order below; until then a failure must not count as unhandled.
        result?.catch(() => undefined)
        queue.push({ block, result })
      }
      const head = queue.shift()
      if (head === undefined) break
      const reply = head.result ? await head.result : undefined
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
