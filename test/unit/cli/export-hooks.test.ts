import { describe, expect, it } from 'vitest'
import { exportHooks } from '../../../src/cli/export.ts'
import { Metrics } from '../../../src/observability/metrics.ts'

describe('export download hooks', () => {
  it('count the bytes of a download started again on a renewed URL, instead of failing the renewal', async () => {
    const metrics = new Metrics()
    const { hooks, stop } = exportHooks(metrics, 'never')
    hooks.onBytes?.(4_000, 4_500)
    hooks.onBytes?.(4_400, 4_500)
    // The connection broke off; the renewed URL's download starts from its first byte.
    expect(() => hooks.onBytes?.(100, 4_500)).not.toThrow()
    hooks.onBytes?.(4_500, 4_500)
    stop()
    expect(await metrics.registry.metrics()).toMatch(/^gearbridge_export_bytes_total 8900$/m)
  })

  it('count every byte of each attempt, wherever the first one broke off', async () => {
    for (const brokeAt of [1_000, 50_000]) {
      const metrics = new Metrics()
      const { hooks } = exportHooks(metrics, 'never')
      hooks.onBytes?.(brokeAt, 100_000)
      hooks.onRenew?.(403)
      for (let bytes = 16_384; bytes < 100_000; bytes += 16_384) hooks.onBytes?.(bytes, 100_000)
      hooks.onBytes?.(100_000, 100_000)
      expect(await metrics.registry.metrics()).toMatch(new RegExp(`^gearbridge_export_bytes_total ${brokeAt + 100_000}$`, 'm'))
    }
  })
})
