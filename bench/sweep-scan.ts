/**
 * `gearbridge sweep` over a large table: starts a throwaway PostgreSQL or MariaDB (test/services),
 * fills `legacy_users` (bench/sql-legacy-table.ts), writes a login ledger holding every row's key
 * plus one key in `--absent-every` that the table does not have (rows deleted since their import),
 * then times `gearbridge sweep --dry-run` as the bin starts it (its heap flags and malloc
 * settings): the read of every row through the mapping, the comparison in SQLite, and the listing of
 * the missing rows.
 *
 *   node bench/sweep-scan.ts [--dialect postgres|mysql] [--rows 1000000] [--absent-every 100]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { stringify } from 'yaml'
import { loadConfig } from '../src/config/load-config.ts'
import { LoginLedger, loginLedgerPath, type LedgerItem } from '../src/runtime/login-ledger.ts'
import { loginLedgerIdentity, loginLedgerOwner } from '../src/runtime/pipeline-id.ts'
import { sharedMariadb } from '../test/services/mariadb.ts'
import { sharedPostgres } from '../test/services/postgres.ts'
import { launchSettings } from './launch-settings.ts'
import { createLegacyTable } from './sql-legacy-table.ts'

const { values } = parseArgs({ options: { dialect: { type: 'string', default: 'postgres' }, rows: { type: 'string', default: '1000000' }, 'absent-every': { type: 'string', default: '100' } } })
const rows = Number(values.rows)
const absentEvery = Number(values['absent-every'])
const print = (line: Record<string, unknown>) => console.log(JSON.stringify(line))
print({ machine: { nproc: cpus().length, cpu: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version } })

const db = values.dialect === 'postgres' ? await sharedPostgres() : await sharedMariadb()
const work = mkdtempSync(join(tmpdir(), 'gb-sweep-bench-'))
try {
  const generated = performance.now()
  await createLegacyTable(db, rows)
  if (db.dialect === 'postgres') await db.query(`GRANT SELECT ON legacy_users TO ${db.reader.user}`)
  print({ dialect: db.dialect, dataset: `legacy_users, ${rows} rows`, generateSeconds: +((performance.now() - generated) / 1000).toFixed(1) })

  const configPath = join(work, 'sweep.yaml')
  writeFileSync(
    configPath,
    stringify({
      name: 'bench',
      source: { type: 'sql', dialect: db.dialect, url: db.reader.url, table: 'legacy_users', key: 'id', columns: { email: 'email' } },
      sink: { endpoint: 'embedded', project_id: 'bench' },
      state: { dir: join(work, 'state') },
      observability: { listen: null, progress: 'never', log_level: 'warn' },
    }),
  )
  const { config } = await loadConfig(configPath)
  const written = performance.now()
  const ledger = new LoginLedger(loginLedgerPath(join(work, 'state'), 'bench'), { owner: loginLedgerOwner(config), identity: loginLedgerIdentity(config) })
  const absent = Math.floor(rows / absentEvery)
  const put = (key: string) => {
    const item: LedgerItem = { source: { key }, mapped: { identifier: 'email', identifierValue: `user${key}@example.com` } }
    ledger.sent(item, undefined)
    ledger.settled(item, { kind: 'inserted', userId: key })
  }
  for (let id = 1; id <= rows; id++) {
    put(String(id))
    if (id % absentEvery === 0) put(`gone-${id}`)
    if (id % 20_000 === 0) ledger.flush()
  }
  ledger.close()
  print({ ledger: `${rows + absent} keys, ${absent} of them not in the table`, writeSeconds: +((performance.now() - written) / 1000).toFixed(1) })

  const launch = launchSettings()
  const cli = new URL('../src/cli/main.ts', import.meta.url).pathname
  const started = performance.now()
  const child = spawn('/usr/bin/time', ['-v', process.execPath, ...launch.flags, cli, 'sweep', '--config', configPath, '--dry-run'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...launch.env } })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  const code = await new Promise<number | null>((done) => child.once('close', done))
  const seconds = (performance.now() - started) / 1000
  const listed = stdout.split('\n').filter((line) => line.startsWith('{')).length
  const peakKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1])
  const cpu = Number(/User time \(seconds\): ([\d.]+)/.exec(stderr)?.[1]) + Number(/System time \(seconds\): ([\d.]+)/.exec(stderr)?.[1])
  if (code !== 0 || listed !== absent) throw new Error(`sweep exited ${code} listing ${listed} of ${absent} rows:\n${stdout.slice(0, 2000)}\n${stderr.slice(-2000)}`)
  print({ bench: 'sweep --dry-run', dialect: db.dialect, rows, listed, seconds: +seconds.toFixed(2), rowsPerSecond: Math.round(rows / seconds), cpuSeconds: +cpu.toFixed(1), peakRssMb: Math.round(peakKb / 1024), summary: stdout.split('\n')[0] })
} finally {
  rmSync(work, { recursive: true, force: true })
  await db.stop()
}
