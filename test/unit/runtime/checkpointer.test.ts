import { describe, expect, it } from 'vitest'
import { Checkpointer } from '../../../src/runtime/checkpointer.ts'

describe('Checkpointer', () => {
  it('commits only the contiguous prefix of fully settled batches', () => {
    const c = new Checkpointer<number>()
    const a = c.track(1, 2)
    const b = c.track(2, 1)
    const d = c.track(3, 1)
    b.settle()
    d.settle()
    expect(c.committed).toBeUndefined()
    a.settle()
    expect(c.committed).toBeUndefined()
    a.settle()
    expect(c.committed).toBe(3)
    expect(c.pending).toBe(0)
  })

  it('moves over empty heartbeat batches once everything before them settled', () => {
    const c = new Checkpointer<string>('start')
    const a = c.track('a', 1)
    c.track('b', 0)
    expect(c.committed).toBe('start')
    a.settle()
    expect(c.committed).toBe('b')
    expect(c.takeDirty()).toBe(true)
    expect(c.takeDirty()).toBe(false)
  })

  it('counts the dead-lettered records the committed position covers, not those settled past it', () => {
    const c = new Checkpointer<number>()
    const a = c.track(1, 2)
    const b = c.track(2, 2)
    b.settle(1, true)
    b.settle(1, false)
    expect(c.committedDeadLettered).toBe(0)
    a.settle(1, true)
    a.settle(1)
    expect(c.committed).toBe(2)
    expect(c.committedRecords).toBe(4)
    expect(c.committedDeadLettered).toBe(2)
  })

  it('names the records settled past the committed position, for a stopped run to save', () => {
    const c = new Checkpointer<number>(undefined, { nameSettled: true })
    const a = c.track(1, 2)
    const b = c.track(2, 2)
    const d = c.track(3, 1)
    a.settle(1, false, 'f:1')
    b.settle(1, false, 'f:3')
    b.settle(1, true, 'f:4')
    d.settle(1, false, 'f:5')
    // f:2 has no outcome: everything from its batch on is past the committed position.
    expect(c.committed).toBeUndefined()
    // f:2 went out in a job that has not answered: the next run must read its outcome as a resend's.
    a.sent?.('f:2')
    expect(c.settledAhead(10)).toEqual({ origins: ['f:1', 'f:3', 'f:4', 'f:5'], deadLettered: ['f:4'], sentUnsettled: ['f:2'] })
    expect(c.settledAhead(2)).toEqual({ origins: ['f:1'], deadLettered: [], sentUnsettled: ['f:2'] })
    a.settle(1, false, 'f:2')
    expect(c.committed).toBe(3)
    expect(c.settledAhead(10)).toEqual({ origins: [], deadLettered: [], sentUnsettled: [] })
    // A run that cannot resume by origin keeps none of them on the way.
    const plain = new Checkpointer<number>()
    plain.track(1, 2).settle(1, false, 'f:1')
    expect(plain.settledAhead(10).origins).toEqual([])
  })

  it('refuses to settle more records than a batch had', () => {
    const c = new Checkpointer<number>()
    const a = c.track(1, 1)
    a.settle()
    expect(() => a.settle()).toThrow(/only 0 were pending/)
  })

  it('keeps working across queue compaction with out-of-order settling', () => {
    const c = new Checkpointer<number>()
    const tickets = Array.from({ length: 5000 }, (_, i) => c.track(i, 1))
    for (let i = tickets.length - 1; i >= 1; i--) tickets[i]!.settle()
    expect(c.committed).toBeUndefined()
    tickets[0]!.settle()
    expect(c.committed).toBe(4999)
  })

  it('counts only the records the committed position covers, not those settled past it', () => {
    const c = new Checkpointer<number>()
    const first = c.track(1, 2)
    const second = c.track(2, 3)
    c.track(3, 0)
    second.settle(3)
    expect(c.committedRecords).toBe(0)
    first.settle()
    expect(c.committedRecords).toBe(0)
    first.settle()
    expect(c.committed).toBe(3)
    expect(c.committedRecords).toBe(5)
  })
})
