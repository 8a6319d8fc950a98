import { describe, expect, it } from 'vitest'
import { lingerForScrape } from '../../../src/observability/linger.ts'
import { context } from '../connectors/auth0/helpers.ts'

describe('lingerForScrape', () => {
  it('waits the configured time, says so, and ends at once on a signal', async () => {
    const ctx = context()
    let started = performance.now()
    await lingerForScrape(0.3, ctx.signal, ctx.logger)
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)
    expect(ctx.lines.map((line) => line.obj)).toEqual([{ seconds: 0.3 }])

    const stop = new AbortController()
    started = performance.now()
    setTimeout(() => stop.abort(), 50)
    await lingerForScrape(60, stop.signal, ctx.logger)
    expect(performance.now() - started).toBeLessThan(1000)

    started = performance.now()
    await lingerForScrape(60, stop.signal, ctx.logger)
    await lingerForScrape(0, new AbortController().signal, ctx.logger)
    expect(performance.now() - started).toBeLessThan(50)
  })
})
