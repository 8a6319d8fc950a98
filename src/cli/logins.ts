import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { loadConfig } from '../config/load-config.ts'
import { ExitCodes } from '../runtime/exit-codes.ts'
import { LoginLedger, loginLedgerPath } from '../runtime/login-ledger.ts'
import type { CommandIo } from './run-setup.ts'
import { UsageError } from './usage-error.ts'

/** The ledger of a config's table, or undefined (and a line on stderr) when no run has written one. */
async function openLedger(configPath: string, io: CommandIo, readOnly: boolean): Promise<LoginLedger | undefined> {
  const { config, baseDir } = await loadConfig(configPath)
  if (config.source.type !== 'sql') throw new UsageError(`the login ledger is kept for sql sources only; this config's source is ${config.source.type}`)
  const path = loginLedgerPath(resolve(baseDir, config.state.dir), config.name)
  if (!existsSync(path)) {
    io.stderr.write(`gearbridge: no login ledger at ${path}: no backfill or sync of this config has imported anything yet\n`)
    return undefined
  }
  return new LoginLedger(path, { readOnly })
}

/** `gearbridge logins show`: the login IDs each key was last imported with, one JSON line per key. */
export async function loginsShowCommand(options: { config: string; keys: readonly string[] }, io: CommandIo): Promise<number> {
  const ledger = await openLedger(options.config, io, true)
  if (ledger === undefined) return ExitCodes.fatal
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
  const ledger = await openLedger(options.config, io, false)
  if (ledger === undefined) return ExitCodes.fatal
  try {
    const removed = ledger.forget(options.keys)
    io.stdout.write(`forgot the login IDs of ${removed} of ${options.keys.length} key${options.keys.length === 1 ? '' : 's'}${removed < options.keys.length ? ' (the others were not in the ledger)' : ''}; the next record of each is imported by its own identifier\n`)
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
