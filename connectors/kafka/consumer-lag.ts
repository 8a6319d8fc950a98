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
  readonly consumer_lag?: number
}

/**
 * Consumer lag per assigned partition: the partition's high watermark (from librdkafka's
 * statistics) minus the offset this replica last committed. Before the first commit it falls
 * back to librdkafka's own `consumer_lag`. The label set is bounded by the partitions assigned.
 */
export class ConsumerLag {
  readonly #metrics: KafkaMetrics | undefined
  readonly #committed = new Map<string, number>()
  readonly #latest = new Map<string, number>()

  constructor(metrics: KafkaMetrics | undefined) {
    this.#metrics = metrics
  }

  committed(topic: string, partition: number, offset: number): void {
    this.#committed.set(partitionKey(topic, partition), offset)
  }

  forget(topic: string, partition: number): void {
    const key = partitionKey(topic, partition)
    this.#committed.delete(key)
    this.#latest.delete(key)
    this.#metrics?.kafkaLag.remove({ topic, partition: String(partition) })
  }

  /** Lag last computed for a partition, for tests and logs. */
  lagOf(topic: string, partition: number): number | undefined {
    return this.#latest.get(partitionKey(topic, partition))
  }

  /** Reads one librdkafka statistics JSON document (emitted every `statistics.interval.ms`). */
  fromStats(json: string, assigned: ReadonlySet<string>): void {
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
        const committed = this.#committed.get(key)
        const lag = p.hi_offset !== undefined && p.hi_offset >= 0 && committed !== undefined ? Math.max(0, p.hi_offset - committed) : p.consumer_lag
        if (lag === undefined || lag < 0) continue
        this.#latest.set(key, lag)
        this.#metrics?.kafkaLag.set({ topic, partition: String(partition) }, lag)
      }
    }
  }
}
