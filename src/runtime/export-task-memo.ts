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

/**
 * The export task a run started, kept in the state directory until its file is downloaded: a run
 * stopped while Authgear was still exporting (a signal, a lost connection) picks the same task up
 * again instead of starting another, which would cost another unit of the project's export quota.
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
    let saved: Saved
    try {
      saved = JSON.parse(await readFile(this.path, 'utf8')) as Saved
    } catch {
      return undefined
    }
    if (typeof saved.id !== 'string' || !isDeepStrictEqual(saved.request, request)) return undefined
    const created = Date.parse(saved.created_at)
    if (this.#staleBeforeMs !== undefined && !(created >= this.#staleBeforeMs)) return undefined
    return nowMs - created < keptMs ? saved.id : undefined
  }

  async save(id: string, request: unknown, nowMs = Date.now()): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify({ id, request, created_at: new Date(nowMs).toISOString() } satisfies Saved)}\n`)
  }

  async clear(): Promise<void> {
    await rm(this.path, { force: true })
  }
}
