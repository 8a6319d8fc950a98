/**
 * End-to-end backfill of the generated 1,000,000-user export (bench/data/auth0-1m) into the
 * emulator, as a user would run it: `gearbridge emulator` in its own process (so its memory is
 * not counted), then `gearbridge backfill` under /usr/bin/time -v. Prints wall time, records/s,
 * peak RSS of the backfill process and its summary. Both run the built CLI (`dist/`, what the
 * `gearbridge` bin and the container run), compiled first: run from the TypeScript sources, every
 * thread would also load Node's type stripper, ~15 MB on the main thread and ~8 MB per worker.
 *
 *   node bench/backfill-auth0-emulator.ts [--max-in-flight 4] [--workers auto|N] [--flags="--max-semi-space-size=8 …"] [--plain-env]
 *
 * The backfill starts as the `gearbridge` bin (`bin/gearbridge`) starts it, with its default
 * environment (glibc malloc settings) and Node flags (heap settings). `--flags` replaces
 * the Node flags; `--plain-env` leaves the malloc settings out.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { launchSettings } from './launch-settings.ts'

const { values } = parseArgs({ options: { 'max-in-flight': { type: 'string', default: '4' }, workers: { type: 'string', default: 'auto' }, flags: { type: 'string' }, 'plain-env': { type: 'boolean', default: false } } })
const root = resolve(import.meta.dirname, '..')
const { env: launchEnv, flags: launchFlags } = launchSettings()
values.flags ??= launchFlags.join(' ')
const built = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
if (built.status !== 0) throw new Error('bench: building dist/ failed')
const cli = join(root, 'dist/src/cli/main.js')
const work = await mkdtemp(join(tmpdir(), 'gb-bench-e2e-'))
const keyFile = join(work, 'key.pem')
await writeFile(join(work, 'emulator.yaml'), [
  'source: { type: auth0, files: unused.ndjson }',
  'sink: { endpoint: embedded, project_id: myapp }',
  // Completed jobs are only needed until gearbridge has read them: a short TTL keeps the emulator flat.
  'emulator: { project_id: myapp, workers: 4, job_ttl_seconds: 120, roles: [admin, billing, member], custom_attributes: [{ name: plan, type: string }] }',
].join('\n'))
const emulator = spawn(process.execPath, ['--max-old-space-size=4096', cli, 'emulator', '--config', join(work, 'emulator.yaml'), '--key-out', keyFile], { stdio: ['ignore', 'pipe', 'inherit'] })
let banner = ''
await new Promise<void>((ready) => emulator.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
  banner += chunk
  if (banner.includes('private_key_file')) ready()
}))
const url = /listening on (\S+)/.exec(banner)![1]!
const keyId = /key_id: (\S+)/.exec(banner)![1]!
const config = join(work, 'backfill.yaml')
await writeFile(config, [
  'name: bench',
  'source:',
  `  type: auth0`,
  `  files: ${join(root, 'bench/data/auth0-1m/users.ndjson')}`,
  `  password_hashes: { files: ${join(root, 'bench/data/auth0-1m/password-hashes.ndjson')} }`,
  `mapping: { default_phone_region: US, custom_attributes: { plan: app_metadata.plan }, workers: ${values.workers} }`,
  `sink: { endpoint: "${url}", project_id: myapp, key_id: "${keyId}", private_key_file: "${keyFile}", max_in_flight: ${values['max-in-flight']}, poll: { initial_ms: 50, max_ms: 500 } }`,
  `state: { dir: "${join(work, 'state')}" }`,
  'observability: { listen: null, progress: never, log_level: warn }',
].join('\n'))
const started = Date.now()
const run = spawn('/usr/bin/time', ['-v', process.execPath, ...(values.flags ? values.flags.split(' ') : []), cli, 'backfill', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(values['plain-env'] ? {} : launchEnv) } })
let stdout = ''
let stderr = ''
run.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c))
run.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c))
const code = await new Promise<number | null>((done) => run.once('close', done))
const seconds = (Date.now() - started) / 1000
emulator.kill('SIGTERM')
const read = Number(/^\s+read\s+(\d+)/m.exec(stdout)?.[1])
const peakKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1])
const cpu = Number(/User time \(seconds\): ([\d.]+)/.exec(stderr)?.[1]) + Number(/System time \(seconds\): ([\d.]+)/.exec(stderr)?.[1])
console.log(stdout.trim())
console.log(JSON.stringify({ bench: 'backfill-auth0-emulator', exitCode: code, records: read, seconds: +seconds.toFixed(1), recordsPerSecond: Math.round(read / seconds), cpuSeconds: +cpu.toFixed(1), peakRssMb: Math.round(peakKb / 1024), flags: values.flags, env: values['plain-env'] ? 'plain' : launchEnv }))
await rm(work, { recursive: true, force: true })
