import { Worker } from 'node:worker_threads'
import { SourceReadError } from '../core/errors.ts'
import type { DecoderSpec, RawBlock } from './block-source.ts'
import type { MappingSpec } from './create-mapping.ts'
import type { PackedItems } from './packed-items.ts'

/** What every mapping worker is started with; the decoder follows once the source has one. */
export interface MapWorkerData {
  readonly mapping: MappingSpec
}

export type MapRequest =
  | { readonly type: 'decoder'; readonly decoder: DecoderSpec }
  | { readonly type: 'map'; readonly id: number; readonly payload: unknown; /** The payload's transferred buffers, for the worker to release once the block is mapped. */ readonly buffers: readonly ArrayBuffer[] }
  | { readonly type: 'close' }

export type MapReply =
  | { readonly type: 'ready' }
  | { readonly type: 'closed' }
  | { readonly type: 'mapped'; readonly id: number; readonly items: PackedItems; readonly counts: Record<string, number> }
  | { readonly type: 'failed'; readonly id: number; readonly message: string; readonly code?: string | undefined }

interface Pending {
  resolve(reply: Extract<MapReply, { type: 'mapped' }>): void
  reject(error: unknown): void
}

/**
 * Worker heaps stay small: a worker holds one block at a time, and V8's default young generation
 * and lazy old-space growth let every worker swell by a hundred megabytes of garbage. The old
 * space cap is far above what a block needs, so only a pathological multi-hundred-megabyte line
 * would reach it (the worker then fails and the run stops with a read error).
 */
const workerHeap = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 256 } as const

/** The worker module beside this file: `.ts` when run from source, `.js` from the build. */
const workerUrl = new URL(import.meta.url.endsWith('.ts') ? './map-worker.ts' : './map-worker.js', import.meta.url)

/** One worker thread and the requests it has not answered yet (it answers in order). */
class MapWorker {
  readonly pending = new Map<number, Pending>()
  readonly worker: Worker
  readonly ready: Promise<void>
  readonly exited: Promise<void>
  /** Set once the worker has its decoder and has answered; only then does it get blocks. */
  isReady = false
  #failure: unknown

  constructor(data: MapWorkerData) {
    this.worker = new Worker(workerUrl, { workerData: data, resourceLimits: workerHeap })
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()))
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (message: MapReply) => {
        if (message.type === 'ready') resolve()
        else if (message.type === 'mapped') this.#take(message.id)?.resolve(message)
        else if (message.type === 'failed') {
          const error = new SourceReadError(`mapping worker: ${message.message}`)
          if (message.id === -1) reject(error)
          else this.#take(message.id)?.reject(error)
        }
      })
      const fail = (error: unknown) => {
        this.#failure ??= error
        reject(error)
        for (const entry of this.pending.values()) entry.reject(error)
        this.pending.clear()
      }
      this.worker.on('error', fail)
      this.worker.on('exit', (code) => fail(new SourceReadError(`mapping worker exited (code ${code})`)))
    })
    this.ready.then(
      () => (this.isReady = true),
      () => undefined,
    )
  }

  send(id: number, block: RawBlock<unknown>): Promise<Extract<MapReply, { type: 'mapped' }>> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ type: 'map', id, payload: block.payload, buffers: block.transfer } satisfies MapRequest, block.transfer as ArrayBuffer[])
    })
  }

  #take(id: number): Pending | undefined {
    const entry = this.pending.get(id)
    this.pending.delete(id)
    return entry
  }
}

/**
 * A fixed set of mapping worker threads. `map` hands a raw block to the least busy worker and
 * resolves with its records' results; `close` stops every worker. Used by one pipeline run.
 */
export class MapPool {
  readonly #workers: MapWorker[]
  readonly #data: MapWorkerData
  #decoder: DecoderSpec | undefined
  #nextId = 0

  private constructor(workers: MapWorker[], data: MapWorkerData) {
    this.#workers = workers
    this.#data = data
  }

  /** Workers started, ready or still starting. */
  get size(): number {
    return this.#workers.length
  }

  /**
   * Starts `count` workers. They load the mapping at once (in parallel with whatever the source
   * does before it can hand over its decoder, such as indexing the hash export); `useDecoder`
   * completes the start.
   */
  static start(count: number, data: MapWorkerData): MapPool {
    return new MapPool(Array.from({ length: count }, () => new MapWorker(data)), data)
  }

  /** Whether a worker added by `grow` is still loading. */
  get starting(): boolean {
    return this.#workers.some((worker) => !worker.isReady)
  }

  /**
   * Starts one more worker after `useDecoder`. It gets blocks once it is ready; until then the
   * others carry on. A worker that fails to start is stopped and left out (`onFailure` hears why):
   * the pool keeps the ones it has. A failed start never has blocks to lose, since only ready
   * workers are given any.
   */
  grow(onFailure: (error: unknown) => void): void {
    if (this.#decoder === undefined) throw new Error('MapPool.grow before useDecoder')
    let worker: MapWorker
    try {
      worker = new MapWorker(this.#data)
      worker.worker.postMessage({ type: 'decoder', decoder: this.#decoder } satisfies MapRequest)
    } catch (error) {
      onFailure(error)
      return
    }
    this.#workers.push(worker)
    worker.ready.catch((error: unknown) => {
      const at = this.#workers.indexOf(worker)
      if (at !== -1) this.#workers.splice(at, 1)
      void worker.worker.terminate()
      onFailure(error)
    })
  }

  /** Gives every worker the source's decoder and waits until all are ready; closes the pool on failure. */
  async useDecoder(decoder: DecoderSpec): Promise<void> {
    this.#decoder = decoder
    try {
      for (const entry of this.#workers) entry.worker.postMessage({ type: 'decoder', decoder } satisfies MapRequest)
      await Promise.all(this.#workers.map((worker) => worker.ready))
    } catch (error) {
      await this.close()
      throw error
    }
  }

  map(block: RawBlock<unknown>): Promise<Extract<MapReply, { type: 'mapped' }>> {
    let chosen = this.#workers[0] as MapWorker
    for (const worker of this.#workers) if (worker.isReady && worker.pending.size < chosen.pending.size) chosen = worker
    return chosen.send(this.#nextId++, block)
  }

  /** Asks each worker to release its files, then ends it. */
  async close(): Promise<void> {
    await Promise.all(
      this.#workers.map(async (entry) => {
        try {
          entry.worker.postMessage({ type: 'close' } satisfies MapRequest)
        } catch {
          // already gone
        }
        const timer = setTimeout(() => void entry.worker.terminate(), 5000)
        await entry.exited
        clearTimeout(timer)
      }),
    )
  }
}
