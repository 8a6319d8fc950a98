import { describe, expect, it } from 'vitest'
import { ConsumerLag } from '../../../../connectors/kafka/consumer-lag.ts'
import { partitionKey } from '../../../../connectors/kafka/position.ts'

const assigned = new Set([0, 1, 2].map((p) => partitionKey('users', p)))
const stats = JSON.stringify({
  topics: {
    users: {
      partitions: {
        '-1': { hi_offset: -1 },
        '0': { hi_offset: 1570, lo_offset: 0, app_offset: 200, consumer_lag: -1 },
        '1': { hi_offset: 1570, lo_offset: 100, app_offset: 1500, consumer_lag: -1 },
        '2': { hi_offset: 1580, lo_offset: 0, app_offset: 1200, consumer_lag: 580 },
      },
    },
  },
})

describe('ConsumerLag', () => {
  it('shows the lag of a partition the group has committed nothing for, from where the group starts', () => {
    const earliest = new ConsumerLag(undefined, 'earliest')
    const latest = new ConsumerLag(undefined, 'latest')
    earliest.fromStats(stats, assigned)
    latest.fromStats(stats, assigned)
    // No committed offset (librdkafka's consumer_lag is -1): everything from the log start, or from the position reached.
    expect([0, 1, 2].map((p) => earliest.lagOf('users', p))).toEqual([1570, 1470, 580])
    expect([0, 1, 2].map((p) => latest.lagOf('users', p))).toEqual([1370, 70, 580])
    // Once this replica commits, the lag is counted from its commit.
    earliest.committed('users', 0, 1000)
    earliest.fromStats(stats, assigned)
    expect(earliest.lagOf('users', 0)).toBe(570)
  })

  it('takes the broker\'s watermarks when statistics stop coming (they come only while messages are consumed, not while the read waits for the sink)', () => {
    const lag = new ConsumerLag(undefined, 'earliest')
    lag.fromStats(stats, assigned)
    expect(lag.statsSince(10_000)).toBe(true)
    expect(lag.statsSince(10_000, Date.now() + 10_001)).toBe(false)
    lag.committed('users', 0, 1000)
    lag.fromWatermarks('users', 0, 0, 4000)
    expect(lag.lagOf('users', 0)).toBe(3000)
    // Nothing committed yet: from the log start, as with statistics.
    lag.fromWatermarks('users', 1, 100, 5100)
    expect(lag.lagOf('users', 1)).toBe(5000)
    // Under `latest` the position reached is not in the watermarks: the lag is left as it was.
    const latest = new ConsumerLag(undefined, 'latest')
    latest.fromWatermarks('users', 1, 100, 5100)
    expect(latest.lagOf('users', 1)).toBeUndefined()
    // A restarted replica that has not committed yet: from the group's committed offset (or the
    // position reached) the last statistics gave, not from the log start.
    const restarted = new ConsumerLag(undefined, 'earliest')
    restarted.fromStats(JSON.stringify({ topics: { users: { partitions: { '0': { hi_offset: 1_000_000, lo_offset: 0, app_offset: 999_000, committed_offset: 999_000, consumer_lag: 1000 } } } } }), assigned)
    restarted.fromWatermarks('users', 0, 0, 1_000_050)
    expect(restarted.lagOf('users', 0)).toBe(1050)
    latest.fromStats(JSON.stringify({ topics: { users: { partitions: { '1': { hi_offset: 5100, lo_offset: 100, app_offset: 5000, consumer_lag: -1 } } } } }), assigned)
    latest.fromWatermarks('users', 1, 100, 5300)
    expect(latest.lagOf('users', 1)).toBe(300)
  })

  it('moves the lag at a confirmed commit, without waiting for the next statistics (none come after a run\'s last commit)', () => {
    const lag = new ConsumerLag(undefined, 'earliest')
    // Committed before any watermark is known: nothing to count from yet.
    lag.committed('users', 0, 100)
    expect(lag.lagOf('users', 0)).toBeUndefined()
    lag.fromStats(stats, assigned)
    expect(lag.lagOf('users', 0)).toBe(1470)
    lag.committed('users', 0, 1500)
    expect(lag.lagOf('users', 0)).toBe(70)
    // Past the last high watermark known (messages came since): none, never a negative lag.
    lag.committed('users', 0, 1600)
    expect(lag.lagOf('users', 0)).toBe(0)
    // A partition handed on is forgotten with its watermark.
    lag.forget('users', 0)
    lag.committed('users', 0, 1700)
    expect(lag.lagOf('users', 0)).toBeUndefined()
  })
})
