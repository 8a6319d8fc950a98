import { createServer, type AddressInfo } from 'node:net'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli, startCli } from '../../support/run-cli.ts'

const example = fileURLToPath(new URL('../../../config.example.yaml', import.meta.url))

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gb-startup-failure-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('a run that fails while it starts', () => {
  it('exits 78 when the source refuses the command, even with the embedded emulator already started', async () => {
    const run = startCli(['sync', '--config', example], { GEARBRIDGE_STATE_DIR: dir })
    const result = await Promise.race([run.done, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 20_000))])
    if (result === undefined) run.child.kill('SIGKILL')
    expect(result?.code, 'still running 20 s after refusing the command').toBe(78)
    expect(result!.stderr).toContain('an Auth0 export file is read once, with backfill')
  })

  it('exits 78 naming the setting when the export or hash files configured are not there (backfill and validate)', async () => {
    const examples = fileURLToPath(new URL('../../../examples/', import.meta.url))
    const text = (await readFile(example, 'utf8')).replaceAll('examples/', examples)
    for (const [name, broken, setting] of [
      ['users', text.replace(/users\.ndjson/, 'users-moved.ndjson'), 'source.files: no export file matches'],
      ['hashes', text.replace(/password-hashes\.ndjson/, 'hashes-moved.ndjson'), 'source.password_hashes.files: no password-hash file matches'],
    ] as const) {
      const config = join(dir, `${name}.yaml`)
      await writeFile(config, broken)
      for (const command of ['backfill', 'validate']) {
        const result = await runCli([command, '--config', config], { GEARBRIDGE_STATE_DIR: join(dir, 'state') })
        expect(result.code, `${command} ${name}: ${result.stderr}`).toBe(78)
        expect(result.stderr).toContain(setting)
        expect(result.stderr).not.toContain('Run the same command again')
      }
    }
  })

  it('exits 78 with nothing sent when a password-hash file cannot be read (still PGP-encrypted), where every user would lose the password for good', async () => {
    const examples = fileURLToPath(new URL('../../../examples/', import.meta.url))
    // Bytes as an encrypted download holds them: no line of it is JSON.
    await writeFile(join(dir, 'hashes.pgp'), Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919 + 13) % 256)))
    const config = join(dir, 'pgp.yaml')
    await writeFile(config, (await readFile(example, 'utf8')).replaceAll('examples/', examples).replace(/\S*password-hashes\.ndjson/, join(dir, 'hashes.pgp')))
    for (const command of ['validate', 'backfill']) {
      const result = await runCli([command, '--config', config], { GEARBRIDGE_STATE_DIR: join(dir, 'state') })
      expect(result.code, `${command}: ${result.stderr}`).toBe(78)
      expect(result.stderr).toMatch(/source\.password_hashes\.files: password-hash export hashes\.pgp: none of its first \d+ lines is a JSON object; is it still PGP-encrypted/)
      expect(result.stdout).not.toMatch(/inserted\s+[1-9]/)
    }
    // An empty file (a decryption that failed, a download broken off at once) or one of blank lines.
    for (const content of ['', '\n\n\n']) {
      await writeFile(join(dir, 'hashes.pgp'), content)
      const result = await runCli(['backfill', '--config', config], { GEARBRIDGE_STATE_DIR: join(dir, 'state') })
      expect(result.code, result.stderr).toBe(78)
      expect(result.stderr).toContain('source.password_hashes.files: password-hash export hashes.pgp is empty')
    }
  })

  it('writes --metrics-out without process_* families (node_exporter has its own), and refuses a place it cannot write before the run', async () => {
    const metricsOut = join(dir, 'textfile', 'run.prom')
    const ok = await runCli(['backfill', '--config', example, '--metrics-out', metricsOut], { GEARBRIDGE_STATE_DIR: join(dir, 'state') })
    expect(ok.code, ok.stderr).toBe(3)
    const text = await readFile(metricsOut, 'utf8')
    expect(text).toContain('gearbridge_run_state{state="finished"} 1')
    expect(text).toContain('nodejs_heap_size_used_bytes')
    expect(text).not.toMatch(/^process_/m)
    const blocked = join(dir, 'a-file')
    await writeFile(blocked, '')
    // Found only at the end, it would cost the whole run: a usage error (2) before anything is read.
    const failed = await runCli(['backfill', '--config', example, '--from-start', '--metrics-out', join(blocked, 'run.prom')], { GEARBRIDGE_STATE_DIR: join(dir, 'state') })
    expect(failed.code).toBe(2)
    expect(failed.stderr).toBe(`gearbridge: --metrics-out ${join(blocked, 'run.prom')}: ${blocked} is not a directory\n`)
    const deep = join(dir, 'a', 'b', 'run.prom')
    const created = await runCli(['backfill', '--config', example, '--from-start', '--metrics-out', deep], { GEARBRIDGE_STATE_DIR: join(dir, 'state') })
    expect(created.code, created.stderr).toBe(3)
    expect(await readFile(deep, 'utf8')).toContain('gearbridge_run_state{state="finished"} 1')
  })

  it('exits 1 when the state directory cannot be created, and the metrics say the run failed', async () => {
    const file = join(dir, 'a-file')
    await writeFile(file, '')
    const metricsOut = join(dir, 'run.prom')
    const result = await runCli(['backfill', '--config', example, '--metrics-out', metricsOut], { GEARBRIDGE_STATE_DIR: join(file, 'state') })
    expect(result.code, result.stderr).toBe(1)
    expect(result.stderr).toContain('"msg":"The run stopped on an error."')
    expect(await readFile(metricsOut, 'utf8')).toContain('gearbridge_run_state{state="failed"} 1')
  })

  it('serves /metrics from the start, so a run that fails while it starts is scraped as failed during the linger', async () => {
    const file = join(dir, 'a-file')
    await writeFile(file, '')
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo
        probe.close(() => resolve(port))
      })
    })
    const config = join(dir, 'linger.yaml')
    const examples = fileURLToPath(new URL('../../../examples/', import.meta.url))
    await writeFile(config, (await readFile(example, 'utf8')).replaceAll('examples/', examples).replace('linger_seconds: 0', 'linger_seconds: 5'))
    const run = startCli(['backfill', '--config', config], { GEARBRIDGE_STATE_DIR: join(file, 'state'), GEARBRIDGE_LISTEN: `127.0.0.1:${port}` })
    let scraped = ''
    for (let i = 0; i < 200 && !scraped.includes('gearbridge_run_state{state="failed"} 1'); i++) {
      scraped = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '')
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(scraped).toContain('gearbridge_run_state{state="failed"} 1')
    const result = await run.done
    expect(result.code, result.stderr).toBe(1)
  })

  it('validate refuses an Admin API key that backfill would refuse (exit 78), without contacting Authgear', async () => {
    const config = join(dir, 'gearbridge.yaml')
    const text = (await readFile(example, 'utf8')).replace('# private_key_file: /run/secrets/authgear-admin-key.pem', `private_key_file: ${join(dir, 'missing.pem')}\n  key_id: kid-1`)
    await writeFile(config, text.replaceAll('examples/', `${fileURLToPath(new URL('../../../examples/', import.meta.url))}`))
    const missing = await runCli(['validate', '--config', config], { AUTHGEAR_ENDPOINT: 'https://myapp.authgear.cloud' })
    expect(missing.code, missing.stderr).toBe(78)
    expect(missing.stderr).toContain(`cannot read sink.private_key_file ${join(dir, 'missing.pem')}`)
    await writeFile(join(dir, 'missing.pem'), '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n')
    const garbled = await runCli(['validate', '--config', config], { AUTHGEAR_ENDPOINT: 'https://myapp.authgear.cloud' })
    expect(garbled.code, garbled.stderr).toBe(78)
    expect(garbled.stderr).toContain(`sink.private_key_file ${join(dir, 'missing.pem')}: the Admin API private key is not a readable unencrypted PEM private key`)
    // backfill and check say the same, naming the setting and the file.
    for (const command of ['backfill', 'check']) {
      const refused = await runCli([command, '--config', config], { GEARBRIDGE_STATE_DIR: dir, AUTHGEAR_ENDPOINT: 'https://myapp.authgear.cloud' })
      expect(refused.code, `${command}: ${refused.stderr}`).toBe(78)
      expect(refused.stdout + refused.stderr, command).toContain(`sink.private_key_file ${join(dir, 'missing.pem')}: the Admin API private key is not a readable unencrypted PEM private key`)
    }
  })

  it('still writes --metrics-out when the Admin API key cannot be read (exit 78)', async () => {
    const metricsOut = join(dir, 'run.prom')
    const config = join(dir, 'gearbridge.yaml')
    const text = (await readFile(example, 'utf8')).replace('# private_key_file: /run/secrets/authgear-admin-key.pem', `private_key_file: ${join(dir, 'missing.pem')}\n  key_id: kid-1`).replace('linger_seconds: 0', 'linger_seconds: 30')
    await writeFile(config, text.replaceAll('examples/', `${fileURLToPath(new URL('../../../examples/', import.meta.url))}`))
    const started = Date.now()
    const result = await runCli(['backfill', '--config', config, '--metrics-out', metricsOut], { GEARBRIDGE_STATE_DIR: dir, AUTHGEAR_ENDPOINT: 'https://myapp.authgear.cloud' })
    expect(result.code, result.stderr).toBe(78)
    // A refused config is no run to scrape: linger_seconds does not hold the exit back.
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(await readFile(metricsOut, 'utf8')).toContain('gearbridge_run_state')
  })
})
