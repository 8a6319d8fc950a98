import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'

const prefix = 'gearbridge-hashes-'
const ownerFile = 'owner'

/**
 * A directory for the decompressed copy of a password-hash export (every hash in clear), marked
 * with the host and process that made it. A process killed outright (`kill -9`, the OOM killer)
 * never removes its copy: the next one on the same host removes every copy whose process is gone.
 * Another host's (a temp directory shared between containers, whose PIDs are not ours) is left.
 */
export async function makeHashCopyDir(root = tmpdir()): Promise<string> {
  await removeAbandonedCopies(root)
  const dir = await mkdtemp(join(root, prefix))
  await writeFile(join(dir, ownerFile), `${hostname()} ${process.pid}\n`, { mode: 0o600 })
  return dir
}

async function removeAbandonedCopies(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[])
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const dir = join(root, name)
    const owner = await readFile(join(dir, ownerFile), 'utf8').catch(() => undefined)
    // Made by a version that did not mark its copies, or still being marked: left alone.
    const match = owner === undefined ? null : /^(\S+) (\d+)\n$/.exec(owner)
    if (match === null || match[1] !== hostname() || processAlive(Number(match[2]))) continue
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, as another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
