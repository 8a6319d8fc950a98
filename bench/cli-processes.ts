/**
 * The processes the Kafka benchmarks start beside a broker: `gearbridge` commands (the emulator, a
 * sync replica) from the source tree, and a topic to read.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import rdkafka from 'node-rdkafka'
import { stringify } from 'yaml'

const cli = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts')

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface CliProcess {
  readonly child: ChildProcess
  stdout(): string
  /** The last 4,000 characters, for an error message. */
  stderr(): string
}

/** Starts `gearbridge <argv>`, keeping what it prints. */
export function startCli(argv: readonly string[]): CliProcess {
  const child = spawn(process.execPath, [cli, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)))
  return { child, stdout: () => out, stderr: () => err }
}

/** `gearbridge emulator` with this `emulator:` block, once it listens: its URL, and the key a sink signs with (written to `dir`). */
export async function startEmulatorProcess(dir: string, emulator: Record<string, unknown>): Promise<{ process: CliProcess; url: string; keyId: string; keyFile: string }> {
  // Its config only needs the emulator block to be meaningful.
  const sinkPlaceholder = { endpoint: 'http://127.0.0.1:1', project_id: 'myapp', key_id: 'k', private_key_file: 'none.pem' }
  await writeFile(join(dir, 'emulator.yaml'), stringify({ source: { type: 'auth0', files: 'none.ndjson' }, sink: sinkPlaceholder, emulator }))
  const keyFile = join(dir, 'admin-key.pem')
  const started = startCli(['emulator', '--config', join(dir, 'emulator.yaml'), '--key-out', keyFile])
  while (!/key_id: (\S+)/.test(started.stdout())) await sleep(100)
  return { process: started, url: /listening on (\S+)/.exec(started.stdout())![1]!, keyId: /key_id: (\S+)/.exec(started.stdout())![1]!, keyFile }
}

/** Creates `topic` with `partitions` partitions. */
export async function createTopic(brokers: string, topic: string, partitions: number): Promise<void> {
  const admin = rdkafka.AdminClient.create({ 'bootstrap.servers': brokers, log_level: 0 })
  try {
    await new Promise<void>((ok, fail) => admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1 }, 10_000, (e) => (e ? fail(e) : ok())))
  } finally {
    admin.disconnect()
  }
}
