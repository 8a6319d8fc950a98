import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { stringify } from 'yaml'

const run = promisify(execFile)

/** Paths of the Prometheus server and its rule checker. */
export interface PrometheusBinaries {
  readonly prometheus: string
  readonly promtool: string
}

/** One series of an instant query result. */
export interface PromSample {
  readonly metric: Record<string, string>
  readonly value: [number, string]
}

/** An instant query's answer: `error` is set when Prometheus refused the expression. */
export interface PromQueryResult {
  readonly status: 'success' | 'error'
  readonly resultType?: string
  readonly result: PromSample[]
  readonly error?: string
}

export interface RunningPrometheus {
  readonly url: string
  /** Instant query at `time` (Unix seconds), or now. */
  query(expr: string, time?: number): Promise<PromQueryResult>
  /** `/api/v1/rules` groups, with each rule's evaluation health. */
  rules(): Promise<{ name: string; rules: { name: string; health: string; lastError?: string; type: string }[] }[]>
  close(): Promise<void>
}

async function which(name: string): Promise<string | undefined> {
  for (const dir of (process.env['PATH'] ?? '').split(':').concat(['/usr/bin', '/usr/local/bin'])) {
    const path = join(dir, name)
    try {
      await access(path)
      return path
    } catch {
      // not in this directory
    }
  }
  return undefined
}

/**
 * Finds `prometheus` and `promtool`, installing Debian's `prometheus` package when they are
 * missing (CI starts from a bare machine as root). The package's own service is stopped: tests
 * run their own server with a throwaway config and storage.
 */
export async function ensurePrometheus(): Promise<PrometheusBinaries> {
  let prometheus = await which('prometheus')
  let promtool = await which('promtool')
  if (prometheus && promtool) return { prometheus, promtool }
  if (process.getuid?.() !== 0) throw new Error('prometheus is not installed and installing it needs root: apt-get install -y prometheus')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const install = () => run('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus'], { env, maxBuffer: 64 * 1024 * 1024 })
  try {
    await install()
  } catch {
    // A fresh machine has no package lists yet.
    await run('apt-get', ['update'], { env, maxBuffer: 64 * 1024 * 1024 })
    await install()
  }
  // Where the package started its service (no systemd in containers: its init script), stop it.
  await run('service', ['prometheus', 'stop'], { env }).catch(() => undefined)
  prometheus = await which('prometheus')
  promtool = await which('promtool')
  if (!prometheus || !promtool) throw new Error('apt-get installed prometheus but prometheus/promtool are not on PATH')
  return { prometheus, promtool }
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Options of `startPrometheus`. */
export interface PrometheusOptions {
  /** `host:port` targets of the `gearbridge` scrape job. */
  readonly targets: readonly string[]
  readonly scrapeIntervalSeconds?: number
  /** Rule files to load (evaluated at the scrape interval). */
  readonly ruleFiles?: readonly string[]
}

/** Starts a private Prometheus on a free port, with its config and TSDB in a temporary directory. */
export async function startPrometheus(bin: PrometheusBinaries, options: PrometheusOptions): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'gb-prometheus-'))
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: [{ job_name: 'gearbridge', static_configs: [{ targets: options.targets }] }],
  }
  const configFile = join(dir, 'prometheus.yml')
  await writeFile(configFile, stringify(config))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const args = [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn']
  const child: ChildProcess = spawn(bin.prometheus, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
    await rm(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`)
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)
    if (ready) break
    if (Date.now() > deadline) {
      await close()
      throw new Error(`prometheus did not become ready: ${stderr}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url,
    async query(expr, time) {
      const body = new URLSearchParams({ query: expr, ...(time !== undefined ? { time: String(time) } : {}) })
      const response = await fetch(`${url}/api/v1/query`, { method: 'POST', body })
      const json = (await response.json()) as { status: 'success' | 'error'; data?: { resultType: string; result: PromSample[] | [number, string] }; error?: string }
      if (json.status !== 'success') return { status: 'error', result: [], error: json.error ?? `HTTP ${response.status}` }
      // Scalar and string results are one value; report them as one unlabeled series.
      const result = json.data!.resultType === 'vector' || json.data!.resultType === 'matrix' ? (json.data!.result as PromSample[]) : [{ metric: {}, value: json.data!.result as [number, string] }]
      return { status: 'success', resultType: json.data!.resultType, result }
    },
    async rules() {
      const json = (await (await fetch(`${url}/api/v1/rules`)).json()) as { data: { groups: Awaited<ReturnType<RunningPrometheus['rules']>> } }
      return json.data.groups
    },
    close,
  }
}

/** `promtool check rules <file>`: resolves with its output, rejects with it when the rules are invalid. */
export async function checkRules(bin: PrometheusBinaries, file: string): Promise<string> {
  try {
    const { stdout, stderr } = await run(bin.promtool, ['check', 'rules', file])
    return stdout + stderr
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`promtool check rules ${file} failed:\n${stdout}${stderr}`)
  }
}
