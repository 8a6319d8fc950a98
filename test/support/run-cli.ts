import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const cliPath = fileURLToPath(new URL('../../src/cli/entry.ts', import.meta.url))

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface RunningCli {
  readonly child: ChildProcess
  readonly done: Promise<CliResult>
  /**
   * Resolves once the run has logged that it started: its SIGTERM/SIGINT handlers are installed
   * from then on, so a signal drains the run instead of killing the process.
   */
  started(timeoutMs?: number): Promise<void>
}

/** Starts `gearbridge <args>` as a child process on this Node (24: it runs the .ts sources directly). */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  // config.example.yaml listens on 127.0.0.1:9464 unless GEARBRIDGE_LISTEN says otherwise: test runs
  // in parallel (and anything else on the machine holding that port) would refuse each other's start.
  const listen = { GEARBRIDGE_LISTEN: process.env['GEARBRIDGE_LISTEN'] ?? '127.0.0.1:0' }
  const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, ...listen, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  const started = async (timeoutMs = 60_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs
    while (!/run started/.test(stderr)) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`gearbridge exited before it started: ${stderr.slice(-2000)}`)
      if (Date.now() > deadline) throw new Error(`gearbridge did not log its start within ${timeoutMs} ms (log_level must be info or debug)`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  return { child, done, started }
}

/** Runs `gearbridge <args>` to its end. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, env).done
}
