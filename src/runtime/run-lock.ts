import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { tryExclusiveLock, type ExclusiveLock } from './exclusive-lock.ts'

/** Who holds a run lock, as its holder wrote it down (for the refusal's message). */
export interface RunLockHolder {
  readonly pid: number
  readonly host: string
  readonly command: string
  readonly since: string
}

/** A held run lock; `release` lets the next run take it. */
export type RunLock = ExclusiveLock

/**
 * One run at a time of a config's checkpoint, report and dead-letter files: two backfills of the
 * same config (an overlapping cron job, a second `npm start`) would each send every record, append
 * to the same files and save checkpoints over each other's.
 *
 * The lock is SQLite's exclusive lock on `<name>.lock` (a POSIX record lock underneath), which
 * the operating system releases when the process ends however it ends, `kill -9` included: no
 * stale lock file to clean up after a crash. Returns the holder instead when another run has it.
 */
export function takeRunLock(stateDir: string, name: string, command: string): RunLock | { readonly heldBy: RunLockHolder | undefined; readonly path: string } {
  mkdirSync(stateDir, { recursive: true })
  const path = join(stateDir, `${name}.lock`)
  let lock: ReturnType<typeof tryExclusiveLock>
  try {
    lock = tryExclusiveLock(path)
  } catch (error) {
    const what = (error as { stage?: string }).stage === 'open' ? 'open' : 'take'
    throw new Error(`cannot ${what} the run lock ${path} (state.dir must be writable): ${(error as Error).message}`, { cause: error })
  }
  if (lock === 'held') return { heldBy: readHolder(`${path}.json`), path }
  const holder: RunLockHolder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() }
  // Written once the lock is held, so it always names the current holder when a run is refused.
  writeFileSync(`${path}.json`, `${JSON.stringify(holder)}\n`)
  return lock
}

/** Most replicas of a Kafka sync one state.dir takes. */
export const maxReplicaSlots = 64

/** The name a replica slot's lock and output files go by: the config's own for the first. */
export function replicaSlotName(name: string, slot: number): string {
  return slot === 1 ? name : `${name}.replica-${slot}`
}

/**
 * Replicas of a Kafka sync may share a state.dir (their position is the consumer group's), but not
 * an append-only file: a replica killed in the middle of a line leaves it cut off, and the next
 * line another replica appends is glued to it, unreadable. Each takes the first free slot
 * (`<name>.lock`, then `<name>.replica-2.lock`, …) and appends to that slot's report and
 * dead-letter files alone; a replica started after one died takes its slot, and repairs the line
 * it cut off before appending.
 */
export function takeReplicaSlot(stateDir: string, name: string, command: string): { readonly lock: RunLock; readonly slot: number } | { readonly heldBy: RunLockHolder | undefined; readonly path: string } {
  let refused: { readonly heldBy: RunLockHolder | undefined; readonly path: string } | undefined
  for (let slot = 1; slot <= maxReplicaSlots; slot++) {
    const taken = takeRunLock(stateDir, replicaSlotName(name, slot), command)
    if ('release' in taken) return { lock: taken, slot }
    refused = taken
  }
  return refused as { readonly heldBy: RunLockHolder | undefined; readonly path: string }
}

/** Who took the config's run lock last (the run holding it now, or the last one to): undefined when none ever did. */
export function readRunLockHolder(stateDir: string, name: string): RunLockHolder | undefined {
  return readHolder(join(stateDir, `${name}.lock.json`))
}

function readHolder(path: string): RunLockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunLockHolder
  } catch {
    return undefined
  }
}

/** The refusal's text: which run holds the config's files, and what to do. */
export function heldMessage(lock: { readonly heldBy: RunLockHolder | undefined; readonly path: string }): string {
  const holder = lock.heldBy
  const who = holder === undefined ? 'another gearbridge run' : `gearbridge ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`
  return `${who} holds ${lock.path}: one run at a time imports with this config's checkpoint, report and dead-letter files. Wait for it to end (or stop it), then run this command again`
}
