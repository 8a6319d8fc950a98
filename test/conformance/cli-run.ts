import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { stringify } from 'yaml'
import type { EmulatorOptions } from '../../src/emulator/config.ts'
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.ts'
import { generateAdminKey } from '../../src/emulator/keys.ts'

const mainScript = resolve(import.meta.dirname, '../../src/cli/entry.ts')

/** An emulator plus a config directory whose `config.yaml` points gearbridge at it. */
export interface CliTarget {
  readonly emulator: RunningEmulator
  readonly dir: string
  readonly configPath: string
  close(): Promise<void>
}

/** Starts an emulator and writes a config with `source` and a sink pointing at it. */
export async function cliTarget(source: Record<string, unknown>, options: { emulator?: EmulatorOptions; sink?: Record<string, unknown>; mapping?: Record<string, unknown> } = {}): Promise<CliTarget> {
  const key = await generateAdminKey()
  const emulator = await startEmulator({ project_id: 'myapp', ...options.emulator, jwks: { keys: [key.publicJwk] } })
  const dir = mkdtempSync(join(tmpdir(), 'gb-cli-'))
  writeFileSync(join(dir, 'admin-key.pem'), key.privateKeyPem, { mode: 0o600 })
  const config = {
    name: 'test',
    source,
    ...(options.mapping ? { mapping: options.mapping } : {}),
    sink: { endpoint: emulator.url, project_id: 'myapp', key_id: key.keyId, private_key_file: 'admin-key.pem', poll: { initial_ms: 20, max_ms: 100 }, ...options.sink },
    state: { dir: 'state', checkpoint_interval_ms: 100 },
    observability: { listen: null, log_level: 'warn', progress: 'never' },
  }
  const configPath = join(dir, 'config.yaml')
  writeFileSync(configPath, stringify(config))
  return {
    emulator,
    dir,
    configPath,
    close: async () => {
      await emulator.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `gearbridge <args>` in a child process. `killWhen` is polled every 10 ms; once it holds,
 * `signal` (default SIGKILL) follows after `killDelayMs` (so a kill lands mid-run however slow the start-up is),
 * `times` times.
 */
export function runCli(args: readonly string[], options: { killWhen?: () => boolean; killDelayMs?: number; signal?: NodeJS.Signals; /** Signals sent, 100 ms apart (a second one stops at once). */ times?: number } = {}): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [mainScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const killWhen = options.killWhen
    const timer = killWhen === undefined ? undefined : setInterval(() => {
      if (!killWhen()) return
      clearInterval(timer)
      for (let n = 0; n < (options.times ?? 1); n++) setTimeout(() => child.kill(options.signal ?? 'SIGKILL'), (options.killDelayMs ?? 0) + n * 100)
    }, 10)
    child.on('exit', (code, signal) => {
      if (timer) clearInterval(timer)
      resolvePromise({ code, signal, stdout, stderr })
    })
  })
}
