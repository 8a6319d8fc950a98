import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inject } from 'vitest'
import { sharedKafka, startKafka, type KafkaService } from '../../services/kafka.ts'
import { startTestEmulator, type TestEmulator } from '../../support/emulator-harness.ts'
import { startCli } from '../../support/run-cli.ts'
import { readNdjson, writeTestConfig } from '../../support/write-config.ts'

/** The broker of this run: the one a globalSetup provided, else one shared by this test file. */
export async function kafka(): Promise<KafkaService> {
  const provided = (inject as (key: string) => unknown)('kafkaBrokers') as string | undefined
  if (provided) {
    process.env['GB_KAFKA_BROKERS'] = provided
    return startKafka()
  }
  return sharedKafka()
}

/** A broker of the test's own, which it may stop (never the shared one). */
export async function ownBroker(): Promise<KafkaService> {
  const shared = process.env['GB_KAFKA_BROKERS']
  delete process.env['GB_KAFKA_BROKERS']
  try {
    return await startKafka()
  } finally {
    if (shared !== undefined) process.env['GB_KAFKA_BROKERS'] = shared
  }
}

let counter = 0
/** A topic and group name unique to this test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`
}

export interface Workspace {
  readonly dir: string
  readonly target: TestEmulator
  config(source: Record<string, unknown>, extra?: Record<string, unknown>): Promise<string>
  close(): Promise<void>
}

export async function workspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'gb-kafka-it-'))
  const target = await startTestEmulator(dir, {})
  return {
    dir,
    target,
    config: (source, extra = {}) => writeTestConfig(dir, target, { source, sink: { upsert: true, batch: { max_records: 100, linger_ms: 50 } }, ...extra }),
    async close() {
      await target.emulator.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Starts `gearbridge sync` as a child process. */
export function startSync(config: string) {
  return startCli(['sync', '--config', config])
}

/** Polls until `check` holds or `timeoutMs` passes. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** A plain Auth0-like JSON user. */
export function jsonUser(i: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ user_id: `auth0|${i}`, email: `user${i}@example.com`, name: `User ${i}`, ...extra })
}

/** `eventually`, but on timeout stops `runs` and puts the tail of their logs in the error. */
export async function eventuallyWith(runs: readonly ReturnType<typeof startSync>[], check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  try {
    await eventually(check, timeoutMs, what)
  } catch (error) {
    const logs: string[] = []
    for (const run of runs) {
      run.child.kill('SIGKILL')
      logs.push((await run.done).stderr.slice(-2500))
    }
    throw new Error(`${(error as Error).message}\n${logs.join('\n----\n')}`)
  }
}

/**
 * Committed offsets of `group`, or undefined while the broker cannot tell yet (a fresh broker
 * answers "not coordinator" until its group coordinator is loaded).
 */
export async function committedOffsets(k: KafkaService, group: string, topic: string, partitions: number): Promise<number[] | undefined> {
  try {
    return await k.committed(group, topic, partitions)
  } catch {
    return undefined
  }
}

/**
 * The lines of every replica's `kind` file in a shared state directory (`test.report.ndjson`,
 * `test.replica-2.report.ndjson`, …), and the files found: each replica appends to its own.
 */
export async function replicaLines(stateDir: string, kind: 'report' | 'dead-letter'): Promise<{ lines: Record<string, unknown>[]; files: string[] }> {
  const { readdir } = await import('node:fs/promises')
  const pattern = new RegExp(`^test(\\.replica-\\d+)?\\.${kind}\\.ndjson$`)
  const files = (await readdir(stateDir)).filter((name) => pattern.test(name)).sort()
  const lines: Record<string, unknown>[] = []
  for (const file of files) lines.push(...(await readNdjson(join(stateDir, file))))
  return { lines, files }
}
