import { DatabaseSync } from 'node:sqlite'

/** SQLite's result codes for a database another connection has locked. */
const SQLITE_BUSY = 5
const SQLITE_LOCKED = 6

/** A held lock; `release` lets the next taker have it. */
export interface ExclusiveLock {
  release(): void
}

/**
 * SQLite's exclusive lock on the file at `path` (a POSIX record lock underneath, created when
 * missing), held until `release` or until the process ends however it ends, `kill -9` included:
 * the operating system drops it, so nothing stale is left to clean up. `'held'` when another
 * connection has it, in this process or another; a file that cannot be opened or locked throws,
 * with `stage` saying which.
 */
export function tryExclusiveLock(path: string): ExclusiveLock | 'held' {
  let db: DatabaseSync
  try {
    db = new DatabaseSync(path, { timeout: 0 })
  } catch (error) {
    throw Object.assign(error as Error, { stage: 'open' as const })
  }
  try {
    // Held until released: no other connection may even read the file meanwhile.
    db.exec('BEGIN EXCLUSIVE')
  } catch (error) {
    db.close()
    const code = (error as { errcode?: number }).errcode
    if (code === SQLITE_BUSY || code === SQLITE_LOCKED) return 'held'
    throw Object.assign(error as Error, { stage: 'lock' as const })
  }
  return {
    release: () => {
      if (db.isOpen) db.close()
    },
  }
}
