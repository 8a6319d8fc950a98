import type { Counter, Gauge } from 'prom-client'
import { partitionKey } from './position.ts'

/** The metrics the Kafka connector updates (defined in src/observability/metrics.ts). */
export interface KafkaMetrics {
  readonly kafkaLag: Gauge<'topic' | 'partition'>
  readonly kafkaGroupMember: Gauge
  readonly kafkaAssignedPartitions: Gauge
  readonly kafkaRebalances: Counter<'kind'>
  readonly kafkaCommits: Counter<'result'>
}

interface PartitionStats {
  readonly hi_offset?: number
  readonly lo_offset?: number
  readonly app_offset?: number
  readonly committed_offset?: number
  readonly consumer_lag?: number
}

/**
 * Consumer lag per assigned partition: the partition's high watermark (from librdkafka's
 * statistics) minus the group's committed offset (this replica's last commit, or the later one
 * librdkafka's statistics report), else librdkafka's own `consumer_lag`. A group that has
 * committed nothing yet has no `consumer_lag` (-1): its lag is everything from where it starts
 * (the log start under `start_from: earliest`, the position it has reached under `latest`), so a
 * group stuck before its first commit still shows its lag, and the lag alert can fire. Statistics
 * come only while messages are consumed: while the read loop waits for the sink (the case the
 * alert is for) the source asks the broker for the watermarks instead (`fromWatermarks`). The
 * label set is bounded by the partitions assigned.
 */
export class ConsumerLag {
  readonly #metrics: KafkaMetrics | undefined
  readonly #startFrom: 'earliest' | 'latest'
  readonly #committed = new Map<string, number>()
  readonly #latest = new Map<string, number>()
  readonly #position = new Map<string, number>()
  readonly #high = new Map<string, number>()
  #statsAt = Date.now()

  constructor(metrics: KafkaMetrics | undefined, startFrom: 'earliest' | 'latest' = 'earliest') {
    this.#metrics = metrics
    this.#startFrom = startFrom
  }

  /**
   * A commit the broker confirmed. The gauge follows at once from the last high watermark known,
   * rather than at the next statistics: after a run's last commit none come, and the value left
   * (in `--metrics-out`, or on a lingering `/metrics`) would be a lag already gone.
   */
  committed(topic: string, partition: number, offset: number): void {
    const key = partitionKey(topic, partition)
    this.#committed.set(key, offset)
    const high = this.#high.get(key)
    if (high !== undefined) this.#show(key, topic, partition, Math.max(0, high - offset))
  }

  forget(topic: string, partition: number): void {
    const key = partitionKey(topic, partition)
    this.#committed.delete(key)
    this.#latest.delete(key)
    this.#position.delete(key)
    this.#high.delete(key)
    this.#metrics?.kafkaLag.remove({ topic, partition: String(partition) })
  }

  /** Lag last computed for a partition, for tests and logs. */
  lagOf(topic: string, partition: number): number | undefined {
    return this.#latest.get(partitionKey(topic, partition))
  }

  /** Reads one librdkafka statistics JSON document (emitted every `statistics.interval.ms`). */
  fromStats(json: string, assigned: ReadonlySet<string>): void {
    this.#statsAt = Date.now()
    let stats: { topics?: Record<string, { partitions?: Record<string, PartitionStats> }> }
    try {
      stats = JSON.parse(json) as typeof stats
    } catch {
      return
    }
    for (const [topic, t] of Object.entries(stats.topics ?? {})) {
      for (const [id, p] of Object.entries(t.partitions ?? {})) {
        const partition = Number(id)
        const key = partitionKey(topic, partition)
        if (partition < 0 || !assigned.has(key)) continue
        // Kept for the watermarks, which carry neither: the group's commit (a restarted replica
        // that has not committed yet) and, under `latest`, the position reached.
        if (p.committed_offset !== undefined && p.committed_offset > (this.#committed.get(key) ?? -1)) this.#committed.set(key, p.committed_offset)
        if (p.app_offset !== undefined && p.app_offset >= 0) this.#position.set(key, p.app_offset)
        const lag = this.#lagOf(key, p)
        if (lag === undefined) continue
        this.#show(key, topic, partition, lag)
      }
    }
  }

  /** Whether statistics have come within `withinMs` (they stop while the read loop waits). */
  statsSince(withinMs: number, now = Date.now()): boolean {
    return now - this.#statsAt <= withinMs
  }

  /** A partition's watermarks asked of the broker, when statistics have stopped coming. */
  fromWatermarks(topic: string, partition: number, low: number, high: number): void {
    const key = partitionKey(topic, partition)
    const position = this.#position.get(key)
    const lag = this.#lagOf(key, { hi_offset: high, lo_offset: low, ...(position !== undefined ? { app_offset: position } : {}) })
    if (lag !== undefined) this.#show(key, topic, partition, lag)
  }

  #show(key: string, topic: string, partition: number, lag: number): void {
    this.#latest.set(key, lag)
    this.#metrics?.kafkaLag.set({ topic, partition: String(partition) }, lag)
  }

  #lagOf(key: string, p: PartitionStats): number | undefined {
    const hi = p.hi_offset
    if (hi === undefined || hi < 0) return p.consumer_lag !== undefined && p.consumer_lag >= 0 ? p.consumer_lag : undefined
    this.#high.set(key, hi)
    const committed = this.#committed.get(key)
    if (committed !== undefined) return Math.max(0, hi - committed)
    if (p.consumer_lag !== undefined && p.consumer_lag >= 0) return p.consumer_lag
    const from = this.#startFrom === 'earliest' ? p.lo_offset : p.app_offset
    return from !== undefined && from >= 0 ? Math.max(0, hi - from) : undefined
  }
}
