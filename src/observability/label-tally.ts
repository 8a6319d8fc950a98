import type { Counter } from 'prom-client'

/**
 * Counts for a counter with one or two labels, gathered in plain maps and handed to prom-client
 * when the counter is read (a scrape, `get()`). prom-client hashes the label object on every
 * `inc`, which costs more than the rest of a record's bookkeeping; per-record counters go through
 * a tally instead, and a scrape still sees every count.
 */
export class LabelTally<L extends string> {
  readonly #counter: Counter<L>
  readonly #first: L
  readonly #second: L | undefined
  readonly #counts = new Map<string, Map<string, number>>()

  constructor(counter: Counter<L>, first: L, second?: L) {
    this.#counter = counter
    this.#first = first
    this.#second = second
  }

  inc(first: string, second = '', by = 1): void {
    let inner = this.#counts.get(first)
    if (inner === undefined) this.#counts.set(first, (inner = new Map()))
    inner.set(second, (inner.get(second) ?? 0) + by)
  }

  /** Moves the gathered counts into the counter. */
  flush(): void {
    for (const [first, inner] of this.#counts) {
      for (const [second, count] of inner) {
        if (count === 0) continue
        const labels = { [this.#first]: first } as Partial<Record<L, string>>
        if (this.#second !== undefined) labels[this.#second] = second
        this.#counter.inc(labels, count)
        inner.set(second, 0)
      }
    }
  }
}
