import { rejectionMessage } from '../core/mapped-record.ts'
import { checkAdminKey } from '../../connectors/authgear/admin-client-factory.ts'
import { createSource } from '../../connectors/create-source.ts'
import { AUTHGEAR_IMPORT_BODY_LIMIT } from '../../connectors/authgear/config.ts'
import { loadConfig } from '../config/load-config.ts'
import type { RunContext } from '../core/run-context.ts'
import { createLogger } from '../observability/logger.ts'
import { envelopeBytes } from '../runtime/batcher.ts'
import { createMapping } from '../runtime/create-mapping.ts'
import { mapGuarded } from '../runtime/guarded-map.ts'
import { redactMessage } from '../runtime/redact.ts'
import { ExitCodes } from '../runtime/exit-codes.ts'
import { bump } from '../runtime/run-summary.ts'
import type { CommandIo } from './run-setup.ts'
import { WarningTally } from './warning-tally.ts'
import { SharedLogins } from './shared-logins.ts'
import { UnmappedMetadata } from './unmapped-metadata.ts'
import { ProjectNeeds } from './project-needs.ts'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { followLoginChange, LoginLedger, loginLedgerPath } from '../runtime/login-ledger.ts'
import { forgetRemedy, ledgerOfAnotherOwner } from './logins.ts'
import { loginLedgerIdentity, loginLedgerOwner } from '../runtime/pipeline-id.ts'

const EXAMPLES_PER_REASON = 3

/**
 * `gearbridge validate`: checks the config (exit 78 with every problem), then maps the whole
 * source offline, as a backfill would, and reports what would be sent per identifier type and
 * password lane, and what would be dead-lettered and why. Nothing is sent anywhere.
 */
export async function validateCommand(options: { config: string }, io: CommandIo): Promise<number> {
  const { config, baseDir } = await loadConfig(options.config)
  // A publishing run never contacts Authgear, and its sink block is unused.
  if (!config.publish) await checkAdminKey(config.sink, baseDir)
  io.stdout.write(`config ${options.config}: valid\n`)
  const logger = createLogger('silent')
  const ctx: RunContext = { signal: new AbortController().signal, logger }
  const { source } = await createSource(config.source, { baseDir, mode: 'backfill', readOnly: true })
  const map = createMapping(config, { baseDir })
  // A table's rows are compared with the login IDs they were imported with, as a run compares them.
  const ledgerPath = config.source.type === 'sql' && config.state.login_ledger && !config.publish ? loginLedgerPath(resolve(baseDir, config.state.dir), config.name) : undefined
  const opened = ledgerPath !== undefined && existsSync(ledgerPath) ? new LoginLedger(ledgerPath, { readOnly: true }) : undefined
  // A run adopts a ledger with no owner recorded, and refuses one of another source or project.
  const ledger = opened !== undefined && (opened.owner === undefined || opened.owner === loginLedgerOwner(config)) ? opened : undefined
  const refusedLedger = opened !== ledger && opened !== undefined ? ledgerOfAnotherOwner(ledgerPath as string, opened, loginLedgerIdentity(config), options.config) : undefined
  if (opened !== ledger) opened?.close()
  // As a run: a record larger than sink.batch.max_bytes is sent alone, up to Authgear's own limit.
  const maxRequest = AUTHGEAR_IMPORT_BODY_LIMIT - 1
  const envelope = Math.max(envelopeBytes('preferred_username', config.sink.upsert), envelopeBytes('phone_number', config.sink.upsert))
  const limit = maxRequest - envelope
  const byIdentifier: Record<string, number> = {}
  const byPassword: Record<string, number> = {}
  const failures: Record<string, { count: number; examples: string[] }> = {}
  const unmapped = config.source.type === 'auth0' ? new UnmappedMetadata(config.mapping) : undefined
  const needs = new ProjectNeeds(config.sink.endpoint === 'embedded' ? config.emulator : undefined)
  const logins = new SharedLogins(config.sink.upsert)
  const tally = new WarningTally()
  let read = 0
  let sendable = 0
  /** Sent and refused by the embedded project (unknown roles or groups, invalid custom attributes). */
  let projectRefused = 0
  let deletes = 0
  const fail = (code: string, message: string, origin: string): void => {
    const entry = (failures[code] ??= { count: 0, examples: [] })
    entry.count++
    // Printed to a terminal: redacted as a dead letter's message is (a module's error may quote a hash).
    if (entry.examples.length < EXAMPLES_PER_REASON) entry.examples.push(redactMessage(message, origin))
  }
  try {
    for await (const batch of source.read(undefined, ctx)) {
      for (const record of batch.records) {
        read++
        if (record.kind === 'unreadable') {
          fail(record.code, record.message, record.origin)
          continue
        }
        unmapped?.add(record.data)
        const result = mapGuarded(map, record)
        // The tables count only what would be sent, as a backfill's summary does: a rejected
        // record is counted under its reason, whatever password it carried.
        if (!result.ok) {
          fail(result.rejection.code, rejectionMessage(record.origin, result.rejection), record.origin)
          continue
        }
        if (result.value.action === 'delete') {
          deletes++
          if (config.source.type === 'kafka' && config.source.deletes.policy === 'delete') logins.remove(result.value)
          continue
        }
        const followed = ledger === undefined ? result : followLoginChange(result.value, ledger.lookup(record.key), () => forgetRemedy(options.config, record.key))
        if (!followed.ok) {
          fail(followed.rejection.code, rejectionMessage(record.origin, followed.rejection), record.origin)
          continue
        }
        const value = followed.value
        const bytes = Buffer.byteLength(JSON.stringify(value.record))
        if (bytes > limit) {
          // Worded as the run words it.
          fail('record_too_large', `${record.origin}: the record serializes to ${bytes} bytes; with the request's own ${envelope} bytes that is over the ${maxRequest}-byte request limit`, record.origin)
          continue
        }
        sendable++
        bump(byIdentifier, value.identifier)
        bump(byPassword, `${value.passwordAlgorithm}:${value.passwordLane}`)
        // Refused by the project, it is sent all the same, as `InvariantViolated` records are, and
        // as Authgear checks it: only once its login IDs pass (a user found without upsert is
        // skipped first), and then custom attributes before roles and groups. No user is created:
        // its login IDs stay free for the records after it.
        let refused: ReturnType<typeof needs.add>
        logins.add(value, record.origin, () => (refused = needs.add(value.record)) !== undefined)
        if (refused !== undefined) {
          fail(refused.code, `${record.origin}: ${refused.message}`, record.origin)
          projectRefused++
          continue
        }
        tally.add(value.warnings, record.origin)
      }
    }
  } finally {
    await source.close()
    ledger?.close()
  }
  const warnings = [...(source.warnings?.() ?? []), ...logins.warnings(), ...(refusedLedger ? [`a run refuses to start: ${refusedLedger.message} (${refusedLedger.issues.join('; ')}); these counts leave it out`] : [])]
  if (logins.refused > 0) {
    // Sent, and refused by Authgear: they end in the dead letter as surely as a mapping rejection.
    failures['InvariantViolated'] = { count: logins.refused, examples: logins.examples.refused.map((origin) => `${origin}: holds a login ID (email, phone or username) an earlier user's record holds; Authgear refuses it (DuplicatedIdentity)`) }
  }
  const failed = read - sendable - deletes + logins.refused + projectRefused
  const deleting = deletes > 0 && config.source.type === 'kafka' ? `, ${deletes} deletes would follow deletes.policy (${config.source.deletes.policy})` : ''
  const refusedAfterSending = logins.refused + projectRefused > 0 ? ` (${logins.refused + projectRefused} of them sent and refused by Authgear)` : ''
  const lines = [`dry run of ${config.source.type} source: ${read} records read, ${sendable} would be sent${deleting}, ${failed} would be dead-lettered${refusedAfterSending}`]
  lines.push('by identifier type:')
  for (const [k, v] of Object.entries(byIdentifier).sort()) lines.push(`  ${k.padEnd(20)} ${v}`)
  lines.push('by password (algorithm:lane):')
  for (const [k, v] of Object.entries(byPassword).sort()) lines.push(`  ${k.padEnd(20)} ${v}`)
  if (failed > 0) {
    lines.push('would be dead-lettered:')
    for (const [code, entry] of Object.entries(failures).sort((a, b) => b[1].count - a[1].count)) {
      lines.push(`  ${code.padEnd(20)} ${entry.count}`)
      for (const example of entry.examples) lines.push(`      e.g. ${example}`)
    }
  }
  const left = unmapped?.top(10) ?? []
  if (left.length > 0) {
    lines.push('metadata no mapping reads (not imported; map a key with mapping.custom_attributes):')
    for (const [path, users] of left) lines.push(`  ${path.padEnd(34)} ${users} user${users === 1 ? '' : 's'}`)
    const more = (unmapped?.counts.size ?? 0) - left.length
    if (more > 0) lines.push(`  … and ${more} more keys${unmapped?.untracked ? `, and more beyond those (the first ${unmapped.counts.size} distinct keys are counted: this metadata looks keyed by values of its own)` : ''}`)
  }
  lines.push(...needs.lines())
  const noted = tally.lines()
  if (noted.length > 0) {
    // What the report lines of these records will say: data left out, logins to link again, passwords to reset.
    lines.push('records that would be sent with mapping warnings (records, warning):')
    lines.push(...noted)
  }
  if (warnings.length > 0) {
    lines.push('warnings:')
    for (const warning of warnings) lines.push(`  ${warning}`)
  }
  io.stdout.write(`${lines.join('\n')}\n`)
  // A record matched to another user is not dead-lettered, but it is as wrong: the run needs a look.
  return failed > 0 || logins.merged > 0 ? ExitCodes.deadLettered : ExitCodes.ok
}
