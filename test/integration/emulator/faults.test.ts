import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { emailRecords, startHarness, type Harness } from './harness.ts'

describe('fault injection', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(() => h.close())

  it('answers 500/503 JSON errors at error_rate without doing the work', async () => {
    h.emulator.faults.error_rate = 1
    try {
      const statuses = new Set<number>()
      for (let i = 0; i < 20; i++) {
        const res = await h.importUsers({ identifier: 'email', records: emailRecords(1, `err${i}`) })
        statuses.add(res.status)
        expect(['UnexpectedError', 'ServiceUnavailable']).toContain(res.json.error.reason)
      }
      expect([...statuses].every((s) => s === 500 || s === 503)).toBe(true)
      expect(h.emulator.jobs.jobsCreated).toBe(0)
    } finally {
      h.emulator.faults.error_rate = 0
    }
  })

  it('holds the reply for stall_ms at stall_rate', async () => {
    h.emulator.faults.stall_rate = 1
    h.emulator.faults.stall_ms = 300
    try {
      const started = Date.now()
      const res = await h.call('GET', '/_api/admin/users/import/userimport_X')
      expect(res.status).toBe(404)
      expect(Date.now() - started).toBeGreaterThanOrEqual(290)
      expect(h.emulator.faultCounts.stalls).toBe(1)
    } finally {
      h.emulator.faults.stall_rate = 0
    }
  })

  it('adds latency_ms to every reply', async () => {
    h.emulator.faults.latency_ms = 150
    try {
      const started = Date.now()
      await h.call('GET', '/_api/admin/users/import/userimport_X')
      expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    } finally {
      h.emulator.faults.latency_ms = 0
    }
  })

  it('destroys the socket at reset_rate, after the job was created', async () => {
    h.emulator.faults.reset_rate = 1
    const before = h.emulator.jobs.jobsCreated
    try {
      await expect(h.importUsers({ identifier: 'email', records: emailRecords(1, 'reset') })).rejects.toThrow()
    } finally {
      h.emulator.faults.reset_rate = 0
    }
    expect(h.emulator.faultCounts.resets).toBe(1)
    expect(h.emulator.jobs.jobsCreated).toBe(before + 1)
  })

  it('crashes chunk tasks at chunk_crash_rate: committed but unreported records, job-level error', async () => {
    h.emulator.faults.chunk_crash_rate = 1
    const usersBefore = h.emulator.store.count()
    try {
      const post = await h.importUsers({ identifier: 'email', records: emailRecords(300, 'crash') })
      const done = await h.waitForJob(post.json.result.id)
      expect(done.status).toBe('completed')
      expect(done.error).toMatchObject({ reason: 'UnexpectedError', code: 500 })
      expect(done.summary).toEqual({ total: 0, inserted: 0, updated: 0, skipped: 0, failed: 0 })
      expect(done.details).toBeUndefined()
      expect(h.emulator.jobs.tasksCrashed).toBeGreaterThanOrEqual(3)
      expect(h.emulator.store.count() - usersBefore).toBeLessThan(300)
    } finally {
      h.emulator.faults.chunk_crash_rate = 0
    }
  })
})
