import { readFile, rm } from 'node:fs/promises'
import { isDeepStrictEqual } from 'node:util'
import { writeFileAtomic } from './atomic-file.ts'

/** Authgear keeps an export task 24 h from its creation; one older than this is not worth asking for. */
const keptMs = 23 * 60 * 60 * 1000

interface Saved {
  readonly id: string
  readonly request: unknown
  readonly created_at: string
}

/** Requests remembered at once: each a task that was started and not downloaded yet. */
const maxSaved = 16

/**
 * The export tasks runs started, one per request (format and fields), kept in the state directory
 * until each one's file is downloaded: a run stopped while Authgear was still exporting (a signal,
 * a lost connection) picks the same task up again instead of starting another, which would cost
 * another unit of the project's export quota. An export of another request meanwhile keeps it.
 */
export class ExportTaskMemo {
  readonly path: string
  readonly #staleBeforeMs: number | undefined
  readonly #completedWithinMs: number | undefined

  /**
   * `staleBeforeMs`: a task created before this time is not picked up. Reconcile passes the time
   * of the last checkpoint an import of the same config wrote: an export started before users were
   * imported since would report them missing. `completedWithinMs`: a task picked up that had
   * completed longer ago than this is not used (reconcile: changes made in Authgear since, by an
   * admin or another import, would not be in it, and a stale export could pass).
   */
  constructor(path: string, options: { staleBeforeMs?: number; completedWithinMs?: number } = {}) {
    this.path = path
    this.#staleBeforeMs = options.staleBeforeMs
    this.#completedWithinMs = options.completedWithinMs
  }

  current(task: { readonly completed_at?: string | undefined }, nowMs = Date.now()): boolean {
    if (this.#completedWithinMs === undefined || task.completed_at === undefined) return true
    return nowMs - Date.parse(task.completed_at) <= this.#completedWithinMs
  }

  /** The saved task for exactly this request, when it is young enough to still exist (and not stale). */
  async load(request: unknown, nowMs = Date.now()): Promise<string | undefined> {
    const saved = (await this.#read()).find((entry) => isDeepStrictEqual(entry.request, request))
    if (saved === undefined) return undefined
    const created = Date.parse(saved.created_at)
    if (this.#staleBeforeMs !== undefined && !(created >= this.#staleBeforeMs)) return undefined
    return nowMs - created < keptMs ? saved.id : undefined
  }

  async save(id: string, request: unknown, nowMs = Date.now()): Promise<void> {
    // Tasks Authgear no longer keeps are dropped as another is saved.
    const others = (await this.#read()).filter((entry) => !isDeepStrictEqual(entry.request, request) && nowMs - Date.parse(entry.created_at) < keptMs)
    await this.#write([...others.slice(-(maxSaved - 1)), { id, request, created_at: new Date(nowMs).toISOString() }])
  }

  async clear(request: unknown): Promise<void> {
    const saved = await this.#read()
    const rest = saved.filter((entry) => !isDeepStrictEqual(entry.request, request))
    if (rest.length === saved.length) return
    await this.#write(rest)
  }

  async #read(): Promise<Saved[]> {
    let value: unknown
    try {
      value = JSON.parse(await readFile(this.path, 'utf8'))
    } catch {
      return []
    }
    // One task, as the first version of this file kept it.
    const entries = Array.isArray(value) ? value : [value]
    return entries.filter((entry): entry is Saved => entry !== null && typeof entry === 'object' && typeof (entry as Saved).id === 'string' && typeof (entry as Saved).created_at === 'string')
  }

  async #write(entries: readonly Saved[]): Promise<void> {
    if (entries.length === 0) await rm(this.path, { force: true })
    else await writeFileAtomic(this.path, `${JSON.stringify(entries)}\n`)
  }
}
