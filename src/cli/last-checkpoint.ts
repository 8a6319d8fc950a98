import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

/** When any run of this config last saved its checkpoint: Kafka replicas beyond the first each keep their own (`<name>.replica-N.checkpoint.json`). */
export async function lastCheckpointAt(stateDir: string, name: string): Promise<number | undefined> {
  const names = await readdir(stateDir).catch(() => [] as string[])
  const own = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.replica-\\d+)?\\.checkpoint\\.json$`)
  let latest: number | undefined
  for (const file of names.filter((entry) => own.test(entry))) {
    const at = await stat(join(stateDir, file)).then((info) => info.mtimeMs, () => undefined)
    if (at !== undefined && (latest === undefined || at > latest)) latest = at
  }
  return latest
}
