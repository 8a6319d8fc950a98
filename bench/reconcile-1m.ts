import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { stringify } from 'yaml'
import { launchSettings } from './launch-settings.ts'

/**
 * Reconciles N generated Auth0 users against an emulator holding what a correct backfill leaves,
 * with the real command (`gearbridge reconcile`: export task, download, sort-merge, report) in its
 * own process under /usr/bin/time, and prints wall time and peak RSS as a Markdown table row.
 *   node bench/reconcile-1m.ts --users 1000000 --out bench/data/reconcile-1m [--run-bytes 16777216]
 *     [--node-flag=--max-semi-space-size=16 …] [--emulator ready.json] [--repeat 2]
 * Without --node-flag, reconcile runs with the `gearbridge` bin's Node flags and malloc settings.
 * Seeding a million users takes minutes: `--emulator` reuses an emulator already started with
 * `bench/reconcile-seed-emulator.ts --ready ready.json` (and left running) on the same data.
 */
const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '1000000' },
    out: { type: 'string', default: 'bench/data/reconcile-1m' },
    'run-bytes': { type: 'string', default: String(16 << 20) },
    'node-flag': { type: 'string', multiple: true, default: [] },
    emulator: { type: 'string' },
    repeat: { type: 'string', default: '1' },
  },
})
const out = resolve(values.out)
if (!existsSync(join(out, 'users.ndjson'))) {
  execFileSync(process.execPath, ['bench/generate-auth0-export.ts', '--users', values.users, '--out', out], { stdio: 'inherit' })
}
const configPath = join(out, 'gearbridge.yaml')
const base = {
  name: 'bench',
  source: { type: 'auth0', files: 'users.ndjson', password_hashes: { files: 'password-hashes.ndjson' } },
  mapping: { custom_attributes: { plan: 'app_metadata.plan' } },
  emulator: { roles: ['admin', 'billing', 'member'], custom_attributes: [{ name: 'plan', type: 'string' }], export: { dir: join(out, 'emulator-files') } },
  state: { dir: join(out, 'state') },
  observability: { listen: null, log_level: 'warn', progress: 'never' },
  reconcile: { run_bytes: Number(values['run-bytes']) },
}
let seeder: ReturnType<typeof spawn> | undefined
const ready = values.emulator === undefined ? join(out, 'ready.json') : resolve(values.emulator)
if (values.emulator === undefined) {
  await writeFile(configPath, stringify({ ...base, sink: { endpoint: 'embedded', project_id: 'bench' } }))
  await rm(ready, { force: true })
  seeder = spawn(process.execPath, ['--max-old-space-size=8192', 'bench/reconcile-seed-emulator.ts', '--config', configPath, '--ready', ready], { stdio: 'inherit' })
  while (!existsSync(ready)) await new Promise((r) => setTimeout(r, 500))
}
const seeded = JSON.parse(await readFile(ready, 'utf8')) as { url: string; keyId: string; keyFile: string; users: number; outcomes: Record<string, number>; seconds: number }
console.log(`emulator seeded with ${seeded.users} users in ${seeded.seconds}s`, seeded.outcomes)
const sink = { endpoint: seeded.url, project_id: 'bench', key_id: seeded.keyId, private_key_file: seeded.keyFile, poll: { initial_ms: 250, max_ms: 1000 }, request_timeout_ms: 600_000 }
await writeFile(configPath, stringify({ ...base, sink }))
await mkdir(join(out, 'state'), { recursive: true })
const launch = launchSettings()
const nodeFlags = values['node-flag'].length > 0 ? values['node-flag'] : launch.flags
for (let i = 0; i < Number(values.repeat); i++) {
  const load = loadavg()[0]!.toFixed(2)
  const started = Date.now()
  let stdout = ''
  let stderr = ''
  const code = await new Promise<number | null>((done) => {
    const child = spawn('/usr/bin/time', ['-v', process.execPath, ...nodeFlags, 'src/cli/main.ts', 'reconcile', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...launch.env } })
    child.stdout!.on('data', (d: Buffer) => (stdout += d))
    child.stderr!.on('data', (d: Buffer) => (stderr += d))
    child.on('close', done)
  })
  const seconds = (Date.now() - started) / 1000
  const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1])
  const cpu = Number(/User time \(seconds\): ([\d.]+)/.exec(stderr)?.[1]) + Number(/System time \(seconds\): ([\d.]+)/.exec(stderr)?.[1])
  process.stdout.write(stdout)
  if (code !== 0 && code !== 4) process.stderr.write(stderr)
  console.log(`exit ${code}; ${seconds.toFixed(1)} s wall, ${cpu.toFixed(1)} s CPU; peak RSS ${Math.round(rssKb / 1024)} MB; load average ${load} at the start`)
  console.log(`| ${values.users} | ${nodeFlags.join(' ') || 'none'} | ${seconds.toFixed(1)} s (${cpu.toFixed(0)} s CPU) | ${Math.round(rssKb / 1024)} MB | ${load} | ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version} |`)
}
seeder?.kill('SIGTERM')
