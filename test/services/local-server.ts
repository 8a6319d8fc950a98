import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A free TCP port on 127.0.0.1 (the OS picks it; a tiny race with other processes is acceptable in tests). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Runs a command to completion; throws with its output when it fails. */
export function runChecked(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; user?: SystemUser } = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024, ...(options.user ? { ...options.user, cwd: '/' } : {}) })
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout || result.error?.message}`)
  return result.stdout
}

/** Whether a Docker engine is reachable, so testcontainers can be used instead of local servers. */
export function dockerReachable(): boolean {
  if (process.env['GB_TEST_LOCAL_SERVICES'] === '1') return false
  const host = process.env['DOCKER_HOST']
  if (host !== undefined && host !== '') return true
  return existsSync('/var/run/docker.sock')
}

/**
 * Installs Debian packages when `probe` (a path) is missing: CI starts from a fresh machine with
 * only `npm ci && npm test`. Runs `apt-get update` and tries again when the first install fails for
 * lack of package lists. Needs root, or password-less sudo.
 */
export function ensureDebianPackages(probe: () => boolean, packages: readonly string[]): void {
  if (probe()) return
  const root = process.getuid?.() === 0
  const apt = (args: string[]) => (root ? spawnSync('apt-get', args, aptOptions) : spawnSync('sudo', ['-n', 'apt-get', ...args], aptOptions))
  const install = ['install', '-y', '--no-install-recommends', ...packages]
  let result = apt(install)
  if (result.status !== 0) {
    apt(['update'])
    result = apt(install)
  }
  if (result.status !== 0 || !probe()) throw new Error(`cannot install ${packages.join(' ')} with apt-get: ${String(result.stderr).slice(-2000)}`)
}

const aptOptions = { encoding: 'utf8' as const, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 1024 * 1024 }

/** Polls `ready` until it resolves true, or throws after `timeoutMs` (with the server's output). */
export async function waitUntil(ready: () => Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await ready().catch(() => false)) return
    await sleep(100)
  }
  throw new Error(`server did not become ready in ${timeoutMs} ms: ${describe()}`)
}

/** A system account to run a server as (postgres refuses root). */
export interface SystemUser {
  readonly uid: number
  readonly gid: number
}

/** The uid and gid of a system account. */
export function systemUser(name: string): SystemUser {
  return { uid: Number(runChecked('id', ['-u', name]).trim()), gid: Number(runChecked('id', ['-g', name]).trim()) }
}

/**
 * Starts a long-running server process, collecting the tail of its output for error messages;
 * killed when this process exits. The server is the direct child (no `runuser` in between), so
 * a kill reaches it and no orphan survives a crashed test run.
 */
export function spawnServer(command: string, args: readonly string[], user?: SystemUser): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(user ? { ...user, cwd: '/' } : {}) })
  let tail = ''
  const collect = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const kill = () => child.kill('SIGKILL')
  process.once('exit', kill)
  child.once('exit', () => process.off('exit', kill))
  return { child, output: () => tail }
}

/** Stops a server process: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopServer(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
