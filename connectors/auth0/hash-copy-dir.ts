import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tryExclusiveLock } from '../../src/runtime/exclusive-lock.ts'

const prefix = 'gearbridge-hashes-'
const lockFile = 'owner.lock'

/** A directory for a decompressed hash-export copy, held by this process until `remove`. */
export interface HashCopyDir {
  readonly path: string
  /**
   * Removes the copy: what it holds while still locked, then the lock and the directory, which
   * another run's clean-up may be removing at the same moment (it takes the lock once let go).
   */
  remove(): Promise<void>
}

/** A directory being made: its lock is taken under this name, which the clean-up of held copies never judges. */
const stagingPrefix = 'gearbridge-new-hashes-'
/** A staging directory left this long (its process killed between making and naming it) holds no hashes and is removed. */
const stagingMaxAgeMs = 60_000

/**
 * A directory for the decompressed copy of a password-hash export (every hash in clear), held
 * with an exclusive lock on a file in it (`tryExclusiveLock`, as a run lock is) for as long as the
 * process uses it: the operating system drops the lock when the process ends however it ends
 * (`kill -9`, the OOM killer). Each new copy first removes the copies no process holds: what
 * killed runs left. A copy an earlier version made (no lock file) is left alone.
 *
 * The directory is made and locked under a staging name, then renamed (the lock belongs to the
 * open file, not to its name): under its final name it is never unlocked, so another run's
 * clean-up cannot take it for abandoned between its making and its locking.
 */
export async function makeHashCopyDir(root = tmpdir()): Promise<HashCopyDir> {
  await removeAbandonedCopies(root)
  for (let attempt = 1; ; attempt++) {
    try {
      return await makeOne(root)
    } catch (error) {
      // Its staging directory removed under it (this process stopped for over a minute): another.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 3) throw error
    }
  }
}

async function makeOne(root: string): Promise<HashCopyDir> {
  const staging = await mkdtemp(join(root, stagingPrefix))
  let lock: ReturnType<typeof tryExclusiveLock> | undefined
  try {
    lock = tryExclusiveLock(join(staging, lockFile))
  } catch {
    // A file system without locks: the copy is made all the same, unmarked (no later run removes
    // it while this one may be using it; this one removes it when it ends).
  }
  if (lock === 'held') lock = undefined
  if (lock === undefined) await rm(join(staging, lockFile), { force: true })
  const path = join(root, prefix + staging.slice(join(root, stagingPrefix).length))
  try {
    await rename(staging, path)
  } catch (error) {
    lock?.release()
    await rm(staging, { recursive: true, force: true })
    throw error
  }
  return {
    path,
    remove: async () => {
      for (const name of await readdir(path).catch(() => [] as string[])) if (name !== lockFile) await rm(join(path, name), { recursive: true, force: true })
      lock?.release()
      await rm(path, { recursive: true, force: true }).catch(() => undefined)
    },
  }
}

async function removeAbandonedCopies(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[])
  for (const name of names) {
    const dir = join(root, name)
    if (name.startsWith(stagingPrefix)) {
      // Nothing in it but a lock file: old enough and not held, its maker is gone.
      const made = await stat(dir).catch(() => undefined)
      if (made !== undefined && Date.now() - made.mtimeMs > stagingMaxAgeMs && !isHeld(join(dir, lockFile))) await rm(dir, { recursive: true, force: true }).catch(() => undefined)
      continue
    }
    if (!name.startsWith(prefix)) continue
    const lock = join(dir, lockFile)
    if (!existsSync(lock) || isHeld(lock)) continue
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
  }
}

/** Whether a process holds the lock file at `path`; one that cannot be opened or locked counts as held (not ours to judge). A missing file is not held. */
function isHeld(path: string): boolean {
  if (!existsSync(path)) return false
  try {
    const taken = tryExclusiveLock(path)
    if (taken === 'held') return true
    taken.release()
    return false
  } catch {
    return true
  }
}
