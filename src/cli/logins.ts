import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { loadConfig } from '../config/load-config.ts'
import { ExitCodes } from '../runtime/exit-codes.ts'
import { LoginLedger, loginLedgerPath } from '../runtime/login-ledger.ts'
import { identityDifferences, identitySettingName, loginLedgerIdentity, loginLedgerOwner } from '../runtime/pipeline-id.ts'
import { ConfigError } from '../core/errors.ts'
import type { CommandIo } from './run-setup.ts'
import { UsageError } from './usage-error.ts'

/** The ledger of a config's table, or undefined (and a line on stderr) when no run has written one. */
async function openLedger(configPath: string, io: CommandIo, readOnly: boolean): Promise<{ ledger: LoginLedger; path: string; config: Awaited<ReturnType<typeof loadConfig>>['config'] } | undefined> {
  const { config, baseDir } = await loadConfig(configPath)
  if (config.source.type !== 'sql') throw new UsageError(`the login ledger is kept for sql sources only; this config's source is ${config.source.type}`)
  const path = loginLedgerPath(resolve(baseDir, config.state.dir), config.name)
  if (!existsSync(path)) {
    io.stderr.write(`gearbridge: no login ledger at ${path}: no backfill or sync of this config has imported anything yet\n`)
    return undefined
  }
  return { ledger: new LoginLedger(path, { readOnly }), path, config }
}

/**
 * Why a run does not start on a ledger kept for another source table or Authgear project: only
 * the operator knows whether its keys still name the same users.
 */
export function ledgerOfAnotherOwner(path: string, ledger: LoginLedger, identity: Record<string, unknown>, configPath: string): ConfigError {
  const changed = ledger.ownerIdentity === undefined ? [] : identityDifferences(ledger.ownerIdentity, identity).map(identitySettingName)
  return new ConfigError(`the login ledger ${path} was kept for another source table or Authgear project${changed.length > 0 ? `: ${changed.join(', ')} changed since it was written` : ', or by an earlier version of gearbridge that did not record which'}`, [
    `if the rows are the same users in the same Authgear project (a renamed table, a replica, an edited query, another address of the same server or of Authgear), run: gearbridge logins adopt --config ${shellWord(configPath)}`,
    `if they are not (another table, going live in another project), delete ${path} and its -wal and -shm files: the ledger starts anew`,
  ])
}

/** `gearbridge logins show`: the login IDs each key was last imported with, one JSON line per key. */
export async function loginsShowCommand(options: { config: string; keys: readonly string[] }, io: CommandIo): Promise<number> {
  const opened = await openLedger(options.config, io, true)
  if (opened === undefined) return ExitCodes.fatal
  const { ledger } = opened
  try {
    let missing = 0
    for (const key of options.keys) {
      const entry = ledger.entry(key)
      if (entry === undefined) missing++
      io.stdout.write(`${JSON.stringify(entry === undefined ? { source_key: key, known: false } : { source_key: key, known: true, ...entry })}\n`)
    }
    return missing === 0 ? ExitCodes.ok : ExitCodes.fatal
  } finally {
    ledger.close()
  }
}

/**
 * `gearbridge logins forget`: after a login ID was changed in Authgear by hand (a change the
 * ledger could not follow), the key's next record is imported as it is, by its new value.
 */
export async function loginsForgetCommand(options: { config: string; keys: readonly string[] }, io: CommandIo): Promise<number> {
  const opened = await openLedger(options.config, io, false)
  if (opened === undefined) return ExitCodes.fatal
  const { ledger } = opened
  try {
    const removed = ledger.forget(options.keys)
    io.stdout.write(`forgot the login IDs of ${removed} of ${options.keys.length} key${options.keys.length === 1 ? '' : 's'}${removed < options.keys.length ? ' (the others were not in the ledger)' : ''}; the next record of each is imported by its own identifier\n`)
    return ExitCodes.ok
  } finally {
    ledger.close()
  }
}

/** `gearbridge logins adopt`: the ledger, kept for another source table or project, becomes this config's. */
export async function loginsAdoptCommand(options: { config: string }, io: CommandIo): Promise<number> {
  const opened = await openLedger(options.config, io, false)
  if (opened === undefined) return ExitCodes.fatal
  const { ledger, path, config } = opened
  try {
    const identity = loginLedgerIdentity(config)
    if (ledger.owner === loginLedgerOwner(config)) {
      io.stdout.write(`the login ledger ${path} is already this config's: nothing changed\n`)
      return ExitCodes.ok
    }
    const changed = ledger.ownerIdentity === undefined ? [] : identityDifferences(ledger.ownerIdentity, identity).map(identitySettingName)
    ledger.adopt(loginLedgerOwner(config), identity)
    io.stdout.write(`the login ledger ${path} is this config's now${changed.length > 0 ? ` (it was kept before ${changed.join(', ')} changed)` : ''}: its keys are taken to name the same users\n`)
    return ExitCodes.ok
  } finally {
    ledger.close()
  }
}

/** What a dead letter of a login ID change the ledger cannot follow says to do. */
export function forgetRemedy(configPath: string, key: string): string {
  return `Change the login ID in Authgear (portal or Admin API), then run: gearbridge logins forget --config ${shellWord(configPath)} -- ${shellWord(key)}; the row's next change imports it (or run a backfill)`
}

/** A word as the shell reads it back: quoted unless it is plain. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`
}
