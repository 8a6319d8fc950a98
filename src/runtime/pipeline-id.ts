import { createHash } from 'node:crypto'
import type { RootConfig } from '../config/schema.ts'

/**
 * What a checkpoint position means: which input it counts through, and the project it was
 * imported into. Only settings that change the meaning of a position are in it: batching, page
 * sizes, polling, retries, credentials (a rotated password) and observability may change between
 * runs without making a checkpoint another pipeline's.
 */
export function pipelineIdentity(config: RootConfig): Record<string, unknown> {
  return storedIdentityOf(rawPipelineIdentity(config))
}

function rawPipelineIdentity(config: RootConfig): Record<string, unknown> {
  return { source: sourceIdentity(config.source), target: targetOf(config), project: config.sink.project_id }
}

/**
 * An identity as it is written to the checkpoint and the login ledger, and compared: a SQL
 * `source.query` as a digest, since a `${VAR}` in it (a decryption key, a dblink password) would
 * otherwise be kept in clear. Fingerprints are of the identity as it was (`pipelineId`), so
 * existing checkpoints and ledgers still match; an identity saved with its query in clear reads
 * as the digest.
 */
export function storedIdentityOf(identity: Record<string, unknown>): Record<string, unknown> {
  const source = identity['source'] as Record<string, unknown> | undefined
  const query = source?.['query']
  if (typeof query !== 'string' || query.startsWith(queryDigestPrefix)) return identity
  return { ...identity, source: { ...source, query: `${queryDigestPrefix}${createHash('sha256').update(query).digest('hex').slice(0, 16)}` } }
}

const queryDigestPrefix = 'sha256:'

function targetOf(config: RootConfig): string {
  return config.sink.endpoint === 'embedded' ? 'embedded' : new URL(config.sink.endpoint).host
}

function sourceIdentity(source: RootConfig['source']): Record<string, unknown> {
  switch (source.type) {
    case 'auth0':
      return { type: source.type, files: source.files, format: source.format }
    case 'sql':
      return { type: source.type, dialect: source.dialect, server: sqlServer(source), table: source.table, query: source.query, key: source.key, updated_at: source.updated_at }
    case 'kafka':
      // Where a Kafka source is lies in its consumer group's offsets, not in the checkpoint: a
      // topic added to (or removed from) the list changes nothing the checkpoint holds.
      return { type: source.type, group_id: source.group_id }
  }
}

/** Host, port and database of a SQL source, without user or password. */
function sqlServer(source: Extract<RootConfig['source'], { type: 'sql' }>): string {
  if (source.url !== undefined) {
    try {
      const url = new URL(source.url)
      return `${url.hostname}:${url.port}${url.pathname}`
    } catch {
      // Forms the drivers take and WHATWG URL refuses, such as a unix socket
      // (postgres://app:pw@/legacy?host=/run/postgresql): the text without its credentials.
      return source.url.replace(/\/\/[^/?#]*@/, '//').replace(/([?&](?:password|sslpassword)=)[^&#]*/gi, '$1')
    }
  }
  return `${source.host ?? ''}:${source.port ?? ''}/${source.database ?? ''}`
}

/**
 * What a login ledger's keys belong to: the rows of one table (or query) of one database server,
 * imported into one Authgear project. Its `updated_at` column may change.
 */
export function loginLedgerIdentity(config: RootConfig): Record<string, unknown> {
  return storedIdentityOf(rawLedgerIdentity(config))
}

function rawLedgerIdentity(config: RootConfig): Record<string, unknown> {
  const { updated_at: _, ...source } = sourceIdentity(config.source)
  return { source, target: targetOf(config), project: config.sink.project_id }
}

/** Fingerprint of `loginLedgerIdentity` (as it was before its query became a digest). */
export function loginLedgerOwner(config: RootConfig): string {
  return fingerprint(rawLedgerIdentity(config))
}

/** The config key an identity path stands for (`target` is the host of `sink.endpoint`). */
export function identitySettingName(path: string): string {
  if (path === 'target') return 'sink.endpoint (its host)'
  if (path === 'project') return 'sink.project_id'
  if (path === 'source.server') return 'source.url (or host, port, database: the server)'
  return path
}

/** Fingerprint of `pipelineIdentity`: a checkpoint saved under another one is refused. */
export function pipelineId(config: RootConfig): string {
  return fingerprint(rawPipelineIdentity(config))
}

/**
 * The fingerprint earlier versions wrote, of the whole `source:` block: still accepted, so an
 * upgrade in the middle of a migration resumes it.
 */
export function legacyPipelineId(config: RootConfig): string {
  return fingerprint({ source: config.source, target: targetOf(config), project: config.sink.project_id })
}

/**
 * A saved identity in the form this version writes: a Kafka source's `topics` dropped, as they no
 * longer say which checkpoint it is. Other identities are returned as they are.
 */
export function currentIdentityOf(saved: Record<string, unknown>): Record<string, unknown> {
  const source = saved['source'] as Record<string, unknown> | undefined
  if (source?.['type'] !== 'kafka' || !('topics' in source)) return storedIdentityOf(saved)
  const { topics: _topics, ...rest } = source
  return { ...saved, source: rest }
}

/**
 * Whether a checkpoint saved under `pipeline`, of `identity`, is the one `id` names once its
 * identity is read in the current form: a Kafka sync saved by a version that keyed it by its
 * topics too (every such checkpoint holds its identity), whatever the topics are now.
 */
export function identityUpgradesTo(identity: Record<string, unknown>, pipeline: string, id: string): boolean {
  return fingerprint(identity) === pipeline && fingerprint(currentIdentityOf(identity)) === id
}

function fingerprint(material: unknown): string {
  return createHash('sha256').update(JSON.stringify(material)).digest('hex').slice(0, 16)
}

/** The settings by which two identities differ, as `source.files`-style paths (no values: they may be secret-adjacent). */
export function identityDifferences(saved: unknown, current: Record<string, unknown>, prefix = ''): string[] {
  if (saved === null || typeof saved !== 'object' || Array.isArray(saved)) return JSON.stringify(saved) === JSON.stringify(current) ? [] : [prefix || '(all)']
  const before = saved as Record<string, unknown>
  const out: string[] = []
  for (const key of new Set([...Object.keys(before), ...Object.keys(current)])) {
    const path = prefix ? `${prefix}.${key}` : key
    const a = before[key]
    const b = current[key]
    if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) out.push(...identityDifferences(a, b as Record<string, unknown>, path))
    else if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path)
  }
  return out
}
