import { createHash } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { rootConfigSchema } from '../../../src/config/schema.ts'
import { CheckpointStore } from '../../../src/runtime/checkpoint-store.ts'
import { legacyPipelineId, loginLedgerIdentity, pipelineId, pipelineIdentity } from '../../../src/runtime/pipeline-id.ts'
import { scratchDir } from '../../support/scratch-dir.ts'

const sink = { endpoint: 'https://myapp.authgear.cloud', project_id: 'myapp', key_id: 'k', private_key_file: 'k.pem' }
const config = (source: Record<string, unknown>) => rootConfigSchema.parse({ name: 't', source, sink })
const sql = (extra: Record<string, unknown> = {}) => config({ type: 'sql', dialect: 'postgres', url: 'postgres://app:old-secret@db.internal:5432/legacy', table: 'users', key: 'id', updated_at: 'updated_at', columns: { email: 'email' }, ...extra })

describe('checkpoint fingerprint', () => {
  it('stays the same when only batching, paging, polling, retries or credentials change', () => {
    expect(pipelineId(sql({ page_size: 5000, poll_interval_ms: 100, safety_lag_seconds: 5, retry: { max_attempts: 3 } }))).toBe(pipelineId(sql()))
    expect(pipelineId(sql({ url: 'postgres://app:rotated@db.internal:5432/legacy' }))).toBe(pipelineId(sql()))
    const auth0 = (extra: Record<string, unknown>) => pipelineId(config({ type: 'auth0', files: 'users.ndjson', ...extra }))
    expect(auth0({ batch_records: 5000 })).toBe(auth0({}))
    const kafka = (extra: Record<string, unknown>) => pipelineId(config({ type: 'kafka', brokers: 'k:9092', topics: 'users', group_id: 'g', format: 'json', record_mapping: 'auth0', ...extra }))
    expect(kafka({ batch_records: 50, commit_interval_ms: 100, brokers: 'k2:9092' })).toBe(kafka({}))
  })

  it('takes a unix-socket URL the driver reads and WHATWG URL refuses, and keeps its password out', () => {
    const socket = (url: string) => sql({ url })
    const id = pipelineIdentity(socket('postgres://app:s3cret@/legacy?host=/run/postgresql'))
    expect(JSON.stringify(id)).not.toContain('s3cret')
    expect(pipelineId(socket('postgres://app:rotated@/legacy?host=/run/postgresql'))).toBe(pipelineId(socket('postgres://app:s3cret@/legacy?host=/run/postgresql')))
    expect(pipelineId(socket('postgres://app:s3cret@/other?host=/run/postgresql'))).not.toBe(pipelineId(socket('postgres://app:s3cret@/legacy?host=/run/postgresql')))
    expect(JSON.stringify(pipelineIdentity(socket('postgres://app@/legacy?host=/tmp&password=hunter2')))).not.toContain('hunter2')
  })

  it('keys a Kafka source by its consumer group, which holds its position, so topics can be added; a checkpoint from when topics were keyed is taken, topics changed or not', async () => {
    const kafka = (extra: Record<string, unknown>) => config({ type: 'kafka', brokers: 'k:9092', topics: 'users', group_id: 'g', format: 'json', record_mapping: 'auth0', ...extra })
    expect(pipelineId(kafka({ topics: ['users', 'users-eu'] }))).toBe(pipelineId(kafka({})))
    expect(pipelineId(kafka({ group_id: 'other' }))).not.toBe(pipelineId(kafka({})))
    const dir = await scratchDir('gb-pipeline-id-kafka-')
    const path = join(dir, 'checkpoint.json')
    const store = new CheckpointStore(path, (value) => value)
    // As versions that keyed a Kafka source by its topics too saved it: the fingerprint of that identity, and the identity.
    const oldIdentity = { source: { type: 'kafka', topics: ['users'], group_id: 'g' }, target: 'myapp.authgear.cloud', project: 'myapp' }
    const oldId = createHash('sha256').update(JSON.stringify(oldIdentity)).digest('hex').slice(0, 16)
    await writeFile(path, JSON.stringify({ version: 1, position: null, committedAt: '2026-01-01T00:00:00Z', recordsCommitted: 7, complete: false, pipeline: oldId, identity: oldIdentity }))
    for (const now of [kafka({}), kafka({ topics: ['users', 'users-eu'] })]) {
      await expect(store.load({ id: pipelineId(now), identity: pipelineIdentity(now) })).resolves.toMatchObject({ recordsCommitted: 7 })
    }
    // Another group is still another pipeline, and the refusal names the group, not the topics.
    const other = kafka({ topics: ['users', 'users-eu'], group_id: 'other' })
    await expect(store.load({ id: pipelineId(other), identity: pipelineIdentity(other) })).rejects.toMatchObject({ message: expect.stringContaining(': source.group_id changed since it was saved') })
  })

  it('changes with what a position counts through: files, table, query, key, database, topics, group, project', () => {
    const base = pipelineId(sql())
    for (const changed of [sql({ table: 'accounts' }), sql({ key: 'user_id' }), sql({ url: 'postgres://app:old-secret@db.internal:5432/other' }), sql({ updated_at: 'modified_at' })]) {
      expect(pipelineId(changed)).not.toBe(base)
    }
    expect(pipelineId(config({ type: 'auth0', files: 'a.ndjson' }))).not.toBe(pipelineId(config({ type: 'auth0', files: 'b.ndjson' })))
  })

  it('keeps no secret in the identity a checkpoint stores', () => {
    expect(JSON.stringify(pipelineIdentity(sql()))).not.toContain('old-secret')
    expect(JSON.stringify(pipelineIdentity(sql()))).not.toContain('app:')
  })

  it('stores a query as a digest (a ${VAR} in it may be a key), under the fingerprint it had, in a file its owner alone reads; a checkpoint saved with the query in clear still resumes', async () => {
    const query = "SELECT id, email, pgp_sym_decrypt(pw_enc, 'AesKey-Sup3rSecret-2026') AS pw FROM enc_users"
    const withQuery = sql({ table: undefined, query })
    expect(JSON.stringify(pipelineIdentity(withQuery))).not.toContain('Sup3rSecret')
    expect((pipelineIdentity(withQuery)['source'] as Record<string, unknown>)['query']).toMatch(/^sha256:[0-9a-f]{16}$/)
    expect(JSON.stringify(loginLedgerIdentity(withQuery))).not.toContain('Sup3rSecret')
    // The fingerprint is the one earlier versions computed from the query in clear.
    const rawIdentity = { ...pipelineIdentity(withQuery), source: { ...(pipelineIdentity(withQuery)['source'] as object), query } }
    expect(pipelineId(withQuery)).toBe(createHash('sha256').update(JSON.stringify(rawIdentity)).digest('hex').slice(0, 16))
    const dir = await scratchDir('gb-pipeline-id-query-')
    const path = join(dir, 'checkpoint.json')
    const store = new CheckpointStore(path, (value) => value)
    await writeFile(path, JSON.stringify({ version: 1, position: { page: 3 }, committedAt: '2026-01-01T00:00:00Z', recordsCommitted: 9, complete: false, pipeline: pipelineId(withQuery), identity: rawIdentity }))
    await expect(store.load({ id: pipelineId(withQuery), identity: pipelineIdentity(withQuery) })).resolves.toMatchObject({ recordsCommitted: 9 })
    // Another key column is refused, naming it alone: the query read in clear is its digest.
    const otherKey = sql({ table: undefined, query, key: 'user_id' })
    await expect(store.load({ id: pipelineId(otherKey), identity: pipelineIdentity(otherKey) })).rejects.toMatchObject({ message: expect.stringContaining(': source.key changed since it was saved;') })
    await store.save({ version: 1, pipeline: pipelineId(withQuery), position: { page: 4 }, committedAt: '2026-01-02T00:00:00Z', recordsCommitted: 10, complete: false, identity: pipelineIdentity(withQuery) })
    const saved = await readFile(path, 'utf8')
    expect(saved).not.toContain('Sup3rSecret')
    expect(((await stat(path)).mode & 0o777).toString(8)).toBe('600')
  })

  it('resumes a checkpoint written under the fingerprint of earlier versions, and names what changed when it refuses one', async () => {
    const dir = await scratchDir('gb-pipeline-id-')
    const path = join(dir, 'checkpoint.json')
    const store = new CheckpointStore(path, (value) => value)
    const saved = { version: 1, position: { file: 'users.ndjson', line: 10 }, committedAt: '2026-01-01T00:00:00Z', recordsCommitted: 10, complete: false }
    const current = config({ type: 'auth0', files: 'users.ndjson' })
    await writeFile(path, JSON.stringify({ ...saved, pipeline: legacyPipelineId(current) }))
    await expect(store.load({ id: pipelineId(current), aliases: [legacyPipelineId(current)] })).resolves.toMatchObject({ position: { line: 10 } })
    const other = config({ type: 'auth0', files: 'other.ndjson' })
    await writeFile(path, JSON.stringify({ ...saved, pipeline: pipelineId(other), identity: pipelineIdentity(other) }))
    await expect(store.load({ id: pipelineId(current), identity: pipelineIdentity(current) })).rejects.toMatchObject({
      code: 'GB_CHECKPOINT',
      message: expect.stringContaining('belongs to another source or target: source.files changed since it was saved; put the setting back to resume'),
    })
    // The target and project are named by the settings that hold them.
    const moved = rootConfigSchema.parse({ name: 't', source: { type: 'auth0', files: 'users.ndjson' }, sink: { ...sink, endpoint: 'http://localhost:4002', project_id: 'other' } })
    await writeFile(path, JSON.stringify({ ...saved, pipeline: pipelineId(current), identity: pipelineIdentity(current) }))
    await expect(store.load({ id: pipelineId(moved), identity: pipelineIdentity(moved) })).rejects.toMatchObject({
      message: expect.stringContaining(': sink.endpoint (its host), sink.project_id changed since it was saved'),
    })
  })
})
