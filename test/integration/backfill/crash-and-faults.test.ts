import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { backfillWorkspace, generatedMapping, type BackfillWorkspace } from '../../support/backfill-workspace.ts'
import { runCli, startCli } from '../../support/run-cli.ts'
import { readNdjson, writeTestConfig } from '../../support/write-config.ts'

const mapping = generatedMapping

let ws: BackfillWorkspace | undefined
afterEach(async () => {
  await ws?.close()
  ws = undefined
})

describe('backfill under crashes and faults', () => {
  it('kill -9 at random moments, then restart: every expected user exactly once, nothing lost', async () => {
    ws = await backfillWorkspace(3000, { emulator: { record_delay_ms: 1, workers: 2 }, export: { malformedEvery: 997, gzip: true } })
    const { source, expected } = ws
    const config = await writeTestConfig(ws.dir, ws.target, { source, mapping, sink: { batch: { max_records: 150, linger_ms: 50 }, max_in_flight: 3 } })
    let kills = 0
    for (let round = 0; round < 4; round++) {
      const run = startCli(['backfill', '--config', config])
      await new Promise((resolve) => setTimeout(resolve, 400 + Math.floor(Math.random() * 900)))
      if (run.child.exitCode === null) {
        run.child.kill('SIGKILL')
        kills++
      }
      const result = await run.done
      expect(result.signal === 'SIGKILL' || result.code === 0 || result.code === 3).toBe(true)
    }
    expect(kills).toBeGreaterThan(0)
    const final = await runCli(['backfill', '--config', config])
    expect([0, 3]).toContain(final.code)
    ws.expectExactlyOnce()
    const report = await readNdjson(join(ws.dir, 'state', 'test.report.ndjson'))
    const reported = new Set(report.map((r) => r['source_key']))
    for (const key of expected.keys) expect(reported.has(key)).toBe(true)
  })

  it('with 20% injected faults (5xx, resets, crashed chunks) the run completes and imports everyone once', async () => {
    // About one request or chunk in five fails; with ~100 jobs (one chunk each) each kind of fault
    // strikes several times. The faults are random: with 50 jobs a run without a crashed chunk came
    // once in ~200 runs (0.9^50); with 100, once in ~38,000.
    ws = await backfillWorkspace(2500, { emulator: { faults: { error_rate: 0.1, reset_rate: 0.05, chunk_crash_rate: 0.1, latency_ms: 2 } }, export: { malformedEvery: 997, gzip: true } })
    const { source, expected } = ws
    const config = await writeTestConfig(ws.dir, ws.target, { source, mapping, sink: { batch: { max_records: 25 }, max_in_flight: 3 }, observability: { listen: '127.0.0.1:0', linger_seconds: 1 } })
    const run = startCli(['backfill', '--config', config])
    const scrapes: string[] = []
    let stderr = ''
    let scraping = false
    run.child.stderr!.on('data', (chunk: string) => {
      stderr += chunk
      const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)","msg":"Serving/.exec(stderr)?.[1]
      if (!url || scraping) return
      scraping = true
      void (async () => {
        while (run.child.exitCode === null) {
          try {
            scrapes.push(await (await fetch(`${url}/metrics`)).text())
          } catch {
            return
          }
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      })()
    })
    const result = await run.done
    expect([0, 3]).toContain(result.code)
    expect(ws.target.emulator.faultCounts.errors).toBeGreaterThan(0)
    expect(ws.target.emulator.faultCounts.resets).toBeGreaterThan(0)
    expect(ws.target.emulator.jobs.tasksCrashed).toBeGreaterThan(0)
    ws.expectExactlyOnce()
    const read = Number(/^\s+read\s+(\d+)/m.exec(result.stdout)?.[1])
    expect(read).toBe(expected.read)
    expect(result.stdout).not.toMatch(/pending/)
    // The faults cost nobody their import or their password: only the source's own bad records
    // are dead-lettered, and no user the faults made be sent twice is said to have lost a password.
    const dead = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.filter((line) => line['stage'] === 'sending')).toEqual([])
    const report = await readNdjson(join(ws.dir, 'state', 'test.report.ndjson'))
    expect(report.filter((line) => line['password_not_applied'])).toEqual([])
    expect(scrapes.length).toBeGreaterThan(0)
    // linger_seconds keeps /metrics up after the run, so the last scrape holds the final counts
    // (a crashed chunk in one of the last jobs was otherwise resent after the last scrape).
    const metrics = scrapes.at(-1)!
    expect(metrics).toMatch(/gearbridge_run_state\{state="finished"\} 1/)
    expect(metrics).toMatch(/gearbridge_retries_total\{reason="5xx"\} [1-9]/)
    expect(metrics).toMatch(/gearbridge_records_resent_total\{reason="crashed"\} [1-9]/)
    // No secrets and no personal data in metrics, logs or files.
    const hashes = (await readFile(join(ws.dir, 'data', 'password-hashes.ndjson'), 'utf8')).match(/\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}/g) ?? []
    expect(hashes.length).toBeGreaterThan(100)
    const files = await Promise.all(['test.report.ndjson', 'test.dead-letter.ndjson'].map((f) => readFile(join(ws!.dir, 'state', f), 'utf8').catch(() => '')))
    const everything = [result.stdout, result.stderr, ...scrapes, ...files].join('\n')
    for (const hash of hashes) expect(everything.includes(hash)).toBe(false)
    expect(everything).not.toContain(ws.target.privateKeyPem.split('\n')[1]!)
    expect(everything).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/)
    expect(scrapes.join('\n')).not.toMatch(/@/)
  })
})
