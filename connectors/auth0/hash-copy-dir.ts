import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'

const prefix = 'gearbridge-hashes-'
const lockFile = 'owner.lock'

/** A directory for a decompressed hash-export copy, held by this process until `release`. */
export interface HashCopyDir {
  readonly path: string
  /** Lets go of the copy's lock; remove the directory after. */
  release(): void
}

/**
 * A directory for the decompressed copy of a password-hash export (every hash in clear), held
 * with SQLite's exclusive lock on a file in it for as long as the process uses it: the operating
 * system lets go of the lock when the process ends however it ends (`kill -9`, the OOM killer),
 * in whatever PID namespace it ran. Each new copy first removes the copies no process holds: what
 * killed runs left. A copy an earlier version made (no lock file) is left alone.
 */
export async function makeHashCopyDir(root = tmpdir()): Promise<HashCopyDir> {
  await removeAbandonedCopies(root)
  const path = await mkdtemp(join(root, prefix))
  let db: DatabaseSync | undefined
  try {
    db = new DatabaseSync(join(path, lockFile), { timeout: 0 })
    db.exec('BEGIN EXCLUSIVE')
  } catch {
    // A file system without locks: the copy is made all the same, unmarked (no later run removes
    // it while this one may be using it; this one removes it when it ends).
    db?.close()
    await rm(join(path, lockFile), { force: true })
    return { path, release: () => undefined }
  }
  const held = db
  return { path, release: () => held.isOpen && held.close() }
}

async function removeAbandonedCopies(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[])
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const dir = join(root, name)
    const lock = join(dir, lockFile)
    if (!existsSync(lock)) continue
    let db: DatabaseSync | undefined
    try {
      db = new DatabaseSync(lock, { timeout: 0 })
      db.exec('BEGIN EXCLUSIVE')
    } catch {
      // Held: its process runs (or the file cannot be opened: not ours to judge).
      db?.close()
      continue
    }
    db.close()
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
  }
}
