import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startTestEmulator, type TestEmulator } from '../../support/emulator-harness.ts'
import { startLossyProxy, type LossyAction } from '../../support/lossy-proxy.ts'
import { runCli } from '../../support/run-cli.ts'
import { readNdjson, writeTestConfig } from '../../support/write-config.ts'

const bcrypt = `$2b$10$${'a'.repeat(53)}`

let cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

/** `n` database users with bcrypt hashes, imported through a proxy that loses the reply to the first POST. */
async function importThroughLostReply(options: { n: number; upsert: boolean; lose: LossyAction; recordDelayMs: number }) {
  const dir = await mkdtemp(join(tmpdir(), 'gb-ambiguous-'))
  const users = Array.from({ length: options.n }, (_, i) => ({ user_id: `auth0|${String(i + 1).padStart(24, '0')}`, email: `user${i}@example.com`, password_hash: bcrypt }))
  await writeFile(join(dir, 'users.ndjson'), users.map((u) => JSON.stringify(u)).join('\n') + '\n')
  const target: TestEmulator = await startTestEmulator(dir, { workers: 2, record_delay_ms: options.recordDelayMs })
  cleanup.push(async () => {
    await target.emulator.close()
    await rm(dir, { recursive: true, force: true })
  })
  let posts = 0
  const proxy = await startLossyProxy(target.emulator.url, (req) => (req.method === 'POST' && ++posts === 1 ? options.lose : 'pass'))
  cleanup.push(() => proxy.close())
  const config = await writeTestConfig(dir, target, {
    source: { type: 'auth0', files: 'users.ndjson' },
    sink: { endpoint: proxy.url, upsert: options.upsert, max_in_flight: 1, batch: { max_records: options.n, linger_ms: 20 }, request_timeout_ms: 500 },
  })
  const result = await runCli(['backfill', '--config', config, '--metrics-out', join(dir, 'run.prom')])
  return {
    result,
    target,
    report: await readNdjson(join(dir, 'state', 'test.report.ndjson')),
    dead: await readNdjson(join(dir, 'state', 'test.dead-letter.ndjson')),
    metrics: await readFile(join(dir, 'run.prom'), 'utf8'),
  }
}

/** What a user checks in the report: everyone has an Authgear user id, nobody failed, no password said lost. */
function expectEveryoneImported(run: Awaited<ReturnType<typeof importThroughLostReply>>, n: number): void {
  expect(run.result.code, run.result.stderr.slice(-2000)).toBe(0)
  expect(run.dead).toEqual([])
  expect(run.target.emulator.store.count()).toBe(n)
  expect(new Set(run.report.map((line) => line['source_key'])).size).toBe(n)
  for (const line of run.report) {
    expect(line['user_id'], JSON.stringify(line)).toEqual(run.target.emulator.store.findByLoginId('email', String(line['login']))!.id)
    expect(['inserted', 'skipped', 'updated']).toContain(line['outcome'])
    expect(line['password_not_applied']).toBeUndefined()
    // Found existing: the job the lost reply created imported it, and the outcome says it may have.
    if (line['outcome'] !== 'inserted') expect(String((line['warnings'] as string[] | undefined) ?? [])).toMatch(/may have created a job/)
  }
  expect(run.metrics).toMatch(/^gearbridge_records_resent_total\{reason="ambiguous_submit"\} [1-9]/m)
}

describe('an import POST whose reply is lost after Authgear created the job', () => {
  it('connection reset: the retry\'s job runs beside the unseen one, and the report still has everyone, with user ids', async () => {
    expectEveryoneImported(await importThroughLostReply({ n: 40, upsert: false, lose: 'reset', recordDelayMs: 3 }), 40)
  })

  it('retried while the unseen job is mid-way: users both jobs inserted at once are sent again, not dead-lettered', async () => {
    const run = await importThroughLostReply({ n: 10, upsert: false, lose: 'reset', recordDelayMs: 40 })
    expectEveryoneImported(run, 10)
    expect(run.metrics).toMatch(/^gearbridge_records_resent_total\{reason="raced"\} [1-9]/m)
  })

  it('reply withheld until the request times out, under upsert: no password is reported as not applied', async () => {
    expectEveryoneImported(await importThroughLostReply({ n: 40, upsert: true, lose: 'withhold', recordDelayMs: 3 }), 40)
  })

  it('a gateway 504 in place of the reply', async () => {
    expectEveryoneImported(await importThroughLostReply({ n: 40, upsert: false, lose: 'gateway-504', recordDelayMs: 3 }), 40)
  })
})
