import { describe, expect, it } from 'vitest'
import { emulatorConfigSchema } from '../../../src/emulator/config.ts'

describe('emulatorConfigSchema', () => {
  it('fills Authgear-like defaults', () => {
    const config = emulatorConfigSchema.parse({})
    expect(config).toMatchObject({
      port: 0,
      auth: 'jwt',
      clock_skew_seconds: 300,
      login_id_keys: ['email', 'phone', 'username'],
      workers: 2,
      record_delay_ms: 0,
      job_ttl_seconds: 86_400,
      quota: { user_import: [] },
      faults: { error_rate: 0, latency_ms: 0, stall_rate: 0, reset_rate: 0, chunk_crash_rate: 0 },
    })
  })

  it('rejects unknown keys and out-of-range rates', () => {
    expect(emulatorConfigSchema.safeParse({ prot: 1 }).success).toBe(false)
    expect(emulatorConfigSchema.safeParse({ faults: { error_rate: 2 } }).success).toBe(false)
    expect(emulatorConfigSchema.safeParse({ quota: { user_import: [{ quota: 10, period: 'week' }] } }).success).toBe(false)
  })

  it('documents every field', () => {
    const shape = emulatorConfigSchema.shape
    for (const [key, field] of Object.entries(shape)) expect(field.description, key).toBeTruthy()
  })
})
