import { join } from 'node:path'
import { AbortedError } from '../core/errors.ts'
import { jsonErrorReason } from '../../connectors/json-error-reason.ts'
import { rejectionMessage, type MappingResult } from '../core/mapped-record.ts'
import { redactMessage } from '../runtime/redact.ts'
import type { RunContext } from '../core/run-context.ts'
import type { Source } from '../core/source.ts'
import type { ReadableRecord } from '../core/source-record.ts'
import type { IdentifierType } from '../../mappings/record.ts'
import { exportKey, fromExportRecord, otherLoginKeys, fromMappedRecord, type ComparableUser, type ExpectedFields } from './comparable-user.ts'
import { compareUsers } from './compare-users.ts'
import type { FieldGroup } from './config.ts'
import { ExternalSorter } from './external-sorter.ts'
import { joinLatestByKey, type SourceVersions } from './join-by-key.ts'
import { LineReader } from './line-reader.ts'
import { ReconcileCounts } from './reconcile-counts.ts'

/** One line of the differences report. */
export type Finding =
  | { kind: 'missing_in_authgear'; key: string; source_key: string; origin?: string }
  | { kind: 'extra_in_authgear'; key: string; user_id: string }
  | { kind: 'field_mismatch'; key: string; user_id: string; source_key: string; origin?: string; fields: { field: string; expected: unknown; actual: unknown }[] }
  | { kind: 'not_importable'; source_key: string; origin: string; code: string; message: string }
  /** The source user's identifier is held in Authgear by a user known by another login ID: the import matched it to that user. */
  | { kind: 'merged_in_authgear'; key: string; source_key: string; origin?: string; user_id: string }

export interface ReconcileInput {
  /** A downloaded ndjson export (§7.3). */
  readonly exportFile: string
  readonly source: Source<unknown>
  readonly map: (record: ReadableRecord) => MappingResult
  /** The mapping's identifier order, to key exported users the way the mapping keys source users. */
  readonly identifierOrder: readonly IdentifierType[]
  readonly groups: ReadonlySet<FieldGroup>
  /** Scratch directory for run files. */
  readonly workDir: string
  /** Approximate bytes of entries sorted in memory before a run is spilled (per side, one side at a time). */
  readonly runBytes: number
  /** Receives every finding, in key order (not_importable ones in source order, first). */
  readonly report: (finding: Finding) => void | Promise<void>
  readonly ctx: RunContext
  /** Called as each phase ends (for logs and measurements); must not throw. */
  readonly onPhase?: (phase: ReconcilePhase) => void
  /**
   * What a source delete did in Authgear (Kafka `deletes.policy`): `delete` removed the user,
   * `disable` disabled it, `ignore` (the default) left it as it was.
   */
  readonly deletePolicy?: 'ignore' | 'disable' | 'delete'
  /** Configured fields a record without them leaves unset (see `ExpectedFields`); none under upsert. */
  readonly expected?: ExpectedFields
}

/** Whether a source entry is a `DeleteMarker` (written below as `{id, origin, deleted: true}`; a user's entry has `fields`). */
function isDeleteEntry(json: string): boolean {
  return json.endsWith('"deleted":true}') && !json.includes('"fields":')
}

/** Whether a source entry is a `MovedMarker` (written below as `{id, origin, moved: true}`). */
function isMovedEntry(json: string): boolean {
  return json.endsWith('"moved":true}') && !json.includes('"fields":')
}

/** A source entry saying the user left this key for another (see `MappedRecord.movedFrom`). */
interface MovedMarker {
  readonly id: string
  readonly origin?: string
  readonly moved: true
}

/** A source delete on the source side of the join: the user's last word, judged by the delete policy. */
interface DeleteMarker {
  readonly id: string
  readonly origin?: string
  readonly deleted: true
}

/** The phases of a reconcile, in order: sort the export's side, sort the source's side, merge-join. */
export type ReconcilePhase = 'authgear_sorted' | 'source_sorted' | 'joined'

/**
 * Compares Authgear's export with the mapped source by normalized identifier, in bounded memory.
 * Each side in turn is streamed into an external merge sort keyed by `identifier:value`: entries
 * are held as compact lines, sorted and spilled to a run file every `runBytes`, and the side's
 * last partial run is spilled before the other side starts, so at most one run buffer exists at
 * a time. The two sides' runs are then merged k-way, each run read through a fixed buffer, and
 * the two sorted streams are merge-joined holding one key group. Memory depends on `runBytes`
 * and the number of runs, not on the number of users. A hash-partitioned alternative would need
 * every bucket to fit in memory and one file handle per bucket; the sort needs neither.
 */
export async function reconcile(input: ReconcileInput): Promise<ReconcileCounts> {
  const counts = new ReconcileCounts()
  const authgear = new ExternalSorter(join(input.workDir, 'authgear'), { runBytes: input.runBytes })
  const source = new ExternalSorter(join(input.workDir, 'source'), { runBytes: input.runBytes })
  const lines = new LineReader(input.exportFile, 1 << 20)
  try {
    let lineNumber = 0
    while (await lines.advance()) {
      lineNumber++
      const line = lines.line!
      if (line === '') continue
      const record = exportLine(line, input.exportFile, lineNumber)
      counts.authgearUsers++
      const key = exportKey(record, input.identifierOrder)
      await authgear.add(key, JSON.stringify(fromExportRecord(record)))
      // Its other login IDs too: a source user keyed by one of them (an SMS user whose phone an
      // email user also has) was matched to this user by the import, not left out of Authgear.
      for (const other of otherLoginKeys(record, key)) await authgear.add(other, JSON.stringify({ id: String(record['sub']), alias: key } satisfies AliasEntry))
    }
    await lines.close()
    await authgear.finish()
    input.onPhase?.('authgear_sorted')
    const readSource = async (): Promise<void> => {
      for await (const batch of input.source.read(undefined, input.ctx)) {
        for (const record of batch.records) {
          counts.sourceRecords++
          const result: MappingResult | undefined = record.kind === 'data' ? input.map(record) : undefined
          if (result?.ok === true) {
            const mapped = result.value
            // A delete whose user another row's record read after the deleted row's holds (see
            // `MappedRecord.sharedWith`), or of a primary-key change: the sink leaves the user to
            // that row, so must this.
            if (mapped.action === 'delete' && (mapped.sharedWith?.last === true || mapped.keyChangedTo !== undefined)) continue
            const entry: ComparableUser | DeleteMarker = mapped.action === 'delete' ? { id: record.key, origin: record.origin, deleted: true } : fromMappedRecord(record.key, record.origin, mapped.record, input.expected)
            // Keyed as the export keys Authgear's users: by the first login ID in the identifier
            // order. A record sent by another login ID (an identifier change, matched by an
            // unchanged username) is keyed by the login ID it changed to, as Authgear's user is.
            await source.add(mapped.action === 'delete' ? `${mapped.identifier}:${mapped.identifierValue}` : exportKey(mapped.record as Record<string, unknown>, input.identifierOrder), JSON.stringify(entry))
            // The versions under the login ID it changed from are of the same user, superseded.
            if (mapped.movedFrom !== undefined) await source.add(`${mapped.movedFrom.identifier}:${mapped.movedFrom.identifierValue}`, JSON.stringify({ id: record.key, origin: record.origin, moved: true } satisfies MovedMarker))
            continue
          }
          // Worded and redacted as the dead letter of the same record is.
          const rejection = record.kind === 'unreadable' ? record : (result as Extract<MappingResult, { ok: false }>).rejection
          const code = rejection.code
          const message = redactMessage(record.kind === 'unreadable' ? record.message : rejectionMessage(record.origin, rejection), record.origin)
          counts.notImportable++
          counts.notImportableByCode[code] = (counts.notImportableByCode[code] ?? 0) + 1
          await input.report({ kind: 'not_importable', source_key: record.key, origin: record.origin, code, message })
        }
      }
    }
    try {
      await readSource()
    } catch (error) {
      // A signal may end the read through whatever it interrupted (the hash-export index build
      // throws the platform's AbortError): the run is stopped, not failed.
      if (input.ctx.signal.aborted && !(error instanceof AbortedError)) throw new AbortedError('the reconcile was stopped before the source was read to its end: no verdict')
      throw error
    }
    // A source stopped by a signal ends quietly: judged, what it read would pass users it never saw.
    if (input.ctx.signal.aborted) throw new AbortedError('the reconcile was stopped before the source was read to its end: no verdict')
    await source.finish()
    input.onPhase?.('source_sorted')
    for await (const group of joinLatestByKey(source.sorted(), authgear.sorted(), isDeleteEntry, isMovedEntry)) {
      await judge(group.key, group.source, group.authgear.map((e) => e.json), input, counts)
    }
    input.onPhase?.('joined')
    return counts
  } finally {
    await lines.close()
    await authgear.close()
    await source.close()
  }
}

/** An Authgear user under one of its login IDs other than the one it is keyed by (`alias`). */
interface AliasEntry {
  readonly id: string
  readonly alias: string
}

async function judge(key: string, versions: SourceVersions, authgearJson: readonly string[], input: ReconcileInput, counts: ReconcileCounts): Promise<void> {
  const entries = authgearJson.map((j) => JSON.parse(j) as ComparableUser | AliasEntry)
  const ag = entries.filter((entry): entry is ComparableUser => !('alias' in entry))
  const holder = entries.find((entry): entry is AliasEntry => 'alias' in entry)
  if (versions.last === undefined) {
    for (const user of ag) {
      counts.extraInAuthgear++
      await input.report({ kind: 'extra_in_authgear', key, user_id: user.id })
    }
    return
  }
  // A later record of the same user wins, as in a backfill (the earlier ones are superseded).
  const last = JSON.parse(versions.last) as ComparableUser | DeleteMarker | MovedMarker
  if ('moved' in last) {
    // The user is known by another login ID now, and is judged under it: every version here was
    // superseded (the marker is not counted among them). A user Authgear still holds under this
    // one is not the source's.
    counts.superseded += versions.count
    for (const user of ag) {
      counts.extraInAuthgear++
      await input.report({ kind: 'extra_in_authgear', key, user_id: user.id })
    }
    return
  }
  const policy = input.deletePolicy ?? 'ignore'
  let want: ComparableUser | undefined
  if (!('deleted' in last)) want = last
  else {
    // The user's last word is a delete: `delete` leaves Authgear without the user, `disable`
    // leaves the last version disabled, `ignore` leaves the last version as it was.
    const before = versions.lastKept === undefined ? undefined : (JSON.parse(versions.lastKept) as ComparableUser)
    if (policy === 'delete') {
      for (const user of ag) {
        counts.extraInAuthgear++
        await input.report({ kind: 'extra_in_authgear', key, user_id: user.id })
      }
      return
    }
    // A delete of a user the source never showed otherwise, and Authgear does not have: a sync
    // found nobody to delete or disable (delete_not_found), so there is nothing to miss.
    if (before === undefined && ag.length === 0) return
    const kept: ComparableUser = before ?? { id: last.id, ...(last.origin !== undefined ? { origin: last.origin } : {}), fields: {} }
    want = policy === 'disable' ? { ...kept, fields: { ...kept.fields, disabled: true } } : kept
    // With only the delete in the source (an earlier version compacted away) there is nothing to compare under `ignore`.
    if (before === undefined && policy === 'ignore') {
      if (ag.length > 0) counts.matched++
      return
    }
  }
  counts.sourceUsers++
  counts.superseded += versions.count - 1
  const origin = want.origin === undefined ? {} : { origin: want.origin }
  const [have, ...others] = ag
  for (const user of others) {
    counts.extraInAuthgear++
    await input.report({ kind: 'extra_in_authgear', key, user_id: user.id })
  }
  if (have === undefined && holder !== undefined) {
    counts.mergedInAuthgear++
    await input.report({ kind: 'merged_in_authgear', key, source_key: want.id, ...origin, user_id: holder.id })
    return
  }
  if (have === undefined) {
    counts.missingInAuthgear++
    await input.report({ kind: 'missing_in_authgear', key, source_key: want.id, ...origin })
    return
  }
  counts.matched++
  if (want.password) counts.passwordNotVerifiable++
  const diffs = compareUsers(want, have, input.groups)
  if (diffs.length === 0) return
  counts.fieldMismatches++
  for (const d of diffs) counts.fields[d.field] = (counts.fields[d.field] ?? 0) + 1
  await input.report({ kind: 'field_mismatch', key, user_id: have.id, source_key: want.id, ...origin, fields: diffs })
}

/** One line of the export as an object; an error names the file and line, never the line's text (it may hold a secret). */
function exportLine(line: string, file: string, lineNumber: number): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (error) {
    throw new Error(`${file}:${lineNumber}: not valid JSON (${jsonErrorReason(error)}); the export must be ndjson, one user per line`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${file}:${lineNumber}: not a JSON object; the export must be ndjson, one user per line`)
  return value as Record<string, unknown>
}
