import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const entry = fileURLToPath(new URL('../../../src/cli/entry.ts', import.meta.url))
const example = fileURLToPath(new URL('../../../config.example.yaml', import.meta.url))

/**
 * The signal goes this long after the spawn: after the start-up handler is in place (Node installs
 * its own SIGTERM handler from the start, so /proc cannot tell), and long before the program has
 * loaded. A command that has started handles the signal as its own stop, with the same exit code,
 * so a late signal passes too; only one before any handler (a very busy machine) could fail.
 */
const signalDelayMs = 300

function termSoon(child: ChildProcess): void {
  setTimeout(() => child.kill('SIGTERM'), signalDelayMs)
}

describe('a signal while the program is still loading', () => {
  it('stops a backfill as resumable (exit 75) rather than by the default 143', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gb-startup-'))
    try {
      const child = spawn(process.execPath, [entry, 'backfill', '--config', example], { cwd: dir, env: { ...process.env, GEARBRIDGE_STATE_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      // Loading the program (its TypeScript sources) takes far longer than installing the
      // start-up handler; a command that has started handles the signal as its own stop, with the
      // same exit code.
      termSoon(child)
      const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)))
      expect(code, stderr).toBe(75)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('ends check and validate with 143 from a handler of their own, which a container\'s PID 1 needs to stop at all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gb-startup-'))
    try {
      for (const command of ['check', 'validate']) {
        const child = spawn(process.execPath, [entry, command, '--config', example], { cwd: dir, env: { ...process.env, GEARBRIDGE_STATE_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] })
        termSoon(child)
        // Killed by the signal's default action, a process reports no exit code; exiting from a handler, it does.
        const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (exitCode, signalCode) => resolve([exitCode, signalCode])))
        expect({ command, code, signal }).toEqual({ command, code: 143, signal: null })
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('stops export and reconcile as resumable (75), and an emulator with 0, from handlers of their own', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gb-startup-'))
    try {
      const runs: [string[], number][] = [
        [['export', '--config', example, '-o', join(dir, 'users.ndjson')], 75],
        [['reconcile', '--config', example], 75],
        [['emulator', '--port', '0', '--key-out', join(dir, 'key.pem')], 0],
      ]
      for (const [args, expected] of runs) {
        const child = spawn(process.execPath, [entry, ...args], { cwd: dir, env: { ...process.env, GEARBRIDGE_STATE_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] })
        termSoon(child)
        const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (exitCode, signalCode) => resolve([exitCode, signalCode])))
        expect({ command: args[0], code, signal }).toEqual({ command: args[0], code: expected, signal: null })
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
