import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { scratchTarget } from '../../support/emulator-harness.ts'
import { runCli } from '../../support/run-cli.ts'
import { readNdjson, writeTestConfig } from '../../support/write-config.ts'

const line = (user: object) => JSON.stringify(user)

/** An export whose second user has a role the project lacks, third line is cut short, fourth phone is no number. */
const exportLines = (fixed: boolean) => [
  line({ user_id: 'auth0|a1', email: 'a1@example.com', app_metadata: { roles: ['member'] } }),
  line({ user_id: 'auth0|a2', email: 'a2@example.com', app_metadata: { roles: [fixed ? 'member' : 'ghost'] } }),
  fixed ? line({ user_id: 'auth0|a3', email: 'a3@example.com' }) : '{"user_id":"auth0|a3","email":"a3@exa',
  line({ user_id: 'sms|a4', phone_number: '12' }),
  line({ user_id: 'auth0|a5', email: 'a5@example.com' }),
  line({ user_id: 'auth0|a6', email: 'a6@example.com' }),
]

const count = (stdout: string, label: string) => Number(new RegExp(`^\\s+${label}\\s+(\\d+)`, 'm').exec(stdout)?.[1] ?? Number.NaN)

describe('backfill --retry-failed', () => {
  it('sends again only the dead-lettered records, counts what still fails, and leaves a plain rerun nothing to read', async () => {
    const { dir, target } = await scratchTarget('gb-retry-', { roles: ['member'], quota: { user_import: [{ quota: 1000, period: 'day' }] } })
    const users = join(dir, 'users.ndjson')
    await writeFile(users, `${exportLines(false).join('\n')}\n`)
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: users }, mapping: { roles_from: 'app_metadata.roles' } })
    const used = () => target.emulator.quota.used('user_import', 'day')
    const checkpointPath = join(dir, 'state', 'test.checkpoint.json')
    const checkpoint = async () => JSON.parse(await readFile(checkpointPath, 'utf8')) as { position: unknown; complete: boolean; deadLettered: number }

    const notYet = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(notYet.code).toBe(1)
    expect(notYet.stderr).toMatch(/no backfill of this config has saved a checkpoint.*run `gearbridge backfill -c .*` to its end first/)
    expect(used()).toBe(0)

    const first = await runCli(['backfill', '--config', config])
    expect(first.code, first.stderr).toBe(3)
    expect([count(first.stdout, 'inserted'), count(first.stdout, 'failed'), count(first.stdout, 'rejected')]).toEqual([3, 1, 2])
    const sentFirst = used()
    const before = await checkpoint()
    expect(before).toMatchObject({ complete: true, deadLettered: 3 })

    const usage = await runCli(['backfill', '--retry-failed', '--from-start', '--config', config])
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('--retry-failed cannot be combined with --from-start')

    // Nothing fixed yet: the three are tried again, and only the one the mapping passes reaches Authgear.
    const unchanged = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(unchanged.code, unchanged.stderr).toBe(3)
    expect(unchanged.stdout).toMatch(/gearbridge backfill --retry-failed: complete/)
    expect([count(unchanged.stdout, 'read'), count(unchanged.stdout, 'not retried'), count(unchanged.stdout, 'failed'), count(unchanged.stdout, 'rejected')]).toEqual([6, 3, 1, 2])
    expect(unchanged.stdout).toMatch(/still dead-lettered {2}3 /)
    expect(used() - sentFirst).toBe(1)

    // The role and the cut line are fixed in the export; the phone number is not.
    await writeFile(users, `${exportLines(true).join('\n')}\n`)
    const fixed = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(fixed.code, fixed.stderr).toBe(3)
    expect([count(fixed.stdout, 'inserted'), count(fixed.stdout, 'rejected'), count(fixed.stdout, 'not retried')]).toEqual([2, 1, 3])
    expect(fixed.stdout).toMatch(/still dead-lettered {2}1 /)
    expect(used() - sentFirst).toBe(3)
    expect(target.emulator.store.count()).toBe(5)
    const report = await readNdjson(join(dir, 'state', 'test.report.ndjson'))
    expect(report.filter((entry) => entry['source_key'] === 'auth0|a3').map((entry) => entry['outcome'])).toEqual(['inserted'])
    expect(report.filter((entry) => entry['source_key'] === 'sms|a4').at(-1)).toMatchObject({ outcome: 'rejected', code: 'invalid_phone_number' })
    // The backfill's position is now the end of the file as the retry read it, fixed in place: a
    // plain rerun reads nothing, sends nothing, and still owns the one dead letter.
    const after = await checkpoint()
    expect(after.position).not.toEqual(before.position)
    expect(after).toMatchObject({ complete: true, deadLettered: 1 })
    const plain = await runCli(['backfill', '--config', config])
    expect(plain.code, plain.stderr).toBe(3)
    expect(count(plain.stdout, 'read')).toBe(0)
    expect(used() - sentFirst).toBe(3)
  })

  it('sends the rest of a file whose read a cut gzip ended, once the whole file is back', async () => {
    const { dir, target } = await scratchTarget('gb-retry-', { quota: { user_import: [{ quota: 10_000, period: 'day' }] } })
    const users = join(dir, 'users.ndjson.gz')
    const whole = gzipSync(Array.from({ length: 400 }, (_, i) => `${line({ user_id: `auth0|g${i}`, email: `g${i}@example.com`, name: 'x'.repeat(200 + ((i * 7919) % 300)) })}\n`).join(''))
    await writeFile(users, whole.subarray(0, Math.floor(whole.length / 2)))
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: users } })
    const first = await runCli(['backfill', '--config', config])
    expect(first.code, first.stderr).toBe(3)
    const imported = target.emulator.store.count()
    expect(imported).toBeGreaterThan(0)
    expect(imported).toBeLessThan(400)
    const report = await readNdjson(join(dir, 'state', 'test.report.ndjson'))
    expect(report.find((entry) => entry['code'] === 'bad_gzip')).toMatchObject({ outcome: 'rejected', rest_skipped: true })
    await writeFile(users, whole)
    const retry = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(retry.code, retry.stderr).toBe(0)
    expect(count(retry.stdout, 'inserted')).toBe(400 - imported)
    expect(count(retry.stdout, 'not retried')).toBe(imported)
    expect(target.emulator.quota.used('user_import', 'day')).toBe(400)
    expect(target.emulator.store.count()).toBe(400)
  })

  it('goes on with the rest of a cut file after a retry the quota stopped, and after a plain backfill refused the edited file', async () => {
    const { dir, target } = await scratchTarget('gb-retry-', { quota: { user_import: [{ quota: 10_000, period: 'day' }] } })
    const users = join(dir, 'users.ndjson.gz')
    const whole = gzipSync(Array.from({ length: 400 }, (_, i) => `${line({ user_id: `auth0|q${i}`, email: `q${i}@example.com`, name: 'x'.repeat(200 + ((i * 7919) % 300)) })}\n`).join(''))
    await writeFile(users, whole.subarray(0, Math.floor(whole.length / 2)))
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: users }, sink: { batch: { max_records: 20 }, max_in_flight: 1 } })
    expect((await runCli(['backfill', '--config', config])).code).toBe(3)
    const imported = target.emulator.store.count()
    await writeFile(users, whole)
    // A cron job's plain backfill meets the changed file: refused, and the retry still runs after it.
    const plain = await runCli(['backfill', '--config', config])
    expect(plain.code).toBe(1)
    expect(plain.stderr).toMatch(/is not the file the checkpoint was reading/)
    target.emulator.quota.setLimits('user_import', [{ quota: target.emulator.quota.used('user_import', 'day') + 30, period: 'day' }])
    const stopped = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(stopped.code, stopped.stderr).toBe(75)
    expect(target.emulator.store.count()).toBeLessThan(400)
    target.emulator.quota.setLimits('user_import', [{ quota: 10_000, period: 'day' }])
    const rest = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(rest.code, rest.stderr).toBe(0)
    expect(rest.stdout).toMatch(/still dead-lettered {2}0 /)
    expect(target.emulator.store.count()).toBe(400)
    // What the stopped retry imported is not sent again.
    expect(count(rest.stdout, 'inserted') + count(rest.stdout, 'skipped')).toBeLessThanOrEqual(400 - imported - 30 + 20)
  })

  it('settles an array missing its closing bracket once the fixed file is read, and sends the later version of a user after one from a cut file\'s rest', async () => {
    const { dir, target } = await scratchTarget('gb-retry-', { quota: { user_import: [{ quota: 10_000, period: 'day' }] } })
    await mkdir(join(dir, 'data'))
    const elements = Array.from({ length: 5 }, (_, i) => line({ user_id: `auth0|j${i}`, email: `j${i}@example.com` }))
    await writeFile(join(dir, 'data', 'a.json'), `[\n${elements.join(',\n')}\n`)
    // b is cut before its line for x; c, read after b, has x's newest version.
    const b = gzipSync(`${Array.from({ length: 300 }, (_, i) => line({ user_id: `auth0|b${i}`, email: `b${i}@example.com`, name: 'y'.repeat(300 + ((i * 7919) % 200)) })).join('\n')}\n${line({ user_id: 'auth0|x', email: 'x@example.com', name: 'Older' })}\n`)
    await writeFile(join(dir, 'data', 'b.ndjson.gz'), b.subarray(0, Math.floor(b.length / 2)))
    await writeFile(join(dir, 'data', 'c.ndjson'), `${line({ user_id: 'auth0|x', email: 'x@example.com', name: 'Newest' })}\n`)
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: join(dir, 'data', '*') }, sink: { upsert: true } })
    expect((await runCli(['backfill', '--config', config])).code).toBe(3)
    await writeFile(join(dir, 'data', 'a.json'), `[\n${elements.join(',\n')}\n]\n`)
    await writeFile(join(dir, 'data', 'b.ndjson.gz'), b)
    const retry = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(retry.code, retry.stdout).toBe(0)
    expect(retry.stdout).toMatch(/still dead-lettered {2}0 /)
    const x = [...target.emulator.store.list()].find((user) => user.email?.value === 'x@example.com')
    expect(x?.standard?.['name']).toBe('Newest')
    expect(target.emulator.store.count()).toBe(5 + 300 + 1)
    const again = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(again.code).toBe(0)
    expect(count(again.stdout, 'not retried')).toBe(5 + 301 + 1)
  })

  it('matches the dead letters of array elements by element number, so a fix that moves the lines after it still settles them', async () => {
    const { dir, target } = await scratchTarget('gb-retry-', { quota: { user_import: [{ quota: 10_000, period: 'day' }] } })
    const path = join(dir, 'users.json')
    const users = `${JSON.stringify(Array.from({ length: 12 }, (_, i) => ({ user_id: `auth0|e${i}`, email: `e${i}@example.com` })), null, 2)}\n`
    // Element 4 lost its closing line, element 9 has a quote not escaped: both dead-lettered.
    await writeFile(path, users.replace('"email": "e3@example.com"\n  },', '"email": "e3@example.com",').replace('"e8@example.com"', '"e8"@example.com"'))
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: path } })
    const first = await runCli(['backfill', '--config', config])
    expect(first.code, first.stderr).toBe(3)
    expect(target.emulator.store.count()).toBe(10)
    // Fixed: element 4's closing line is back, which moves every later element a line down.
    await writeFile(path, users)
    const retry = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(retry.code, retry.stdout).toBe(0)
    expect(retry.stdout).toMatch(/still dead-lettered {2}0 /)
    expect(target.emulator.store.count()).toBe(12)
  })

  it('sends a user split off a line that could not be read, and a fixed older version before the newer one', async () => {
    const { dir, target } = await scratchTarget('gb-retry-')
    await mkdir(join(dir, 'data'))
    await writeFile(join(dir, 'data', 'a.ndjson'), `${line({ user_id: 'auth0|y', email: 'y@example.com' })}\n${line({ user_id: 'auth0|x', email: 'x@example.com', name: 'Older' }).slice(0, -5)}\n`)
    await writeFile(join(dir, 'data', 'b.ndjson'), `${line({ user_id: 'auth0|x', email: 'x@example.com', name: 'Newest' })}\n${line({ user_id: 'auth0|w', email: 'w@example.com' })}${line({ user_id: 'auth0|z', email: 'z@example.com' })}\n`)
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: join(dir, 'data', '*') }, sink: { upsert: true } })
    expect((await runCli(['backfill', '--config', config])).code).toBe(3)
    // Both lines fixed; the two users run together are split onto lines of their own.
    await writeFile(join(dir, 'data', 'a.ndjson'), `${line({ user_id: 'auth0|y', email: 'y@example.com' })}\n${line({ user_id: 'auth0|x', email: 'x@example.com', name: 'Older' })}\n`)
    await writeFile(join(dir, 'data', 'b.ndjson'), `${line({ user_id: 'auth0|x', email: 'x@example.com', name: 'Newest' })}\n${line({ user_id: 'auth0|w', email: 'w@example.com' })}\n${line({ user_id: 'auth0|z', email: 'z@example.com' })}\n`)
    const retry = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(retry.code, retry.stdout).toBe(0)
    expect(retry.stdout).not.toMatch(/not found/)
    const users = new Map([...target.emulator.store.list()].map((user) => [user.email?.value, user.standard?.['name']]))
    expect([...users.keys()].sort()).toEqual(['w@example.com', 'x@example.com', 'y@example.com', 'z@example.com'])
    expect(users.get('x@example.com')).toBe('Newest')
    const again = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(again.code).toBe(0)
    expect(count(again.stdout, 'not retried')).toBe(5)
  })

  it('settles a CSV header that could not be read once the fixed file is read', async () => {
    const { dir, target } = await scratchTarget('gb-retry-')
    const users = join(dir, 'users.csv')
    const rows = Array.from({ length: 5 }, (_, i) => `auth0|c${i},c${i}@example.com`)
    await writeFile(users, `"user_id,email\n${rows.join('\n')}\n`)
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: users } })
    expect((await runCli(['backfill', '--config', config])).code).toBe(3)
    await writeFile(users, `user_id,email\n${rows.join('\n')}\n`)
    const retry = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(retry.code, retry.stdout).toBe(0)
    expect(count(retry.stdout, 'inserted')).toBe(5)
    const again = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(again.code).toBe(0)
    expect(count(again.stdout, 'not retried')).toBe(5)
    // The file fixed in place was read whole by the retry: a plain rerun neither refuses it nor reads it again.
    const plain = await runCli(['backfill', '--config', config])
    expect(plain.code, plain.stderr).toBe(0)
    expect(count(plain.stdout, 'read')).toBe(0)
  })

  it('takes up the files a complete retry read, fixed in place before the last one; under upsert a plain rerun still refuses them', async () => {
    for (const upsert of [false, true]) {
      const { dir, target } = await scratchTarget('gb-retry-', { quota: { user_import: [{ quota: 1000, period: 'day' }] } })
      const used = () => target.emulator.quota.used('user_import', 'day')
      const first = join(dir, 'users-1.ndjson')
      const second = join(dir, 'users-2.ndjson')
      const part = (prefix: string, cut: boolean) => [0, 1, 2].map((i) => (cut && i === 1 ? `{"user_id":"auth0|${prefix}${i}","email":"${prefix}` : line({ user_id: `auth0|${prefix}${i}`, email: `${prefix}${i}@example.com` }))).join('\n')
      await writeFile(first, `${part('p', true)}\n`)
      await writeFile(second, `${part('q', false)}\n`)
      const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: join(dir, 'users-*.ndjson') }, sink: { upsert } })
      expect((await runCli(['backfill', '--config', config])).code).toBe(3)
      await writeFile(first, `${part('p', false)}\n`)
      const retry = await runCli(['backfill', '--retry-failed', '--config', config])
      expect(retry.code, retry.stderr).toBe(0)
      expect(count(retry.stdout, 'inserted')).toBe(1)
      const sent = used()
      const plain = await runCli(['backfill', '--config', config])
      if (upsert) {
        // A later version of a user already imported is an update only a plain run reading on sends.
        expect(plain.code).toBe(1)
        expect(plain.stderr).toMatch(/the files before users-2\.ndjson are not those read before it/)
      } else {
        expect(plain.code, plain.stderr).toBe(0)
        expect(count(plain.stdout, 'read')).toBe(0)
      }
      expect(used()).toBe(sent)
      expect(target.emulator.store.count()).toBe(6)
    }
  })

  it('counts only this import\'s dead letters: a --from-start import of another export leaves the earlier one\'s behind', async () => {
    const { dir, target } = await scratchTarget('gb-retry-')
    const users = join(dir, 'users.ndjson')
    await writeFile(users, `${line({ user_id: 'auth0|k', email: 'k-at-example.com' })}\n${line({ user_id: 'auth0|j', email: 'j@example.com' })}\n`)
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: users } })
    expect((await runCli(['backfill', '--config', config])).code).toBe(3)
    // Another export: k is gone, m is new and refused; then newer versions of a user, the newer refused.
    await writeFile(users, `${line({ user_id: 'auth0|m', email: 'm-at-example.com' })}\n${line({ user_id: 'auth0|v', email: 'v@example.com' })}\n${line({ user_id: 'auth0|v', email: 'v2-at-example.com' })}\n`)
    const fresh = await runCli(['backfill', '--from-start', '--config', config])
    expect(fresh.code, fresh.stderr).toBe(3)
    await writeFile(users, `${line({ user_id: 'auth0|m', email: 'm@example.com' })}\n${line({ user_id: 'auth0|v', email: 'v@example.com' })}\n${line({ user_id: 'auth0|v', email: 'v2@example.com' })}\n`)
    const retry = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(retry.code, retry.stdout).toBe(0)
    expect(retry.stdout).toMatch(/still dead-lettered {2}0 /)
    expect(retry.stdout).not.toMatch(/not found/)
    expect([...target.emulator.store.list()].map((user) => user.email?.value)).toEqual(expect.arrayContaining(['m@example.com', 'v2@example.com']))
  })

  it('refuses when the report it reads is gone, rather than forget the dead letters', async () => {
    const { dir, target } = await scratchTarget('gb-retry-', { roles: ['member'] })
    const users = join(dir, 'users.ndjson')
    await writeFile(users, `${exportLines(false).join('\n')}\n`)
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: users }, mapping: { roles_from: 'app_metadata.roles' } })
    expect((await runCli(['backfill', '--config', config])).code).toBe(3)
    await rm(join(dir, 'state', 'test.report.ndjson'))
    const retry = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(retry.code).toBe(1)
    expect(retry.stderr).toMatch(/reads which records failed from the report .*test\.report\.ndjson, which is missing/)
    expect((await runCli(['backfill', '--config', config])).stdout).toMatch(/dead-lettered by earlier runs {2}3 /)
  })

  it('refuses a backfill that has not read its source to the end, whose unread records are its own to send', async () => {
    const { dir, target } = await scratchTarget('gb-retry-')
    const users = join(dir, 'users.ndjson')
    await writeFile(users, `${exportLines(false).join('\n')}\n`)
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: users } })
    expect((await runCli(['backfill', '--config', config])).code).toBe(3)
    const checkpointPath = join(dir, 'state', 'test.checkpoint.json')
    const saved = JSON.parse(await readFile(checkpointPath, 'utf8')) as Record<string, unknown>
    // As a backfill stopped before its end leaves it.
    await writeFile(checkpointPath, JSON.stringify({ ...saved, complete: false, finished: undefined }))
    const retry = await runCli(['backfill', '--retry-failed', '--config', config])
    expect(retry.code).toBe(1)
    expect(retry.stderr).toMatch(/has not read its source to the end/)
  })
})
