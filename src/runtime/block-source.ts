import type { RunContext } from '../core/run-context.ts'
import type { Source } from '../core/source.ts'
import type { SourceRecord } from '../core/source-record.ts'

/**
 * A run of raw source input that a worker thread turns into records. The main thread only cuts
 * the input into blocks and knows each block's resume position; parsing happens in the worker.
 */
export interface RawBlock<P> {
  /** Handed to the decoder in a worker; undefined for a block without records (end of a file). */
  readonly payload: unknown
  /** Buffers in `payload` moved (not copied) to the worker. */
  readonly transfer: readonly ArrayBuffer[]
  /** Where to resume after this block, exactly as `read()` would report it. */
  readonly position: P
  readonly bytesRead?: number
}

/** Where a worker loads the decoder from: a module URL exporting `createBlockDecoder(options)`. */
export interface DecoderSpec {
  readonly module: string
  /** Structured-cloneable; shared memory (SharedArrayBuffer views) is shared, not copied. */
  readonly options: unknown
}

/** Runs in a worker thread: turns a block payload into records. */
export interface BlockDecoder {
  /**
   * Calls `each` with the payload's records in input order, one at a time, so each record can be
   * mapped and dropped before the next is parsed (the worker's live heap stays one record deep).
   */
  decode(payload: unknown, each: (record: SourceRecord) => void): void
  /** Counts since the last call (join results), summed over workers for the source's log. */
  takeCounts(): Record<string, number>
  close(): Promise<void>
}

/** What a decoder module exports. */
export type CreateBlockDecoder = (options: unknown) => Promise<BlockDecoder>

/** One read of a source as raw blocks. */
export interface BlockRead<P> {
  /** Blocks in source order; pulled only as workers free up. Cleans up in `finally`. */
  readonly blocks: AsyncIterable<RawBlock<P>>
  readonly decoder: DecoderSpec
  /** Called once when the read ends, with the decoders' counts summed. */
  finish(counts: Record<string, number>): Promise<void>
}

/**
 * Optional capability of a source whose records can be decoded off the main thread (the Auth0
 * NDJSON reader). `readBlocks` resolves to undefined when this particular read cannot be split
 * (gzip, CSV, JSON arrays); the runtime then uses `read()`. Records, positions and origins are
 * the same either way.
 */
export interface BlockSource<P> extends Source<P> {
  readBlocks(from: P | undefined, ctx: RunContext): Promise<BlockRead<P> | undefined>
}

export function isBlockSource<P>(source: Source<P>): source is BlockSource<P> {
  return typeof (source as Partial<BlockSource<P>>).readBlocks === 'function'
}
