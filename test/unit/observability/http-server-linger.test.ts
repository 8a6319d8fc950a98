import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { startObservabilityServer } from '../../../src/observability/http-server.ts'
import { context } from '../connectors/auth0/helpers.ts'

const status = (url: string) => fetch(url).then((res) => res.status, () => 'closed' as const)

describe('observability server, closed with observability.linger_seconds', () => {
  it('keeps /metrics up for the final scrape with /readyz at 503, says so, then closes; a signal ends the wait', async () => {
    const ctx = context()
    const server = await startObservabilityServer('127.0.0.1:0', new Registry(), { ready: () => true })
    expect(await status(`${server.url}/readyz`)).toBe(200)
    const started = performance.now()
    const closed = server.close({ seconds: 0.5, signal: ctx.signal, logger: ctx.logger })
    expect(await status(`${server.url}/metrics`)).toBe(200)
    expect(await status(`${server.url}/readyz`)).toBe(503)
    await closed
    expect(performance.now() - started).toBeGreaterThanOrEqual(490)
    expect(await status(`${server.url}/metrics`)).toBe('closed')
    expect(ctx.lines.map((line) => line.obj)).toEqual([{ seconds: 0.5 }])

    const stop = new AbortController()
    const second = await startObservabilityServer('127.0.0.1:0', new Registry(), { ready: () => true })
    const waited = performance.now()
    setTimeout(() => stop.abort(), 50)
    await second.close({ seconds: 60, signal: stop.signal, logger: ctx.logger })
    expect(performance.now() - waited).toBeLessThan(1000)
  })
})
