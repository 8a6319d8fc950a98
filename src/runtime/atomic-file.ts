import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/**
 * Replaces `path` with `text` so that a crash leaves the old file or the new one, never a mix: a
 * temp file, fsynced, renamed over it, and the directory fsynced. `mode` (less the umask) is the
 * new file's: a rename gives it no mode of the old one's.
 */
export async function writeFileAtomic(path: string, text: string, mode = 0o666): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  // A name of its own: two processes writing the same file (replicas sharing a state directory,
  // each PID 1 in its container) would otherwise rename each other's temp file away.
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const file = await open(tmp, 'w', mode)
  try {
    await file.writeFile(text)
    await file.sync()
  } finally {
    await file.close()
  }
  // A rename refused (the path is a directory, or on another device) leaves no temp file beside it.
  await rename(tmp, path).catch(async (error: unknown) => {
    await rm(tmp, { force: true }).catch(() => undefined)
    throw error
  })
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

/** A temp file older than this was left by a process killed mid-write: no write takes minutes. */
const staleTempMs = 10 * 60_000

/**
 * Removes the temp files `writeFileAtomic(path)` left behind when a process was killed between
 * writing one and renaming it (a checkpoint with a long settled-ahead list can be megabytes, one
 * per kill). Only old ones: a replica sharing the state directory may be writing one now.
 */
export async function removeStaleTemps(path: string, nowMs = Date.now()): Promise<void> {
  const prefix = `${basename(path)}.`
  let names: string[]
  try {
    names = await readdir(dirname(path))
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^[0-9a-f]{12}\.tmp$/.test(name.slice(prefix.length))) continue
    const file = join(dirname(path), name)
    const info = await stat(file).catch(() => undefined)
    if (info !== undefined && info.isFile() && nowMs - info.mtimeMs > staleTempMs) await rm(file, { force: true }).catch(() => undefined)
  }
}
