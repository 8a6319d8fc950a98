import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { finished } from 'node:stream/promises'
import { MinHeap } from './min-heap.ts'
import { compareEntries, formatEntry, parseEntry, type SortedEntry } from './sorted-entry.ts'

/**
 * An external merge sort over NDJSON-like run files, so reconcile's memory depends on
 * `runRecords`, not on the number of users: `add` buffers entries and, every `runRecords`, sorts
 * them and spills a run file; `sorted()` merges the runs k-way with a heap, holding one entry per
 * run (plus each file's read buffer). With 100,000 records per run a million users make 10 runs.
 *
 * Not safe for concurrent `add` and `sorted`: fill first, then read once.
 */
export class ExternalSorter {
  readonly #dir: string
  readonly #runRecords: number
  #buffer: SortedEntry[] = []
  readonly #runs: string[] = []
  #count = 0

  constructor(dir: string, runRecords: number) {
    this.#dir = dir
    this.#runRecords = runRecords
  }

  /** Entries added so far. */
  get count(): number {
    return this.#count
  }

  async add(key: string, json: string): Promise<void> {
    this.#buffer.push({ key, seq: this.#count++, json })
    if (this.#buffer.length >= this.#runRecords) await this.#spill()
  }

  /** All entries in key order (input order within a key). */
  async *sorted(): AsyncGenerator<SortedEntry> {
    if (this.#runs.length === 0) {
      // Everything fits in one run: no file needed.
      const entries = this.#buffer.sort(compareEntries)
      this.#buffer = []
      yield* entries
      return
    }
    if (this.#buffer.length > 0) await this.#spill()
    const readers = this.#runs.map((path) => runReader(path))
    const heap = new MinHeap<{ entry: SortedEntry; reader: AsyncGenerator<SortedEntry> }>((a, b) => compareEntries(a.entry, b.entry))
    try {
      for (const reader of readers) {
        const first = await reader.next()
        if (!first.done) heap.push({ entry: first.value, reader })
      }
      for (let top = heap.pop(); top !== undefined; top = heap.pop()) {
        yield top.entry
        const next = await top.reader.next()
        if (!next.done) heap.push({ entry: next.value, reader: top.reader })
      }
    } finally {
      await Promise.all(readers.map((r) => r.return(undefined)))
    }
  }

  /** Removes the run files. */
  async close(): Promise<void> {
    this.#buffer = []
    await Promise.all(this.#runs.map((path) => rm(path, { force: true })))
  }

  async #spill(): Promise<void> {
    const entries = this.#buffer.sort(compareEntries)
    this.#buffer = []
    await mkdir(this.#dir, { recursive: true })
    const path = join(this.#dir, `run-${this.#runs.length}.tsv`)
    this.#runs.push(path)
    const out = createWriteStream(path, { highWaterMark: 1 << 20 })
    let chunk = ''
    for (const entry of entries) {
      chunk += formatEntry(entry)
      if (chunk.length > 1 << 20) {
        if (!out.write(chunk)) await once(out, 'drain')
        chunk = ''
      }
    }
    out.end(chunk)
    await finished(out)
  }
}

async function* runReader(path: string): AsyncGenerator<SortedEntry> {
  const input = createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 })
  const lines = createInterface({ input, crlfDelay: Infinity })
  try {
    for await (const line of lines) if (line !== '') yield parseEntry(line)
  } finally {
    lines.close()
    input.destroy()
  }
}
