/**
 * SQL source benchmark. Starts a throwaway PostgreSQL and/or MariaDB (test/services), fills a
 * `legacy_users` table with generated rows, then times:
 * - the database's own client streaming the table to /dev/null (the baseline):
 *   `psql -c "\copy (SELECT * FROM legacy_users) TO '/dev/null'"` and
 *   `mariadb --quick -e "SELECT * FROM legacy_users" > /dev/null`;
 * - gearbridge reading the table through the SQL source and the mapping into a null sink
 *   (bench/sql-read-map.ts), as one process, and as P processes each reading a key range
 *   through `source.query` (the N × gearbridge scale-out shape).
 * Prints one JSON line per measurement.
 *
 * - with `--pipeline`: the whole backfill path into a null sink (bench/null-sink-pipeline.ts:
 *   mapping, batching, checkpoints), without and with the login ledger.
 *
 *   node bench/sql-bench.ts [--dialect postgres|mysql|both] [--rows 1000000] [--partitions 0] [--page-size 1000] [--pipeline]
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { parseArgs } from 'node:util'
import { sharedMariadb } from '../test/services/mariadb.ts'
import { sharedPostgres } from '../test/services/postgres.ts'
import type { DatabaseService } from '../test/services/database-service.ts'
import { createLegacyTable, legacyColumns } from './sql-legacy-table.ts'
import { launchSettings } from './launch-settings.ts'

const { values } = parseArgs({ options: { dialect: { type: 'string', default: 'both' }, rows: { type: 'string', default: '1000000' }, partitions: { type: 'string', default: '0' }, 'page-size': { type: 'string', default: '1000' }, pipeline: { type: 'boolean', default: false } } })
const rows = Number(values.rows)
const partitions = Number(values.partitions)
const pageSize = Number(values['page-size'])
/** gearbridge is measured as its bin starts it: the same Node heap flags and malloc settings. */
const launch = launchSettings()
const readMap = new URL('./sql-read-map.ts', import.meta.url).pathname
const nullSink = new URL('./null-sink-pipeline.ts', import.meta.url).pathname
const print = (line: Record<string, unknown>) => console.log(JSON.stringify(line))
print({ machine: { nproc: cpus().length, cpu: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version } })

function timeClient(db: DatabaseService): { command: string; seconds: number } {
  const devNull = openSync('/dev/null', 'w')
  const [cmd, args, shown] =
    db.dialect === 'postgres'
      ? (['psql', [db.url, '-c', "\\copy (SELECT * FROM legacy_users) TO '/dev/null'"], `psql -c "\\copy (SELECT * FROM legacy_users) TO '/dev/null'"`] as const)
      : (['mariadb', ['-h', db.host, '-P', String(db.port), '-u', db.user, `-p${db.password}`, db.database, '--quick', '-e', 'SELECT * FROM legacy_users'], 'mariadb --quick -e "SELECT * FROM legacy_users" > /dev/null'] as const)
  let best = Infinity
  for (let i = 0; i < 3; i++) {
    const started = process.hrtime.bigint()
    const result = spawnSync(cmd, [...args], { stdio: ['ignore', devNull, 'pipe'] })
    if (result.status !== 0) throw new Error(`${cmd} failed: ${result.stderr}`)
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9)
  }
  return { command: shown, seconds: best }
}

function runReadMap(source: Record<string, unknown>, options: { nodeFlags?: readonly string[]; noMap?: boolean } = {}): Promise<Record<string, unknown>> {
  return runNode(readMap, [JSON.stringify(source), JSON.stringify({ default_phone_region: 'US', roles_from: null, groups_from: null })], options.nodeFlags ?? [], { BENCH_NO_MAP: options.noMap ? '1' : '0' })
}

/** Runs a bench script as gearbridge's bin would (its malloc settings) and returns its last JSON line. */
function runNode(script: string, args: readonly string[], nodeFlags: readonly string[], env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...launch.env, ...env } })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1) as string) as Record<string, unknown>) : reject(new Error(`${script} exited ${code}`))))
  })
}

for (const dialect of values.dialect === 'both' ? ['postgres', 'mysql'] : [values.dialect]) {
  const db = dialect === 'postgres' ? await sharedPostgres() : await sharedMariadb()
  try {
    const generated = process.hrtime.bigint()
    await createLegacyTable(db, rows)
    // The MariaDB reader holds SELECT on the whole database; the Postgres one needs it per table.
    if (db.dialect === 'postgres') await db.query(`GRANT SELECT ON legacy_users TO ${db.reader.user}`)
    print({ dialect, dataset: `legacy_users, ${rows} rows, 14 columns`, generateSeconds: +(Number(process.hrtime.bigint() - generated) / 1e9).toFixed(1) })
    const client = timeClient(db)
    const clientRate = Math.round(rows / client.seconds)
    print({ dialect, run: 'client', command: client.command, seconds: +client.seconds.toFixed(2), rowsPerSecond: clientRate })
    const source = { type: 'sql', dialect: db.dialect, url: db.reader.url, key: 'id', columns: legacyColumns, soft_delete: { column: 'deleted_at' }, locked: { column: 'locked_at' }, page_size: pageSize }
    const table = { ...source, table: 'legacy_users' }
    const readOnly = await runReadMap(table, { noMap: true, nodeFlags: launch.flags })
    print({ dialect, run: `gearbridge source only (no mapping), ${launch.flags.join(' ')}`, ...readOnly, ofClient: +((readOnly['rowsPerSecond'] as number) / clientRate).toFixed(2) })
    for (const flags of [[], launch.flags]) {
      const single = await runReadMap(table, { nodeFlags: flags })
      print({ dialect, run: `gearbridge source + mapping, 1 process${flags.length ? `, ${flags.join(' ')}` : ''}`, ...single, ofClient: +((single['rowsPerSecond'] as number) / clientRate).toFixed(2) })
    }
    if (values.pipeline) {
      const dir = mkdtempSync(join(tmpdir(), 'gb-sql-bench-'))
      try {
        const config = join(dir, 'sql.yaml')
        writeFileSync(config, stringify({ name: 'bench', source: table, mapping: { default_phone_region: 'US', roles_from: null, groups_from: null }, sink: { endpoint: 'embedded', project_id: 'myapp', key_id: 'unused', private_key_file: 'unused.pem' }, observability: { listen: null, progress: 'never', log_level: 'warn' } }))
        for (const ledger of [false, true]) {
          const result = await runNode(nullSink, [config, ...(ledger ? ['--ledger'] : [])], launch.flags)
          print({ dialect, run: `gearbridge backfill path into a null sink${ledger ? ', with the login ledger' : ''}, ${launch.flags.join(' ')}`, ...result, ofClient: +((result['recordsPerSecond'] as number) / clientRate).toFixed(2) })
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
    if (partitions < 2) continue
    const started = process.hrtime.bigint()
    const step = Math.ceil(rows / partitions)
    const parts = await Promise.all(
      Array.from({ length: partitions }, (_, i) => runReadMap({ ...source, query: `SELECT * FROM legacy_users WHERE id > ${i * step} AND id <= ${(i + 1) * step}` }, { nodeFlags: launch.flags })),
    )
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const total = parts.reduce((sum, p) => sum + (p['rows'] as number), 0)
    print({
      dialect, run: `gearbridge, ${partitions} processes by key range`, rows: total, seconds: +seconds.toFixed(2), rowsPerSecond: Math.round(total / seconds),
      ofClient: +(total / seconds / clientRate).toFixed(2), peakRssMbPerProcess: Math.max(...parts.map((p) => p['peakRssMb'] as number)),
    })
  } finally {
    await db.stop()
  }
}
