import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { scratchTarget } from '../../support/emulator-harness.ts'
import { runCli } from '../../support/run-cli.ts'
import { readNdjson, writeTestConfig } from '../../support/write-config.ts'

const pairs = 120
const phoneOf = (i: number) => `+1415300${String(i).padStart(4, '0')}`

/**
 * An Auth0 tenant where database users carry a phone number, each followed in the export by an
 * SMS user with the same phone: Authgear finds the phone user's record by the email user's
 * second login ID. Batches are per identifier type and jobs run in parallel, so without source
 * order the SMS job could run first and the email user be refused its phone.
 */
describe('records of different users sharing a login ID', () => {
  it.each([0, 1])('are imported in source order, with mapping.workers %i', async (workers) => {
    const { dir, target } = await scratchTarget('gb-shared-logins-', { record_delay_ms: 2 })
    const lines: string[] = []
    for (let i = 0; i < pairs; i++) {
      lines.push(JSON.stringify({ user_id: `auth0|u${i}`, email: `u${i}@example.com`, email_verified: true, phone_number: phoneOf(i), identities: [{ provider: 'auth0', user_id: `u${i}`, connection: 'Username-Password-Authentication', isSocial: false }] }))
      lines.push(JSON.stringify({ user_id: `sms|p${i}`, phone_number: phoneOf(i), phone_verified: true, identities: [{ provider: 'sms', user_id: `p${i}`, connection: 'sms', isSocial: false }] }))
    }
    await writeFile(join(dir, 'users.ndjson'), lines.join('\n') + '\n')
    const config = await writeTestConfig(dir, target, {
      source: { type: 'auth0', files: 'users.ndjson' },
      mapping: { workers },
      sink: { max_in_flight: 4, batch: { max_records: 25, linger_ms: 5 } },
    })
    const result = await runCli(['backfill', '--config', config])
    expect(result.code, result.stderr.slice(-2000)).toBe(0)
    expect(await readNdjson(join(dir, 'state', 'test.dead-letter.ndjson'))).toEqual([])
    const store = target.emulator.store
    expect(store.count()).toBe(pairs)
    const report = new Map((await readNdjson(join(dir, 'state', 'test.report.ndjson'))).map((line) => [String(line['source_key']), line]))
    for (let i = 0; i < pairs; i++) {
      const user = store.findByLoginId('email', `u${i}@example.com`)
      expect(user, `u${i}`).toBeDefined()
      // The email user kept its phone, and the SMS user's record found that user, as validate says.
      expect(store.findByLoginId('phone', phoneOf(i))?.id).toBe(user!.id)
      expect(report.get(`sms|p${i}`)).toMatchObject({ outcome: 'skipped', user_id: user!.id })
    }
  })
})
