import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import { ConfigError } from '../../src/core/errors.ts'
import type { RunContext } from '../../src/core/run-context.ts'
import type { Source, SourceBatch } from '../../src/core/source.ts'
import type { ReadableRecord, SourceRecord } from '../../src/core/source-record.ts'
import { isMarkerSet } from '../../mappings/sql-values.ts'
import { SqlClient } from './client.ts'
import { cursorLagSeconds, type SqlSourceConfig } from './config.ts'
import { connectionSettings } from './connection-options.ts'
import { PageQueries, sinceText, type CursorPoint, type CursorStart } from './page-query.ts'
import type { SqlKey, SqlPosition } from './position.ts'
import { verifyRelation } from './verify-relation.ts'
import { pause, retryingQuery } from './retrying-query.ts'
import { CURSOR_COLUMN, rowToRecord, STABLE_COLUMN } from './row-record.ts'

export interface SqlSourceOptions {
  /** Directory `password_file` and TLS files resolve against: the config file's. */
  readonly baseDir: string
  /** `backfill` reads to the current end; `sync` polls by cursor until the signal aborts. */
  readonly mode: 'backfill' | 'sync'
  /** `backfill --since`: read by cursor, only rows with updated_at at or after this time. */
  readonly since?: Date
}

/** The SQL source, plus counters tests and the run log read. */
export interface SqlSource extends Source<SqlPosition> {
  /** Soft-deleted rows left out under `soft_delete.mode: skip`. */
  readonly skippedDeleted: number
}

/**
 * Reads users from a table or custom query. `backfill` pages by key (keyset, constant memory);
 * `sync` and `--since` page by (updated_at, key). The configuration is checked against the
 * database before the first row is yielded: a bad query or a missing column fails the run then.
 */
export function createSqlSource(config: SqlSourceConfig, options: SqlSourceOptions): SqlSource {
  const cursorMode = options.mode === 'sync' || options.since !== undefined
  if (cursorMode && config.updated_at === undefined) {
    throw new ConfigError('source.updated_at is required for sync and backfill --since', [`source.updated_at: required to read changes by cursor (${options.mode === 'sync' ? 'sync' : 'backfill --since'})`])
  }
  const relationName = config.table ?? 'query'
  let client: SqlClient | undefined
  let verified = false
  let skippedDeleted = 0
  /** Said at the end of the run (and by validate): what the source could not hand over. */
  const warnings: string[] = []
  /** How many times a sync has read the table to its end (see `Source.readsToEnd`). */
  let readsToEnd = 0

  const open = (): SqlClient => (client ??= new SqlClient(config.dialect, connectionSettings(config, options.baseDir), { readOnly: config.read_only }))

  async function verify(ctx: RunContext): Promise<string[]> {
    const db = open()
    const present = await verifyRelation(db, new PageQueries(db, config), config, ctx)
    if (present.length > 0) verified = true
    return present
  }

  /**
   * Pages continue after the last key, compared by the database. A binary key (MySQL
   * `BINARY(16)` UUIDs, PostgreSQL `bytea`) reaches the reader as bytes that a saved position
   * cannot hold as they are, and as text they compare differently, which would skip or repeat
   * rows: such a key is refused before anything is sent.
   */
  const refuseBinaryKey = (rows: readonly Record<string, unknown>[]): void => {
    if (rows.length === 0 || !Buffer.isBuffer(rows[0]?.[config.key])) return
    const issue = `source.key: ${config.key} is a binary column; page by a text or numeric key instead (a query selecting ${config.dialect === 'postgres' ? `encode(${config.key}, 'hex')` : `HEX(${config.key})`} AS ${config.key}, for example)`
    throw new ConfigError(issue, [issue])
  }

  const keep = (row: Record<string, unknown>): boolean => {
    if (config.soft_delete?.mode !== 'skip' || !isMarkerSet(row[config.soft_delete.column])) return true
    skippedDeleted++
    return false
  }

  /**
   * Keyset snapshot. With `updated_at` configured it first notes the server time minus the safety
   * lag, and ends with a `changes` position from that time: rows changed while the snapshot ran
   * (possibly at keys it had already passed) are then read by cursor, by a later `sync` or a rerun.
   */
  async function* snapshot(after: SqlKey | undefined, since: string | undefined, ctx: RunContext): AsyncGenerator<SourceBatch<SqlPosition>> {
    const queries = new PageQueries(open(), config)
    let changesSince = since
    if (changesSince === undefined && config.updated_at !== undefined) {
      const now = await retryingQuery(open(), sql`SELECT ${open().clockMinus(cursorLagSeconds(config))} AS t`, config.retry, ctx, 'reading the server clock')
      if (now === undefined) return
      changesSince = String(now[0]?.['t'])
    }
    const at = (key: SqlKey): SqlPosition => ({ mode: 'snapshot', key: normalizeKey(key), ...(changesSince !== undefined ? { changes_since: changesSince } : {}) })
    // Checked once, before a snapshot reads anything: a key several rows share would lose rows.
    if (after === undefined && !(await keyIsUnique(queries, ctx))) return
    let last = after
    for (;;) {
      if (ctx.signal.aborted) return
      const rows = await retryingQuery(open(), queries.snapshot(last), config.retry, ctx, `reading ${relationName}`)
      if (rows === undefined) return
      refuseBinaryKey(rows)
      const records: ReadableRecord[] = []
      for (const row of rows) if (keep(row)) records.push(rowToRecord(row, config.key, relationName))
      if (rows.length > 0) {
        last = rows[rows.length - 1]?.[config.key] as SqlKey
        yield { records, position: at(last) }
      }
      if (rows.length < config.page_size) break
    }
    if (ctx.signal.aborted) return
    const nullKeys = await retryingQuery(open(), queries.nullKeyRows(maxNullKeyReports), config.retry, ctx, `reading ${relationName}`)
    if (nullKeys === undefined) return
    if (nullKeys.length > 0) {
      const records = nullKeys.map((_, n): SourceRecord => {
        const origin = `${relationName} ${config.key}=NULL #${n + 1}`
        return { kind: 'unreadable', key: origin, origin, code: 'null_key', message: `${origin}: the key column ${config.key} is NULL, so the row cannot be paged, resumed or told apart; give it a key (or choose a key column that is never NULL) and run again` }
      })
      let total = nullKeys.length
      if (nullKeys.length === maxNullKeyReports) {
        const counted = await retryingQuery(open(), queries.nullKeyCount(), config.retry, ctx, `reading ${relationName}`)
        if (counted === undefined) return
        total = Number(counted[0]?.['n'] ?? nullKeys.length)
      }
      ctx.logger.warn({ rows: total, dead_lettered: nullKeys.length, key: config.key }, 'Rows with a NULL key were not read.')
      if (total > nullKeys.length) {
        warnings.push(`${total} rows of ${relationName} have a NULL ${config.key}: the first ${nullKeys.length} are dead-lettered as null_key, the other ${total - nullKeys.length} are neither read nor dead-lettered; give them a key (or choose a key column that is never NULL) and run again`)
      }
      // With no row before them to stand on: where the snapshot would end (a resume reports them again without updated_at).
      yield { records, position: last !== undefined ? at(last) : changesSince !== undefined ? { mode: 'changes', updated_at: changesSince } : { mode: 'start' } }
    }
    if (changesSince !== undefined) yield { records: [], position: { mode: 'changes', updated_at: changesSince } }
  }

  /**
   * Refuses a key several rows share, as the database compares keys (a case-insensitive collation
   * makes `Bob` and `bob` one): pages continue after the last (updated_at,) key, so the other rows
   * of a key a page ends on are never read. False when the read was stopped meanwhile.
   */
  async function keyIsUnique(queries: PageQueries, ctx: RunContext): Promise<boolean> {
    const shared = await retryingQuery(open(), queries.sharedKeys(3), config.retry, ctx, `checking that ${config.key} is unique in ${relationName}`)
    if (shared === undefined) return false
    if (shared.length > 0) {
      const examples = shared.map((row) => `${config.key}=${String(row['k'])} (${String(row['n'])} rows)`).join(', ')
      const issue = `source.key: ${config.key} is not unique in ${relationName} (${examples}${shared.length === 3 ? ', …' : ''}): pages continue after the last key, so the other rows of a key a page ends on would never be read; choose a unique key column`
      throw new ConfigError(issue, [issue])
    }
    return true
  }

  /**
   * Cursor reading. Rows older than the safety lag move the saved cursor; newer rows are sent
   * at once but stay after the cursor, so they are read again by the next polls (and by a
   * restart). `delivered` remembers a digest of the content of those already sent, so a poll does
   * not send the same version twice; it only ever holds rows inside the lag window. It compares the
   * whole row, not its updated_at: a second change within the same second (a DATETIME(0) column, an
   * application writing whole seconds) keeps the updated_at and must still be sent. Positions carry
   * it (`sent`), so a restart does not send those versions again either: a re-sent row would spend
   * import quota, and under upsert its report line would say its password was not applied. A
   * backfill (`--since`, or a rerun from a saved cursor) keeps the lag too: its position is where
   * the next run starts, and a transaction still open when it read may yet commit rows behind it.
   */
  async function* cursor(from: CursorPoint | undefined, changesSince: string | undefined, sentBefore: SentRows | undefined, ctx: RunContext): AsyncGenerator<SourceBatch<SqlPosition>> {
    const queries = new PageQueries(open(), config)
    // Once a run, as a snapshot does: a sync or backfill --since pages by (updated_at, key) too.
    if (!(await keyIsUnique(queries, ctx))) return
    const polling = options.mode === 'sync'
    const lag = cursorLagSeconds(config)
    let saved = from
    let delivered = new Map<string, string>(Object.entries(sentBefore ?? {}))
    let yielded = false
    const since = options.since ? sinceText(options.since) : changesSince
    for (;;) {
      let scan: CursorStart = saved ? { after: saved } : since !== undefined ? { since } : { beginning: true }
      const window = new Map<string, string>()
      /** Keys read by this poll: a stable one is passed by the cursor, an unstable one is in `window`. */
      const readNow = new Set<string>()
      let stableRun = true
      for (;;) {
        if (ctx.signal.aborted) return
        const rows = await retryingQuery(open(), queries.cursor(scan, lag), config.retry, ctx, `reading ${relationName}`)
        if (rows === undefined) return
        const before = saved
        refuseBinaryKey(rows)
        const records: ReadableRecord[] = []
        let lastPoint: CursorPoint | undefined
        for (const row of rows) {
          const point: CursorPoint = { updatedAt: String(row[CURSOR_COLUMN]), key: normalizeKey(row[config.key] as SqlKey) }
          lastPoint = point
          const stable: boolean = stableRun && Number(row[STABLE_COLUMN]) === 1
          stableRun = stable
          const id = String(point.key)
          readNow.add(id)
          const previous = delivered.get(id)
          const version = previous !== undefined || !stable ? rowDigest(row) : undefined
          const sent = previous !== undefined && previous === version
          if (stable) saved = point
          else window.set(id, version as string)
          if (!sent && keep(row)) records.push(rowToRecord(row, config.key, relationName))
        }
        if (lastPoint !== undefined) scan = { after: lastPoint }
        if (records.length > 0 || saved !== before) {
          const sent = sentRows(delivered, window, readNow)
          // Nothing passed yet: the next run reads from where this one started (--since, or the
          // snapshot's start), not from the beginning of the table.
          const unmoved: SqlPosition = since !== undefined ? { mode: 'changes', updated_at: since, ...sent } : { mode: 'start', ...sent }
          yielded = true
          yield { records, position: saved ? { mode: 'cursor', updated_at: saved.updatedAt, key: saved.key, ...sent } : unmoved }
        }
        if (rows.length < config.page_size) break
      }
      delivered = window
      if (polling) readsToEnd++
      // A --since read that found nothing still says where the next run goes on from.
      if (!polling && !yielded && options.since !== undefined && since !== undefined) yield { records: [], position: { mode: 'changes', updated_at: since } }
      if (!polling) return
      if (!(await pause(config.poll_interval_ms, ctx.signal))) return
    }
  }

  return {
    warnings: () => warnings,
    readsToEnd: () => readsToEnd,

    async reread(key, ctx) {
      const db = open()
      const rows = await retryingQuery(db, new PageQueries(db, config).rowsWithKey(key), config.retry, ctx, `reading ${relationName}`)
      if (rows === undefined) return undefined
      // Compared as a read names it: a case-insensitive collation finds `Bob` for `bob`, another row.
      return rows.map((row) => rowToRecord(row, config.key, relationName)).find((record) => record.key === key) ?? null
    },

    get skippedDeleted() {
      return skippedDeleted
    },

    async check(ctx) {
      const present = await verify(ctx)
      return `sql (${config.dialect}): ${config.table ?? 'custom query'}, ${present.length} columns, key ${config.key}${cursorMode ? `, cursor on ${config.updated_at}` : ''}`
    },

    async *read(from, ctx) {
      if (!verified) await verify(ctx)
      if (ctx.signal.aborted) return
      const skippedBefore = skippedDeleted
      try {
        if (from?.mode === 'snapshot' && options.mode === 'sync' && from.changes_since !== undefined) {
          // A backfill was interrupted: a sync finishes its snapshot first, then follows changes from when it began.
          ctx.logger.info({ key: from.key }, 'The saved position is an unfinished snapshot; finishing it before following changes.')
          yield* snapshot(from.key, from.changes_since, ctx)
          if (!ctx.signal.aborted) yield* cursor(undefined, from.changes_since, undefined, ctx)
          return
        }
        if ((from?.mode === 'cursor' || from?.mode === 'changes') && options.since !== undefined) {
          // The saved cursor decides where reading starts: --since would be silently ignored.
          throw new ConfigError('backfill --since cannot start from a saved checkpoint: reading would go on from the checkpoint, not from that time', [
            'to read the rows changed since that time: backfill --from-start --since … (users Authgear already has are skipped)',
            'to go on from the checkpoint: backfill without --since',
          ])
        }
        if (from?.mode === 'snapshot' && options.since !== undefined) {
          // Reading by cursor from --since would leave the rest of the snapshot (its later keys with
          // older or NULL updated_at) unread by any later run.
          throw new ConfigError('backfill --since cannot start while an unfinished snapshot is saved: the rest of the snapshot would never be read', [
            'finish it first: run backfill (without --since) or sync with this config',
            'or start over: backfill --from-start --since … (rows changed before that time are not read)',
          ])
        }
        if (!cursorMode && (from === undefined || from.mode === 'snapshot' || config.updated_at === undefined)) {
          // A cursor position without a configured updated_at cannot be resumed by cursor: read the snapshot.
          yield* snapshot(from?.mode === 'snapshot' ? from.key : undefined, from?.mode === 'snapshot' ? from.changes_since : undefined, ctx)
        } else {
          if (from?.mode === 'snapshot') ctx.logger.info({ key: from.key }, 'The saved position is a snapshot position without its start time; reading changes by cursor from the beginning.')
          yield* cursor(from?.mode === 'cursor' ? { updatedAt: from.updated_at, key: from.key } : undefined, from?.mode === 'changes' ? from.updated_at : undefined, from?.mode === 'snapshot' ? undefined : from?.sent, ctx)
        }
      } finally {
        if (skippedDeleted > skippedBefore) ctx.logger.info({ rows: skippedDeleted - skippedBefore }, 'Soft-deleted rows were skipped (soft_delete.mode: skip).')
      }
    },

    async close() {
      const open = client
      client = undefined
      verified = false
      await open?.close()
    },
  }
}

/**
 * A row's content as a digest (the cursor's own columns left out: `stable` flips as time passes).
 * A digest, not the text: positions are saved, and a row holds its password hash.
 */
function rowDigest(row: Record<string, unknown>): string {
  const text = JSON.stringify(row, (key, value: unknown) => (key === CURSOR_COLUMN || key === STABLE_COLUMN ? undefined : typeof value === 'bigint' ? value.toString() : value))
  return createHash('sha256').update(text).digest('base64url').slice(0, 22)
}

type SentRows = Readonly<Record<string, string>>

/**
 * Rows in the lag window a position carries at most. A busier window is not saved (each
 * checkpoint would grow by megabytes): a restart then sends its rows again.
 */
const maxSentRows = 10_000

/**
 * The `sent` field of a cursor position: the versions the window's rows were last sent in. Of the
 * previous poll's list, only rows this poll has not read yet count: one it read is either passed
 * by the cursor or in `window` again.
 */
function sentRows(delivered: ReadonlyMap<string, string>, window: ReadonlyMap<string, string>, readNow: ReadonlySet<string>): { sent?: SentRows } {
  if (delivered.size + window.size === 0) return {}
  const sent: Record<string, string> = {}
  let count = 0
  for (const rows of [delivered, window]) {
    for (const [key, digest] of rows) {
      if (rows === delivered && readNow.has(key)) continue
      if (!Object.hasOwn(sent, key) && ++count > maxSentRows) return {}
      // A key `__proto__` is a row like any other: plain assignment would set the prototype.
      if (key === '__proto__') Object.defineProperty(sent, key, { value: digest, enumerable: true, writable: true, configurable: true })
      else sent[key] = digest
    }
  }
  return { sent }
}

/** At most this many rows with a NULL key are dead-lettered one by one; a warning says when there are more. */
const maxNullKeyReports = 1000

/** Keys as JSON keeps them exactly: numbers when safe, strings otherwise. */
function normalizeKey(value: SqlKey): SqlKey {
  if (typeof value === 'number' || typeof value === 'string') return value
  return String(value)
}

