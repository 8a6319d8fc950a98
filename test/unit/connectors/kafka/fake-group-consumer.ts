import { setTimeout as sleep } from 'node:timers/promises'
import type { Message } from 'node-rdkafka'
import type { ConsumerHandlers, ConsumerSettings } from '../../../../connectors/kafka/consumer.ts'
import type { PartitionOffset } from '../../../../connectors/kafka/position.ts'

/**
 * The consumer group as the Kafka source sees it, played by a test: the settings it joins with,
 * its rebalance handlers, the messages it will fetch and every commit. A test file replaces the
 * real consumer with `vi.mock('…/connectors/kafka/consumer.ts', () => import('./fake-group-consumer.ts'))`.
 */
export const group = {
  settings: [] as ConsumerSettings[],
  handlers: undefined as ConsumerHandlers | undefined,
  fetched: [] as Message[][],
  committed: [] as PartitionOffset[][],
}

/** Assigned partition 0 of `users` on connect; at its end whenever nothing is queued to fetch. */
export class GroupConsumer {
  connected = false

  constructor(settings: ConsumerSettings, handlers: ConsumerHandlers) {
    group.settings.push(settings)
    group.handlers = handlers
  }

  async connect(): Promise<void> {
    this.connected = true
    group.handlers!.onAssign([{ topic: 'users', partition: 0 }], () => undefined)
  }

  async consume(): Promise<Message[]> {
    const next = group.fetched.shift()
    if (next) return next
    group.handlers!.onEof('users', 0, 0)
    await sleep(5)
    return []
  }

  commit(offsets: PartitionOffset[]): void {
    group.committed.push(offsets)
  }

  commitSync(offsets: PartitionOffset[]): void {
    group.committed.push(offsets)
  }

  async disconnect(): Promise<void> {
    this.connected = false
  }
}

/** A JSON message of partition 0 of `users`. */
export function message(offset: number, value: object): Message {
  return { topic: 'users', partition: 0, offset, value: Buffer.from(JSON.stringify(value)), size: 0, timestamp: 0 } as Message
}
