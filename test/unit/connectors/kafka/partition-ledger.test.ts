import { describe, expect, it } from 'vitest'
import { PartitionLedger } from '../../../../connectors/kafka/partition-ledger.ts'
import type { KafkaPosition } from '../../../../connectors/kafka/position.ts'

const tp = (partition: number) => ({ topic: 't', partition })

describe('PartitionLedger', () => {
  it('commits each partition over its contiguous settled prefix only, whatever order batches settle in', () => {
    const ledger = new PartitionLedger()
    ledger.assign([tp(0), tp(1)])
    const g = ledger.generationOf('t', 0)!
    const pos = (partition: number, offset: number, seq: number): KafkaPosition => ({ topic: 't', partition, offset, generation: g, seq })
    const a = pos(0, 10, 1)
    const b = pos(0, 20, 2)
    const c = pos(1, 5, 3)
    ledger.track(a, 0)
    ledger.track(b, 10)
    ledger.track(c, 0)
    ledger.settle(b)
    ledger.settle(c)
    // Partition 0's first batch is still in flight: nothing of partition 0 is committed; partition 1 is.
    expect(ledger.toCommit(ledger.snapshot())).toEqual([{ topic: 't', partition: 1, offset: 5 }])
    ledger.settle(a)
    expect(ledger.toCommit(ledger.snapshot())).toEqual([{ topic: 't', partition: 0, offset: 20 }])
    // Nothing moved: nothing to commit again.
    expect(ledger.toCommit(ledger.snapshot())).toEqual([])
  })

  it('knows a message committed past only once the broker confirmed it, and keeps knowing it after the partition moves', () => {
    const ledger = new PartitionLedger()
    ledger.assign([tp(0)])
    expect(ledger.committedPast('t', 0, 4)).toBe(false)
    ledger.confirmed('t', 0, 5)
    expect(ledger.committedPast('t', 0, 4)).toBe(true)
    expect(ledger.committedPast('t', 0, 5)).toBe(false)
    // An older confirmation arriving late never moves it back.
    ledger.confirmed('t', 0, 3)
    expect(ledger.committedPast('t', 0, 4)).toBe(true)
    expect(ledger.committedPast('t', 1, 0)).toBe(false)
    // The group's offset does not go back when another replica takes the partition; a confirmation arriving after the revoke counts too.
    ledger.revoke([tp(0)])
    expect(ledger.committedPast('t', 0, 4)).toBe(true)
    ledger.confirmed('t', 0, 9)
    expect(ledger.committedPast('t', 0, 8)).toBe(true)
  })

  it('says a partition is settled through an offset only by batches of the generation that has it', () => {
    const ledger = new PartitionLedger()
    ledger.assign([tp(0)])
    const first = { topic: 't', partition: 0, offset: 10, generation: ledger.generationOf('t', 0)!, seq: 1 }
    ledger.track(first, 0)
    expect(ledger.settledThrough('t', 0, 10)).toBe(false)
    // Told by a caller, not by a batch: not enough.
    ledger.settledBefore('t', 0, 10)
    expect(ledger.settledThrough('t', 0, 10)).toBe(false)
    ledger.settle(first)
    expect(ledger.settledThrough('t', 0, 10)).toBe(true)
    expect(ledger.settledThrough('t', 0, 11)).toBe(false)
    // Taken up again: the earlier generation's batches no longer count.
    ledger.assign([tp(0)])
    expect(ledger.settledThrough('t', 0, 10)).toBe(false)
  })

  it('never commits a revoked partition, even when its in-flight batches settle later or it comes back', () => {
    const ledger = new PartitionLedger()
    ledger.assign([tp(0)])
    const first = { topic: 't', partition: 0, offset: 10, generation: ledger.generationOf('t', 0)!, seq: 1 }
    ledger.track(first, 0)
    const before = ledger.snapshot()
    ledger.revoke([tp(0)])
    ledger.settle(first)
    expect(ledger.toCommit(ledger.snapshot())).toEqual([])
    ledger.assign([tp(0)])
    // A snapshot from the earlier generation is not committed into the new one.
    expect(ledger.toCommit(before)).toEqual([])
    ledger.settle(first)
    expect(ledger.toCommit(ledger.snapshot())).toEqual([])
    expect(ledger.generationOf('t', 0)).not.toBe(first.generation)
  })

  it('commits only what was settled when the snapshot was taken (before the dead letter is flushed)', () => {
    const ledger = new PartitionLedger()
    ledger.assign([tp(0)])
    const g = ledger.generationOf('t', 0)!
    const a = { topic: 't', partition: 0, offset: 3, generation: g, seq: 1 }
    const b = { topic: 't', partition: 0, offset: 6, generation: g, seq: 2 }
    ledger.track(a, 0)
    ledger.track(b, 3)
    ledger.settle(a)
    const snapshot = ledger.snapshot()
    ledger.settle(b)
    expect(ledger.toCommit(snapshot)).toEqual([{ topic: 't', partition: 0, offset: 3 }])
    expect(ledger.toCommit(ledger.snapshot())).toEqual([{ topic: 't', partition: 0, offset: 6 }])
  })

  it('commits up to a record inside a batch once everything before it is settled (an identifier change about to be sent), and never back', () => {
    const ledger = new PartitionLedger()
    ledger.assign([tp(0)])
    const g = ledger.generationOf('t', 0)!
    const a = { topic: 't', partition: 0, offset: 10, generation: g, seq: 1 }
    const b = { topic: 't', partition: 0, offset: 20, generation: g, seq: 2 }
    ledger.track(a, 4)
    ledger.track(b, 10)
    ledger.settle(a)
    // The change read at offset 15: offsets 10 to 14 have their outcomes.
    expect(ledger.settledBefore('t', 0, 15)).toBe(true)
    expect(ledger.toCommit(ledger.snapshot())).toEqual([{ topic: 't', partition: 0, offset: 15 }])
    ledger.settle(b)
    expect(ledger.toCommit(ledger.snapshot())).toEqual([{ topic: 't', partition: 0, offset: 20 }])
    // A record read before this replica took the partition up again is no guide: another owner may have committed further.
    ledger.revoke([tp(0)])
    ledger.assign([tp(0)])
    ledger.track({ topic: 't', partition: 0, offset: 40, generation: ledger.generationOf('t', 0)!, seq: 3 }, 30)
    expect(ledger.settledBefore('t', 0, 25)).toBe(false)
    expect(ledger.settledBefore('t', 1, 25)).toBe(false)
    expect(ledger.toCommit(ledger.snapshot())).toEqual([])
  })
})
