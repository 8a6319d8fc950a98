/** A stored job: anything with a creation time in nanoseconds. */
interface Expiring {
  readonly id: string
  readonly createdAtNs: bigint
}

/**
 * Jobs by ID with Authgear's retention: a job is gone (404 TaskNotFound) `ttlSeconds` after the
 * time `retainedFrom` gives: its creation for import jobs, whether or not they finished; the end
 * of an export task once it finished. Expired jobs are dropped on access and by a periodic sweep,
 * so their details stop holding memory.
 */
export class JobStore<J extends Expiring> {
  readonly #jobs = new Map<string, J>()
  readonly #ttlNs: bigint
  readonly #now: () => bigint
  readonly #retainedFrom: (job: J) => bigint
  readonly #sweep: NodeJS.Timeout

  constructor(ttlSeconds: number, now: () => bigint, retainedFrom: (job: J) => bigint = (job) => job.createdAtNs) {
    this.#ttlNs = BigInt(Math.round(ttlSeconds * 1e9))
    this.#now = now
    this.#retainedFrom = retainedFrom
    this.#sweep = setInterval(() => this.sweep(), Math.min(60_000, Math.max(50, ttlSeconds * 1000))).unref()
  }

  add(job: J): void {
    this.#jobs.set(job.id, job)
  }

  /** The live job with `id`, or undefined when unknown or expired. */
  get(id: string): J | undefined {
    const job = this.#jobs.get(id)
    if (job === undefined) return undefined
    if (this.#expired(job)) {
      this.#jobs.delete(id)
      return undefined
    }
    return job
  }

  /** Live jobs, oldest first. */
  *values(): IterableIterator<J> {
    for (const job of this.#jobs.values()) if (!this.#expired(job)) yield job
  }

  sweep(): void {
    for (const [id, job] of this.#jobs) if (this.#expired(job)) this.#jobs.delete(id)
  }

  close(): void {
    clearInterval(this.#sweep)
  }

  #expired(job: J): boolean {
    return this.#now() - this.#retainedFrom(job) >= this.#ttlNs
  }
}
