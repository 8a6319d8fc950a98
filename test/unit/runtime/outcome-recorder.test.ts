import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Metrics } from '../../../src/observability/metrics.ts'
import { Checkpointer } from '../../../src/runtime/checkpointer.ts'
import { NdjsonWriter } from '../../../src/runtime/ndjson-writer.ts'
import { OutcomeRecorder } from '../../../src/runtime/outcome-recorder.ts'
import { RunSummary } from '../../../src/runtime/run-summary.ts'
import { tempDir } from '../connectors/auth0/helpers.ts'

describe('OutcomeRecorder', () => {
  it('writes a dead letter with the secrets of its record and message redacted', async () => {
    const dir = await tempDir()
    const deadLetter = new NdjsonWriter(join(dir, 'dead.ndjson'))
    await deadLetter.open()
    const recorder = new OutcomeRecorder({ deadLetter, metrics: new Metrics({ defaultMetrics: false }), summary: new RunSummary() })
    const ticket = new Checkpointer<number>().track(1, 1)
    const row = { id: 7, email: 'a@example.com', user_pass: 'hunter2-plaintext', otp_secret: 'JBSWY3DPEHPK3PXP' }
    recorder.complete(
      { source: { kind: 'data', key: '7', origin: 'users id=7', data: row }, ticket },
      { kind: 'failed', code: 'request_rejected', message: 'Authgear refused the request: "proxy echoed Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"' },
    )
    await deadLetter.close()
    const text = await readFile(join(dir, 'dead.ndjson'), 'utf8')
    for (const secret of ['hunter2', 'JBSWY3', 'eyJhbGci']) expect(text).not.toContain(secret)
    expect(JSON.parse(text)).toMatchObject({ source_key: '7', code: 'request_rejected', record: { id: 7, email: 'a@example.com', user_pass: 'REDACTED', otp_secret: 'REDACTED' } })
  })

  it('redacts the column the config names as the password whatever it is called, as the run wires it', async () => {
    const dir = await tempDir()
    const deadLetter = new NdjsonWriter(join(dir, 'dead.ndjson'))
    await deadLetter.open()
    const recorder = new OutcomeRecorder({ deadLetter, metrics: new Metrics({ defaultMetrics: false }), summary: new RunSummary(), secretColumns: ['Legacy_Col'] })
    const row = { id: 8, email: 'b@example.com', legacy_col: 'plain-text-password' }
    recorder.complete({ source: { kind: 'data', key: '8', origin: 'users id=8', data: row }, ticket: new Checkpointer<number>().track(1, 1) }, { kind: 'rejected', code: 'password_policy', message: 'unrecognised password hash' }, 'processing')
    await deadLetter.close()
    expect(JSON.parse(await readFile(join(dir, 'dead.ndjson'), 'utf8'))).toMatchObject({ record: { id: 8, email: 'b@example.com', legacy_col: 'REDACTED' } })
  })

  it('redacts by value what a mapping module gave as the password, under any column name and in the message', async () => {
    const dir = await tempDir()
    const deadLetter = new NdjsonWriter(join(dir, 'dead.ndjson'))
    await deadLetter.open()
    const recorder = new OutcomeRecorder({ deadLetter, metrics: new Metrics({ defaultMetrics: false }), summary: new RunSummary() })
    const row = { id: 9, email: 'c@example.com', upass: 'Tr0ub4dor&3', nested: { copy: 'Tr0ub4dor&3' } }
    recorder.complete(
      { source: { kind: 'data', key: '9', origin: 'legacy id=9', data: row }, ticket: new Checkpointer<number>().track(1, 1), secretsRead: ['Tr0ub4dor&3'] },
      { kind: 'rejected', code: 'password_policy', message: 'legacy id=9: password_hash holds an unrecognised password hash format (Tr0ub4dor&3)' },
      'processing',
    )
    await deadLetter.close()
    const text = await readFile(join(dir, 'dead.ndjson'), 'utf8')
    expect(text).not.toContain('Tr0ub4dor')
    expect(JSON.parse(text)).toMatchObject({ record: { id: 9, email: 'c@example.com', upass: 'REDACTED', nested: { copy: 'REDACTED' } }, message: 'legacy id=9: password_hash holds an unrecognised password hash format (REDACTED)' })
  })

  it('gives a dead letter the warnings of its outcome, as the report line has them', async () => {
    const dir = await tempDir()
    const deadLetter = new NdjsonWriter(join(dir, 'dead.ndjson'))
    const report = new NdjsonWriter(join(dir, 'report.ndjson'))
    await deadLetter.open()
    await report.open()
    const recorder = new OutcomeRecorder({ deadLetter, report, metrics: new Metrics({ defaultMetrics: false }), summary: new RunSummary() })
    const ticket = new Checkpointer<number>().track(1, 1)
    const warnings = ['email_verified = false has no effect in insert.']
    recorder.complete({ source: { kind: 'data', key: '1', origin: 'users.ndjson:1', data: {} }, ticket }, { kind: 'failed', code: 'RoleUnknownKeys', message: 'users.ndjson:1: unknown role keys (RoleUnknownKeys)', warnings })
    await deadLetter.close()
    await report.close()
    expect(JSON.parse(await readFile(join(dir, 'dead.ndjson'), 'utf8'))).toMatchObject({ code: 'RoleUnknownKeys', warnings })
    expect(JSON.parse(await readFile(join(dir, 'report.ndjson'), 'utf8'))).toMatchObject({ outcome: 'failed', warnings })
  })
})
