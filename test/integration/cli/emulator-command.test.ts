import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { generateKeyPairSync } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AdminTokenSigner } from '../../../connectors/authgear/token.ts'
import { runCli, startCli } from '../../support/run-cli.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gb-emulator-cmd-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Starts `gearbridge emulator`, waits for its banner, returns the printed settings and the process. */
async function startEmulatorCli(keyOut: string | undefined, env: NodeJS.ProcessEnv = {}, extra: readonly string[] = []) {
  const run = startCli(['emulator', '--port', '0', ...(keyOut === undefined ? [] : ['--key-out', keyOut]), ...extra], env)
  const deadline = Date.now() + 30_000
  let out = ''
  run.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()))
  while (!/in memory/.test(out)) {
    if (Date.now() > deadline) throw new Error(`no banner: ${out}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const field = (name: string) => new RegExp(`${name}: (\\S+)`).exec(out)?.[1] ?? ''
  return { run, out, url: /listening on (\S+)/.exec(out)?.[1] ?? '', keyId: field('key_id'), projectId: field('project_id') }
}

const startEmulatorCliWith = (extra: readonly string[]) => startEmulatorCli(join(dir, 'key.pem'), {}, extra)

describe('gearbridge emulator', () => {
  it('keeps the key an earlier start wrote, so a config pointed at it still works after a restart', async () => {
    const keyOut = join(dir, 'emulator-key.pem')
    const first = await startEmulatorCli(keyOut)
    expect(first.out).toContain('(written now)')
    expect(first.out).toContain('Users are kept in memory')
    first.run.child.kill('SIGTERM')
    await first.run.done
    const pem = await readFile(keyOut, 'utf8')

    const second = await startEmulatorCli(keyOut)
    try {
      expect(second.out).toContain('(the key an earlier start wrote)')
      expect(second.keyId).toBe(first.keyId)
      expect(await readFile(keyOut, 'utf8')).toBe(pem)
      // The restarted emulator accepts a token signed with the first start's key and key id.
      const signer = new AdminTokenSigner({ projectId: second.projectId, keyId: first.keyId, privateKeyPem: pem })
      const reply = await fetch(`${second.url}/_api/admin/users/import/userimport_00000000000000000000000000000000`, { headers: { authorization: `Bearer ${await signer.token()}` } })
      expect(reply.status).toBe(404)
      expect(await reply.json()).toMatchObject({ error: { reason: 'TaskNotFound' } })
    } finally {
      second.run.child.kill('SIGTERM')
      await second.run.done
    }
  })

  it('writes its key to the state directory by default when GEARBRIDGE_STATE_DIR is set, as the image sets it', async () => {
    const started = await startEmulatorCli(undefined, { GEARBRIDGE_STATE_DIR: dir })
    try {
      expect(started.out).toContain(`private_key_file: ${join(dir, 'emulator-admin-key.pem')} (written now)`)
    } finally {
      started.run.child.kill('SIGTERM')
      expect((await started.run.done).code).toBe(0)
    }
  })

  it('serves /healthz at --listen (the image\'s HEALTHCHECK asks 9464), and not by default, so a run beside it keeps its own address', async () => {
    const started = await startEmulatorCliWith(['--listen', '127.0.0.1:0'])
    try {
      const health = /health: (\S+)/.exec(started.out)?.[1]
      expect(health).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/healthz$/)
      const reply = await fetch(health!)
      expect(reply.status).toBe(200)
      expect((await fetch(health!.replace('/healthz', '/readyz'))).status).toBe(200)
      expect(await (await fetch(health!.replace('/healthz', '/metrics'))).text()).toContain('process_cpu_user_seconds_total')
    } finally {
      started.run.child.kill('SIGTERM')
      expect((await started.run.done).code).toBe(0)
    }
    const plain = await startEmulatorCli(join(dir, 'key.pem'), { GEARBRIDGE_LISTEN: '127.0.0.1:0' })
    plain.run.child.kill('SIGTERM')
    expect((await plain.run.done).code).toBe(0)
    expect(plain.out).not.toContain('health:')
    // An address in use leaves no key file behind.
    const holder = await startEmulatorCliWith(['--listen', '127.0.0.1:0'])
    try {
      const taken = /health: http:\/\/(\S+)\/healthz/.exec(holder.out)![1]!
      const clash = await runCli(['emulator', '--port', '0', '--key-out', join(dir, 'third.pem'), '--listen', taken])
      expect(clash.code).toBe(2)
      expect(clash.stderr).toContain(`--listen ${taken}: the address is in use (another gearbridge?); give another address`)
      await expect(readFile(join(dir, 'third.pem'), 'utf8')).rejects.toThrow(/ENOENT/)
    } finally {
      holder.run.child.kill('SIGTERM')
      await holder.run.done
    }
  })

  it('stops with 0 on a SIGTERM sent the moment its banner appears: it listens before it says it is ready', async () => {
    const ends: string[] = []
    for (let start = 0; start < 8; start++) {
      const run = startCli(['emulator', '--port', '0', '--key-out', join(dir, 'emulator-key.pem')])
      let out = ''
      // Signalled from the data event itself, as a supervisor watching the output would.
      run.child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        if (/in memory/.test(out) && run.child.signalCode === null && !run.child.killed) run.child.kill('SIGTERM')
      })
      const end = await run.done
      ends.push(`${end.code}/${end.signal}`)
    }
    expect(ends).toEqual(Array(8).fill('0/null'))
  })

  it('answers a port that is not one, a port in use and a --key-out directory that is not there with a usage error (exit 2), and writes no key for them', async () => {
    for (const [port, expected] of [['abc', '--port abc: not a port number'], ['99999', '--port 99999: not a port number']] as const) {
      const result = await runCli(['emulator', '--port', port, '--key-out', join(dir, 'k.pem')])
      expect([result.code, result.stderr.trim()]).toEqual([2, `gearbridge: ${expected} (0 to 65535)`])
    }
    const missing = await runCli(['emulator', '--port', '0', '--key-out', join(dir, 'nodir', 'k.pem')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('nodir/k.pem: cannot write it (ENOENT: its directory does not exist)')
    const first = await startEmulatorCli(join(dir, 'first.pem'))
    try {
      const port = new URL(first.url).port
      const busy = await runCli(['emulator', '--port', port, '--key-out', join(dir, 'second.pem')])
      expect(busy.code).toBe(2)
      expect(busy.stderr).toContain(`--port ${port}: already in use`)
    } finally {
      first.run.child.kill('SIGTERM')
      await first.run.done
    }
    await expect(readFile(join(dir, 'second.pem'))).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(readFile(join(dir, 'k.pem'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('never overwrites a --key-out file that holds something else (another key): a usage error', async () => {
    const keyOut = join(dir, 'other.pem')
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    await writeFile(keyOut, ec)
    const result = await runCli(['emulator', '--port', '0', '--key-out', keyOut])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('holds no unencrypted RSA private key')
    expect(await readFile(keyOut, 'utf8')).toBe(ec)
  })
})
