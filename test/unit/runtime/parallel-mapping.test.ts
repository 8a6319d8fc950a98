import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { createSource } from '../../../connectors/create-source.ts'
import type { Auth0Position } from '../../../connectors/auth0/position.ts'
import { rootConfigSchema } from '../../../src/config/schema.ts'
import { requestBody } from '../../../src/runtime/batcher.ts'
import { CheckpointStore } from '../../../src/runtime/checkpoint-store.ts'
import { createMapping } from '../../../src/runtime/create-mapping.ts'
import { NdjsonWriter } from '../../../src/runtime/ndjson-writer.ts'
import { runPipeline } from '../../../src/runtime/pipeline.ts'
import { RunSummary } from '../../../src/runtime/run-summary.ts'
import { instantSink } from '../../support/instant-sink.ts'
import { context, tempDir } from '../connectors/auth0/helpers.ts'

const bcrypt = (c: string) => `$2b$10$${c.repeat(53).slice(0, 53)}`
const db = (id: string) => ({ identities: [{ connection: 'Username-Password-Authentication', provider: 'auth0', user_id: id, isSocial: false }] })
const id = (n: number) => String(n).padStart(24, '0')

/** An export with what the readers must get exactly right: BOM, CRLF, blank, broken and Latin-1 lines, duplicates, no final newline. */
function exportLines(): string[] {
  const lines: string[] = []
  for (let n = 1; n <= 1200; n++) {
    if (n % 97 === 0) lines.push('{"user_id": "auth0|broken", "email": ')
    else if (n % 101 === 0) lines.push('')
    else if (n % 103 === 0) lines.push('[1, 2]')
    else if (n % 107 === 0) lines.push(`${latin1}${JSON.stringify({ user_id: `auth0|${id(n)}`, email: `user${n}@example.com`, name: 'Renée', ...db(id(n)) })}`)
    else if (n % 89 === 0) lines.push(JSON.stringify({ user_id: `auth0|${id(n)}`, email: 'not-an-email', ...db(id(n)) }))
    else if (n % 83 === 0) lines.push(JSON.stringify({ user_id: `auth0|${id(n)}`, email: `user${n - 1}@example.com`, given_name: 'Later', ...db(id(n)) }))
    else if (n % 79 === 0) lines.push(JSON.stringify({ user_id: `sms|${n}`, phone_number: `+1415555${String(n).padStart(4, '0')}`, phone_verified: true }))
    else lines.push(JSON.stringify({ user_id: `auth0|${id(n)}`, email: `User${n}@Example.com`, email_verified: n % 2 === 0, locale: n % 5 === 0 ? 'en_US' : 'de-DE', app_metadata: { roles: ['member'], plan: 'pro' }, ...db(id(n)) }))
  }
  return lines
}

/** Marks a line to be written as Latin-1 (é as one byte, not UTF-8). */
const latin1 = 'latin1:'

function hashLines(): string {
  const lines: string[] = []
  for (let n = 1; n <= 1200; n += 2) {
    lines.push(JSON.stringify({ _id: { $oid: id(n) }, email: `user${n}@example.com`, passwordHash: n % 7 === 0 ? '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG' : bcrypt(String(n % 10)), connection: 'Username-Password-Authentication', password_set_date: { $date: '2020-01-01T00:00:00.000Z' } }))
  }
  return lines.join('\n')
}

interface RunResult {
  readonly status: string
  readonly summary: RunSummary
  readonly records: string[]
  readonly report: unknown[]
  readonly deadLetter: unknown[]
  readonly position: Auth0Position | undefined
  readonly joinLog: object | undefined
  readonly workers: unknown
}

async function run(dir: string, workers: number, name: string, from?: Auth0Position, files = 'users.ndjson'): Promise<RunResult> {
  const config = rootConfigSchema.parse({
    name,
    source: { type: 'auth0', files, password_hashes: { files: 'hashes.ndjson' }, batch_records: 100 },
    mapping: { workers, default_phone_region: 'US', custom_attributes: { plan: 'app_metadata.plan' } },
    sink: { endpoint: 'embedded', project_id: 'p', key_id: 'k', private_key_file: 'k.pem', max_in_flight: 2 },
  })
  const { source, parsePosition } = await createSource(config.source, { baseDir: dir, mode: 'backfill' })
  const report = new NdjsonWriter(join(dir, `${name}.report.ndjson`))
  const deadLetter = new NdjsonWriter(join(dir, `${name}.dead.ndjson`))
  await report.open()
  await deadLetter.open()
  const records: string[] = []
  const { summary, metrics, recorder, scheduler } = instantSink({
    // No linger: batches close on count only, so which duplicates share a batch does not depend on timing.
    policy: { maxRecords: 50, maxBytes: 500_000, lingerMs: 600_000 },
    maxInFlight: 2,
    report,
    deadLetter,
    onJob: (identifier, items) => {
      const body = JSON.parse(requestBody(identifier, false, items).toString()) as { records: unknown[] }
      for (const record of body.records) records.push(JSON.stringify(record))
    },
    settle: (item) => ({ kind: 'inserted', userId: `u-${item.source.key}` }),
  })
  const store = new CheckpointStore<Auth0Position>(join(dir, `${name}.checkpoint.json`), parsePosition as (value: unknown) => Auth0Position)
  if (from) await store.save({ version: 1, pipeline: name, position: from, committedAt: new Date().toISOString(), recordsCommitted: 0, complete: false })
  const ctx = context()
  try {
    const result = await runPipeline(
      { source, sourceName: 'auth0', map: createMapping(config), scheduler, recorder, writers: [report, deadLetter], store, pipelineId: name, fromStart: from === undefined, summary, metrics, checkpointIntervalMs: 10, maxRequestBytes: 500_000, upsert: false },
      ctx,
    )
    await report.close()
    await deadLetter.close()
    const strip = (text: string) => text.split('\n').filter(Boolean).map((line) => {
      const { at, last_attempt_at, ...rest } = JSON.parse(line) as Record<string, unknown>
      return rest
    })
    return {
      status: result.status,
      summary,
      records: records.sort(),
      report: strip(await readFile(join(dir, `${name}.report.ndjson`), 'utf8')).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      deadLetter: strip(await readFile(join(dir, `${name}.dead.ndjson`), 'utf8')),
      position: (await store.load(name))?.position ?? undefined,
      joinLog: ctx.lines.find((line) => line.msg === 'Password-hash join summary.')?.obj,
      workers: (ctx.lines.find((line) => line.msg === 'Mapping records on worker threads.')?.obj as { workers?: number } | undefined)?.workers,
    }
  } finally {
    await source.close()
  }
}

async function exportDir(): Promise<string> {
  const dir = await tempDir()
  const bytes = exportLines().map((line) => (line.startsWith(latin1) ? Buffer.from(line.slice(latin1.length), 'latin1') : Buffer.from(line)))
  await writeFile(join(dir, 'users.ndjson'), Buffer.concat([Buffer.from('\uFEFF'), ...bytes.flatMap((line, i) => (i === 0 ? [line] : [Buffer.from('\r\n'), line]))]))
  await writeFile(join(dir, 'hashes.ndjson'), hashLines())
  return dir
}

describe('mapping on worker threads', () => {
  it('gives the same outcomes, request records, dead letters, join counts and final position as the main thread', async () => {
    const dir = await exportDir()
    const sequential = await run(dir, 0, 'seq')
    const parallel = await run(dir, 2, 'par')
    expect(parallel.status).toBe('complete')
    expect(parallel.workers).toBe(2)
    expect(sequential.workers).toBeUndefined()
    expect(parallel.summary.read).toBe(1200 - 11)
    expect(parallel.summary.outcomes).toEqual(sequential.summary.outcomes)
    expect(parallel.summary.byPassword).toEqual(sequential.summary.byPassword)
    expect(parallel.summary.outcomes.rejected).toBeGreaterThan(20)
    const codes = (letters: unknown[]) => letters.filter((line) => (line as { code: string }).code === 'invalid_utf8').map((line) => (line as { origin: string }).origin)
    expect(codes(parallel.deadLetter)).toEqual(['users.ndjson:107', 'users.ndjson:214', 'users.ndjson:321', 'users.ndjson:428', 'users.ndjson:535', 'users.ndjson:642', 'users.ndjson:749', 'users.ndjson:856', 'users.ndjson:963', 'users.ndjson:1070', 'users.ndjson:1177'])
    expect(codes(sequential.deadLetter)).toEqual(codes(parallel.deadLetter))
    expect(parallel.records).toEqual(sequential.records)
    expect(parallel.report).toEqual(sequential.report)
    expect(parallel.deadLetter.length).toBe(sequential.deadLetter.length)
    expect(new Set(parallel.deadLetter.map((line) => JSON.stringify(line)))).toEqual(new Set(sequential.deadLetter.map((line) => JSON.stringify(line))))
    expect(parallel.joinLog).toEqual(sequential.joinLog)
    const size = (await readFile(join(dir, 'users.ndjson'))).length
    expect(parallel.position).toMatchObject({ file: 'users.ndjson', line: 1200, offset: size, done: true, size })
    expect(sequential.position).toMatchObject({ file: 'users.ndjson', done: true })
  }, 30_000)

  it('resumes from a mid-file position exactly as the main thread does', async () => {
    const dir = await exportDir()
    const text = await readFile(join(dir, 'users.ndjson'))
    let offset = 0
    for (let line = 0; line < 500; line++) offset = text.indexOf(0x0a, offset) + 1
    const from: Auth0Position = { file: 'users.ndjson', line: 500, offset }
    const sequential = await run(dir, 0, 'seq', from)
    const parallel = await run(dir, 2, 'par', from)
    expect(parallel.workers).toBe(2)
    expect(parallel.summary.read).toBe(sequential.summary.read)
    expect(parallel.summary.read).toBeLessThan(700)
    expect(parallel.report).toEqual(sequential.report)
    expect(parallel.records).toEqual(sequential.records)
  }, 30_000)

  it('maps a gzipped export on the main thread even when workers are configured', async () => {
    const dir = await exportDir()
    await writeFile(join(dir, 'users.ndjson.gz'), gzipSync(await readFile(join(dir, 'users.ndjson'))))
    const plain = await run(dir, 0, 'plain')
    const gzipped = await run(dir, 2, 'gz', undefined, 'users.ndjson.gz')
    expect(gzipped.workers).toBeUndefined()
    expect(gzipped.status).toBe('complete')
    expect(gzipped.summary.outcomes).toEqual(plain.summary.outcomes)
    expect(gzipped.records).toEqual(plain.records)
  }, 30_000)
})
