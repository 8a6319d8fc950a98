import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { MinHeap } from './min-heap.ts'
import { LineReader } from './line-reader.ts'
import { formatEntry, parseEntry, type SortedEntry } from './sorted-entry.ts'

/** Bytes of one write to a run file; the stream is awaited on `drain` past its high-water mark. */
const WRITE_CHUNK = 256 * 1024
/** Per buffered entry beyond its characters: two array slots, two string headers, the sort index. */
const ENTRY_OVERHEAD = 64
/** Most run files merged at once; more are first merged into bigger runs, a level at a time. */
const DEFAULT_FAN_IN = 64

interface Run {
  readonly path: string
  readonly level: number
}

export interface ExternalSorterOptions {
  /**
   * Approximate bytes of entries buffered before a sorted run is spilled (characters of the
   * entries' lines plus a per-entry overhead). This, not the number of entries, bounds memory.
   */
  readonly runBytes: number
  /** Read buffer of each run file during the merge. */
  readonly readChunkBytes?: number
  /** Most run files open in one merge (64 by default). */
  readonly fanIn?: number
}

/**
 * An external merge sort whose memory is set by `runBytes`, not by the number of entries. The
 * buffer is two arrays of flat strings (keys, payloads), sorted through an index so no per-entry
 * object or concatenated string is built; past `runBytes` it is sorted and spilled to a run file
 * of lines (see `formatEntry`), written with backpressure. `finish()` spills the rest, so a filled
 * sorter holds no entries in memory while another one fills. `sorted()` merges the runs k-way
 * with a heap, reading each run through a fixed buffer: k runs cost k read chunks plus one line
 * each. k never exceeds `fanIn` per level: every `fanIn` runs of one level are merged into one
 * run of the next as soon as they exist, so any number of entries needs a bounded number of
 * open files and buffers (one extra pass over the data per level).
 *
 * Not safe for concurrent `add` and `sorted`: fill, finish, then read once.
 */
export class ExternalSorter {
  readonly #dir: string
  readonly #runBytes: number
  readonly #readChunkBytes: number
  readonly #fanIn: number
  #keys: string[] = []
  #jsons: string[] = []
  /** `seq` of the first buffered entry; the others follow in order. */
  #firstSeq = 0
  #bufferBytes = 0
  #runs: Run[] = []
  #nextRun = 0
  #count = 0

  constructor(dir: string, options: ExternalSorterOptions) {
    this.#dir = dir
    this.#runBytes = options.runBytes
    this.#readChunkBytes = options.readChunkBytes ?? 64 * 1024
    this.#fanIn = Math.max(2, options.fanIn ?? DEFAULT_FAN_IN)
  }

  /** Entries added so far. */
  get count(): number {
    return this.#count
  }

  /** Run files on disk now (after level merges). */
  get runs(): number {
    return this.#runs.length
  }

  /** Adds one entry; `json` must be one line (as `JSON.stringify` writes it). */
  async add(key: string, json: string): Promise<void> {
    this.#keys.push(key)
    this.#jsons.push(json)
    this.#count++
    this.#bufferBytes += key.length + json.length + ENTRY_OVERHEAD
    if (this.#bufferBytes >= this.#runBytes) await this.#spill()
  }

  /** Spills what is buffered, so the entries live on disk only until `sorted()`. */
  async finish(): Promise<void> {
    if (this.#keys.length > 0) await this.#spill()
  }

  /** All entries in key order (input order within a key). */
  async *sorted(): AsyncGenerator<SortedEntry> {
    await this.finish()
    for await (const line of this.#mergeLines(this.#runs)) yield parseEntry(line)
  }

  /** Removes the run files. */
  async close(): Promise<void> {
    this.#keys = []
    this.#jsons = []
    this.#bufferBytes = 0
    const runs = this.#runs
    this.#runs = []
    await Promise.all(runs.map((run) => rm(run.path, { force: true })))
  }

  /** The lines of `runs` in order. Lines are unique (each carries its seq): comparing them is a total order. */
  async *#mergeLines(runs: readonly Run[]): AsyncGenerator<string> {
    const readers = runs.map((run) => new LineReader(run.path, this.#readChunkBytes))
    const heap = new MinHeap<LineReader>((a, b) => (a.line! < b.line! ? -1 : 1))
    try {
      for (const reader of readers) if (await reader.advance()) heap.push(reader)
      for (let top = heap.pop(); top !== undefined; top = heap.pop()) {
        yield top.line!
        if (await top.advance()) heap.push(top)
      }
    } finally {
      await Promise.all(readers.map((r) => r.close()))
    }
  }

  /** Merges every `fanIn` runs of one level into one run of the next, until no level is full. */
  async #mergeFullLevels(): Promise<void> {
    for (;;) {
      const level = this.#runs.find((run) => this.#runs.filter((r) => r.level === run.level).length >= this.#fanIn)?.level
      if (level === undefined) return
      const group = this.#runs.filter((r) => r.level === level).slice(0, this.#fanIn)
      const merged = this.#newRun(level + 1)
      await writeLines(merged.path, this.#mergeLines(group))
      // Order of runs does not matter to the merge: every line carries its own seq.
      this.#runs = [...this.#runs.filter((r) => !group.includes(r)), merged]
      await Promise.all(group.map((run) => rm(run.path, { force: true })))
    }
  }

  #newRun(level: number): Run {
    return { path: join(this.#dir, `run-${this.#nextRun++}.txt`), level }
  }

  async #spill(): Promise<void> {
    const keys = this.#keys
    const jsons = this.#jsons
    const firstSeq = this.#firstSeq
    this.#keys = []
    this.#jsons = []
    this.#bufferBytes = 0
    this.#firstSeq = this.#count
    // Stable sort by key (UTF-16 code units, the order `<` uses in the merge and the join).
    const order = Array.from(keys, (_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b))
    await mkdir(this.#dir, { recursive: true })
    const run = this.#newRun(0)
    this.#runs.push(run)
    await writeLines(
      run.path,
      (function* () {
        for (const i of order) {
          yield formatEntry(keys[i]!, firstSeq + i, jsons[i]!)
          // Released as written, so the run file's text never doubles the buffer.
          jsons[i] = ''
        }
      })(),
    )
    await this.#mergeFullLevels()
  }
}

/** Writes lines to a new file in chunks, waiting for `drain`. */
async function writeLines(path: string, lines: Iterable<string> | AsyncIterable<string>): Promise<void> {
  const out = createWriteStream(path, { highWaterMark: WRITE_CHUNK, mode: 0o600 })
  try {
    let chunk: string[] = []
    let chunkLength = 0
    for await (const line of lines) {
      chunk.push(line)
      chunkLength += line.length + 1
      if (chunkLength >= WRITE_CHUNK) {
        chunk.push('')
        if (!out.write(chunk.join('\n'))) await once(out, 'drain')
        chunk = []
        chunkLength = 0
      }
    }
    if (chunk.length > 0) chunk.push('')
    out.end(chunk.join('\n'))
    await finished(out)
  } catch (error) {
    out.destroy()
    throw error
  }
}
