import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createSource } from '../../../connectors/create-source.ts'
import { loadConfig } from '../../../src/config/load-config.ts'
import { AbortedError } from '../../../src/core/errors.ts'
import type { Source } from '../../../src/core/source.ts'
import { reconcile, type Finding } from '../../../src/reconcile/reconciler.ts'
import type { MappingResult } from '../../../src/core/mapped-record.ts'
import type { ReadableRecord } from '../../../src/core/source-record.ts'
import { createMapping } from '../../../src/runtime/create-mapping.ts'
import { context, tempDir } from '../connectors/auth0/helpers.ts'

const example = fileURLToPath(new URL('../../../config.example.yaml', import.meta.url))

/** The bundled sample export as the source, read five records at a time; `onBatch` runs after each batch is handed out. */
async function sampleSource(onBatch: () => void = () => undefined): Promise<{ source: Source<unknown>; map: ReturnType<typeof createMapping> }> {
  const { config, baseDir } = await loadConfig(example, {})
  const { source: inner } = await createSource({ ...config.source, batch_records: 5 } as typeof config.source, { baseDir, mode: 'backfill' })
  const source: Source<unknown> = {
    async *read(from, ctx) {
      for await (const batch of inner.read(from as never, ctx)) {
        yield batch
        onBatch()
      }
    },
    close: () => inner.close(),
  }
  return { source, map: createMapping(config, { baseDir }) }
}

function run(exportFile: string, workDir: string, source: Source<unknown>, map: ReturnType<typeof createMapping>, signal: AbortSignal, findings: Finding[] = []) {
  return reconcile({ exportFile, source, map, identifierOrder: ['email', 'phone_number', 'preferred_username'], groups: new Set(['login_ids']), workDir, runBytes: 1 << 20, report: (f) => void findings.push(f), ctx: context(signal) })
}

/** One mapped version of a user, as a Debezium sync would give it. */
interface Version {
  readonly identifier: 'email' | 'preferred_username'
  readonly record: Record<string, string>
  readonly movedFrom?: { readonly identifier: 'email' | 'preferred_username'; readonly identifierValue: string }
  readonly action?: 'delete'
}

/** Reconciles `dir/export.ndjson` against a source that yields `versions` in order, mapped as they are. */
async function reconcileVersions(dir: string, work: string, versions: readonly Version[]) {
  const source: Source<unknown> = {
    async *read() {
      yield { records: versions.map((_, i) => ({ kind: 'data' as const, key: `users/0/${i}`, origin: `users:0:${i}`, data: { i } })), position: 0 }
    },
    async close() {},
  }
  const map = (record: ReadableRecord): MappingResult => {
    const version = versions[record.data['i'] as number]!
    return { ok: true, value: { identifier: version.identifier, identifierValue: version.record[version.identifier]!, record: version.record, passwordAlgorithm: 'none', passwordLane: 'none', warnings: [], ...(version.movedFrom ? { movedFrom: version.movedFrom, lockKeys: ['x', 'y'] } : {}), ...(version.action ? { action: version.action } : {}) } }
  }
  const findings: Finding[] = []
  const counts = await reconcile({ exportFile: join(dir, 'export.ndjson'), source, map, identifierOrder: ['email', 'phone_number', 'preferred_username'], groups: new Set(['login_ids']), workDir: join(dir, work), runBytes: 1 << 20, report: (f) => void findings.push(f), ctx: context() })
  return { counts, findings }
}

describe('reconcile', () => {
  it('gives no verdict when stopped before the source is read to its end', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'export.ndjson'), '')
    const stop = new AbortController()
    const { source, map } = await sampleSource(() => stop.abort())
    try {
      await expect(run(join(dir, 'export.ndjson'), join(dir, 'work'), source, map, stop.signal)).rejects.toBeInstanceOf(AbortedError)
    } finally {
      await source.close()
    }
  })

  it('gives no verdict, as stopped, when a signal ends the read through an AbortError of the platform (the hash index build throws one)', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'export.ndjson'), '')
    const stop = new AbortController()
    const { map } = await sampleSource()
    const source: Source<unknown> = {
      async *read(_from, ctx) {
        stop.abort()
        ctx.signal.throwIfAborted()
      },
      close: async () => undefined,
    }
    await expect(run(join(dir, 'export.ndjson'), join(dir, 'work'), source, map, stop.signal)).rejects.toBeInstanceOf(AbortedError)
  })

  it('names the file and line of an export line that is not a JSON object, never its text', async () => {
    const dir = await tempDir()
    const file = join(dir, 'export.ndjson')
    await writeFile(file, '{"sub":"u1","email":"a@example.com"}\n{"sub":"u2","mfa":{"secret":JBSWY3DPEHPK3PXP}}\n')
    const { source, map } = await sampleSource()
    try {
      const error = (await run(file, join(dir, 'work'), source, map, new AbortController().signal).catch((e: unknown) => e)) as Error
      expect(error.message).toMatch(new RegExp(`^${file.replaceAll('/', '\\/')}:2: not valid JSON`))
      expect(error.message).not.toContain('JBSWY3')
      await writeFile(file, 'sub,email\nu1,a@example.com\n')
      const csv = (await run(file, join(dir, 'work2'), source, map, new AbortController().signal).catch((e: unknown) => e)) as Error
      expect(csv.message).toContain(`${file}:1: not valid JSON`)
    } finally {
      await source.close()
    }
  })

  it('judges a user the source deleted by the delete policy: gone, disabled, or as it was', async () => {
    const dir = await tempDir()
    const exported = (email: string, disabled: boolean) => JSON.stringify({ sub: `u-${email}`, email, email_verified: false, disabled })
    await writeFile(join(dir, 'export.ndjson'), [exported('kept@example.com', false), exported('off@example.com', true)].join('\n') + '\n')
    // kept@ is created then deleted; off@ likewise; gone@ is created and deleted and absent from Authgear.
    // never@ is only ever deleted (its create was compacted away, or never imported): a sync found nobody to delete.
    const changes = [['kept@example.com', 'c'], ['kept@example.com', 'd'], ['off@example.com', 'c'], ['off@example.com', 'd'], ['gone@example.com', 'c'], ['gone@example.com', 'd'], ['never@example.com', 'd']] as const
    const source: Source<unknown> = {
      async *read() {
        yield { records: changes.map(([email, op], i) => ({ kind: 'data' as const, key: `k${i}`, origin: `users:0:${i}`, data: { email, op } })), position: 0 }
      },
      async close() {},
    }
    const map = (record: ReadableRecord): MappingResult => {
      const email = record.data['email'] as string
      return { ok: true, value: { identifier: 'email', identifierValue: email, record: { email }, passwordAlgorithm: 'none', passwordLane: 'none', warnings: [], ...(record.data['op'] === 'd' ? { action: 'delete' as const } : {}) } }
    }
    const judged = async (deletePolicy: 'delete' | 'disable' | 'ignore') => {
      const findings: Finding[] = []
      const counts = await reconcile({ exportFile: join(dir, 'export.ndjson'), source, map, identifierOrder: ['email'], groups: new Set(['login_ids', 'disabled']), workDir: join(dir, deletePolicy), runBytes: 1 << 20, report: (f) => void findings.push(f), ctx: context(), deletePolicy })
      return { differences: counts.differences, findings: findings.map((f) => `${f.kind}${'key' in f ? ` ${f.key}` : ''}`).sort() }
    }
    // Deleted: both users Authgear still holds are differences.
    expect(await judged('delete')).toEqual({ differences: 2, findings: ['extra_in_authgear email:kept@example.com', 'extra_in_authgear email:off@example.com'] })
    // Disabled: kept@ should be disabled and is not; gone@ should still exist.
    expect(await judged('disable')).toEqual({ differences: 2, findings: ['field_mismatch email:kept@example.com', 'missing_in_authgear email:gone@example.com'] })
    // Left as it was: off@ is disabled though nothing disabled it; gone@ should still exist.
    expect(await judged('ignore')).toEqual({ differences: 2, findings: ['field_mismatch email:off@example.com', 'missing_in_authgear email:gone@example.com'] })
  })

  it('judges a delete whose user another row holds (sharedWith: that row\'s create read first) as the sink applies it: the user stays, as that row has it', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'export.ndjson'), JSON.stringify({ sub: 'u-back', email: 'back@example.com', email_verified: false, name: 'Back again' }) + '\n')
    // Row 2 registers row 1's email again; its create is read before row 1's delete.
    const changes = [{ email: 'back@example.com', name: 'Old' }, { email: 'back@example.com', name: 'Back again' }, { email: 'back@example.com', deleted: true, sharedWith: { row: '{"id":2}', record: 'k1', last: true } }]
    const source: Source<unknown> = {
      async *read() {
        yield { records: changes.map((data, i) => ({ kind: 'data' as const, key: `k${i}`, origin: `users:0:${i}`, data })), position: 0 }
      },
      async close() {},
    }
    const map = (record: ReadableRecord): MappingResult => {
      const { email, name, deleted, sharedWith } = record.data as { email: string; name?: string; deleted?: true; sharedWith?: { row: string; record: string; last: boolean } }
      const base = { identifier: 'email' as const, identifierValue: email, passwordAlgorithm: 'none', passwordLane: 'none' as const, warnings: [] }
      return { ok: true, value: deleted ? { ...base, record: { email }, action: 'delete' as const, ...(sharedWith ? { sharedWith } : {}) } : { ...base, record: { email, name: name! } } }
    }
    const findings: Finding[] = []
    const counts = await reconcile({ exportFile: join(dir, 'export.ndjson'), source, map, identifierOrder: ['email'], groups: new Set(['login_ids', 'standard_attributes']), workDir: join(dir, 'work'), runBytes: 1 << 20, report: (f) => void findings.push(f), ctx: context(), deletePolicy: 'delete' })
    expect(findings).toEqual([])
    expect(counts).toMatchObject({ differences: 0, matched: 1 })
  })

  it('judges a user whose login ID changed (a Debezium update sent by its unchanged username) under the login ID it has now, its earlier versions superseded', async () => {
    const dir = await tempDir()
    // Authgear holds each user once, under its new email.
    const exported = [
      { sub: 'u1', email: 'new1@example.com', preferred_username: 'user_one', email_verified: false },
      { sub: 'u3', email: 'three@example.com', preferred_username: 'user_three', email_verified: false },
    ]
    await writeFile(join(dir, 'export.ndjson'), exported.map((user) => JSON.stringify(user)).join('\n') + '\n')
    const { counts, findings } = await reconcileVersions(dir, 'work', [
      { identifier: 'email', record: { email: 'old1@example.com', preferred_username: 'user_one' } },
      { identifier: 'preferred_username', record: { email: 'new1@example.com', preferred_username: 'user_one' }, movedFrom: { identifier: 'email', identifierValue: 'old1@example.com' } },
      // A first email for a user known by username until then.
      { identifier: 'preferred_username', record: { preferred_username: 'user_three' } },
      { identifier: 'preferred_username', record: { email: 'three@example.com', preferred_username: 'user_three' }, movedFrom: { identifier: 'preferred_username', identifierValue: 'user_three' } },
    ])
    expect(findings).toEqual([])
    expect(counts).toMatchObject({ differences: 0, matched: 2, superseded: 2 })
  })

  it('counts a login ID left for another as no version: a new user taking it, or a delete after it, is judged without the marker', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'export.ndjson'), [
      { sub: 'x', email: 'b@example.com', preferred_username: 'ex', email_verified: false },
      { sub: 'y', email: 'a@example.com', preferred_username: 'why', email_verified: false },
    ].map((user) => JSON.stringify(user)).join('\n') + '\n')
    const run = (versions: Version[]) => reconcileVersions(dir, `work-${versions.length}`, versions)
    const x1: Version = { identifier: 'email', record: { email: 'a@example.com', preferred_username: 'ex' } }
    const x2: Version = { identifier: 'preferred_username', record: { email: 'b@example.com', preferred_username: 'ex' }, movedFrom: { identifier: 'email', identifierValue: 'a@example.com' } }
    // User y takes the email x left: one version superseded (x's first), both users matched.
    const taken = await run([x1, x2, { identifier: 'email', record: { email: 'a@example.com', preferred_username: 'why' } }])
    expect(taken.findings).toEqual([])
    expect(taken.counts).toMatchObject({ sourceRecords: 3, sourceUsers: 2, superseded: 1, matched: 2 })
    // A delete after the marker (the partitions' reads interleaved): judged by the last version before it, without a crash.
    const deleted = await run([{ identifier: 'email', record: { email: 'a@example.com', preferred_username: 'why' } }, x1, x2, { identifier: 'email', record: { email: 'a@example.com' }, action: 'delete' }])
    expect(deleted.counts.sourceRecords).toBe(4)
  })

  it('reports a source user whose identifier Authgear holds for a user known by another login ID as merged into it, not missing, and not as a difference', async () => {
    const dir = await tempDir()
    const exported = [
      { sub: 'u1', email: 'ann@example.com', preferred_username: 'ann', email_verified: false },
      { sub: 'u2', email: 'vee@example.com', preferred_username: 'vee', email_verified: false },
    ]
    await writeFile(join(dir, 'export.ndjson'), exported.map((user) => JSON.stringify(user)).join('\n') + '\n')
    const { counts, findings } = await reconcileVersions(dir, 'work', [
      { identifier: 'email', record: { email: 'ann@example.com', preferred_username: 'ann' } },
      // A second account of Ann's by her username alone: the import matched it to her user.
      { identifier: 'preferred_username', record: { preferred_username: 'ann' } },
      // Vee's email was added in Authgear: her user is keyed by it, and no source user has it.
      { identifier: 'preferred_username', record: { preferred_username: 'vee' } },
      { identifier: 'preferred_username', record: { preferred_username: 'nobody' } },
    ])
    expect(findings).toEqual([
      { kind: 'extra_in_authgear', key: 'email:vee@example.com', user_id: 'u2' },
      { kind: 'merged_in_authgear', key: 'preferred_username:ann', source_key: 'users/0/1', origin: 'users:0:1', user_id: 'u1' },
      { kind: 'missing_in_authgear', key: 'preferred_username:nobody', source_key: 'users/0/3', origin: 'users:0:3' },
      { kind: 'merged_in_authgear', key: 'preferred_username:vee', source_key: 'users/0/2', origin: 'users:0:2', user_id: 'u2' },
    ])
    expect(counts).toMatchObject({ matched: 1, mergedInAuthgear: 2, missingInAuthgear: 1, extraInAuthgear: 1, differences: 2 })
  })
})
