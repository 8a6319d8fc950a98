import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'

/** Replaces `path` with `text` so that a crash leaves the old file or the new one, never a mix: a temp file, fsynced, renamed over it, and the directory fsynced. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  // A name of its own: two processes writing the same file (replicas sharing a state directory,
  // each PID 1 in its container) would otherwise rename each other's temp file away.
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const file = await open(tmp, 'w')
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
