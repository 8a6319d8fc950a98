import { constants } from 'node:fs'
import { access, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { UsageError } from './usage-error.ts'

/**
 * Checks, before any work, that a file named on the command line (`-o`, `--metrics-out`) can be
 * written where it is named: found unwritable only at the end, it costs a whole export or run (a
 * container's working directory, say, which its user cannot write). `createsDirectories`: the
 * writer makes missing directories (`--metrics-out`), so the nearest one that exists must be
 * writable. Returns the absolute path.
 */
export async function writableTarget(flag: string, path: string, options: { createsDirectories?: boolean } = {}): Promise<string> {
  const dest = resolve(process.cwd(), path)
  if (await stat(dest).then((s) => s.isDirectory(), () => false)) throw new UsageError(`${flag} ${path}: is a directory; give the path of the file to write`)
  let into = dirname(dest)
  for (;;) {
    const found = await stat(into).then((s) => (s.isDirectory() ? 'directory' : 'other'), () => undefined)
    if (found === 'directory') break
    if (found === 'other') throw new UsageError(`${flag} ${path}: ${into} is not a directory`)
    if (!options.createsDirectories || dirname(into) === into) throw new UsageError(`${flag} ${path}: the directory ${into} does not exist`)
    into = dirname(into)
  }
  const denied = await access(into, constants.W_OK | constants.X_OK).then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error.code ?? 'error',
  )
  if (denied !== undefined) throw new UsageError(`${flag} ${path}: cannot write in ${into} (${denied}); name a file in a directory this user can write (in a container, the state volume)`)
  return dest
}
