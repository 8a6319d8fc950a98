/**
 * The cost of the login ledger a table's runs keep (src/runtime/login-ledger.ts), per record, as
 * the pipeline uses it: the keys of each page of 1,000 rows read at once, a lookup when the record is accepted, `sent`, `sending` for
 * each job of 1,000 before it is posted (`--without-sending` leaves it out), `settled` when its
 * outcome arrives, and a `flush` every `--flush-every` records (one per checkpoint save). Run twice over
 * one ledger file: the first pass finds nothing (a first backfill), the second finds every key (a
 * backfill or sync over rows imported before). Prints one JSON line per pass.
 *
 *   node bench/login-ledger.ts [--rows 1000000] [--flush-every 20000] [--order key|random] [--without-sending]
 */
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { LoginLedger, type LedgerItem } from '../src/runtime/login-ledger.ts'

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, 'flush-every': { type: 'string', default: '20000' }, order: { type: 'string', default: 'key' }, 'without-sending': { type: 'boolean', default: false } } })
/** `key`: rows in key order, as a backfill's snapshot reads them; `random`: as a sync meets changed rows. */
const order = values.order
const rows = Number(values.rows)
const flushEvery = Number(values['flush-every'])
const dir = await mkdtemp(join(tmpdir(), 'gb-ledger-bench-'))
const path = join(dir, 'bench.logins.sqlite')

function pass(name: string): void {
  const ledger = new LoginLedger(path)
  let found = 0
  const cpu = process.cpuUsage()
  const started = process.hrtime.bigint()
  const keyOf = (i: number) => String(order === 'key' ? i : (i * 7919) % rows)
  let job: LedgerItem[] = []
  const settleJob = (): void => {
    if (!values['without-sending']) ledger.sending(job)
    for (const item of job) ledger.settled(item, { kind: 'inserted', userId: 'u' })
    job = []
  }
  for (let i = 0; i < rows; i++) {
    // As the pipeline does for each batch of a SQL source (a page of 1,000 rows).
    if (i % 1000 === 0) ledger.prefetch(Array.from({ length: Math.min(1000, rows - i) }, (_, j) => keyOf(i + j)))
    const key = keyOf(i)
    const prior = ledger.lookup(key)
    if (prior !== undefined) found++
    const item: LedgerItem = { source: { key }, mapped: { identifier: 'email', identifierValue: `user${key}@example.com` }, logins: [{ identifier: 'preferred_username', value: `user${key}` }] }
    ledger.sent(item, prior)
    job.push(item)
    if (job.length === 1000) settleJob()
    if ((i + 1) % flushEvery === 0) ledger.flush()
  }
  settleJob()
  ledger.flush()
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const used = process.cpuUsage(cpu)
  ledger.close()
  console.log(JSON.stringify({ bench: 'login-ledger', pass: name, order, sending: !values['without-sending'], rows, found, seconds: +seconds.toFixed(2), microsecondsPerRecord: +((seconds * 1e6) / rows).toFixed(2), cpuSeconds: +((used.user + used.system) / 1e6).toFixed(2), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }))
}

try {
  pass('first (empty ledger)')
  pass('second (every key known)')
  console.log(JSON.stringify({ bench: 'login-ledger', fileMb: +((await stat(path)).size / 2 ** 20).toFixed(1) }))
} finally {
  await rm(dir, { recursive: true, force: true })
}
