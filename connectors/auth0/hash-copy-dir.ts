import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tryExclusiveLock } from '../../src/runtime/exclusive-lock.ts'

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
 * with an exclusive lock on a file in it (`tryExclusiveLock`, as a run lock is) for as long as the
 * process uses it: the operating system drops the lock when the process ends however it ends
 * (`kill -9`, the OOM killer). Each new copy first removes the copies no process holds: what
 * killed runs left. A copy an earlier version made (no lock file) is left alone.
 */
export async function makeHashCopyDir(root = tmpdir()): Promise<HashCopyDir> {
  await removeAbandonedCopies(root)
  const path = await mkdtemp(join(root, prefix))
  let lock: ReturnType<typeof tryExclusiveLock> | undefined
  try {
    lock = tryExclusiveLock(join(path, lockFile))
  } catch {
    // A file system without locks: the copy is made all the same, unmarked (no later run removes
    // it while this one may be using it; this one removes it when it ends).
  }
  if (lock === undefined || lock === 'held') {
    await rm(join(path, lockFile), { force: true })
    return { path, release: () => undefined }
  }
  return { path, release: lock.release }
}

async function removeAbandonedCopies(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[])
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const dir = join(root, name)
    const lock = join(dir, lockFile)
    if (!existsSync(lock)) continue
    let taken: ReturnType<typeof tryExclusiveLock>
    try {
      taken = tryExclusiveLock(lock)
    } catch {
      // Cannot be opened or locked: not ours to judge.
      continue
    }
    // Held: its process runs.
    if (taken === 'held') continue
    taken.release()
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
  }
}
