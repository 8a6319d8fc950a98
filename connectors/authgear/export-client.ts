import { Agent } from 'undici'
import { sleep } from './backoff.ts'
import type { ExportApi } from './export-api.ts'
import { downloadUrl } from './export-download.ts'
import { ExportDownloadError, ExportFailedError, ExportTaskNotFoundError } from './export-errors.ts'
import type { ExportRequestBody, ExportTaskView } from './export-task.ts'

export interface ExportClientOptions {
  readonly pollInitialMs: number
  readonly pollMaxMs: number
  /** Deadline for headers and between body chunks of a download. */
  readonly downloadTimeoutMs: number
  /** New URLs tried after a refused or interrupted download before giving up. */
  readonly maxRenewals?: number
}

/** Observability callbacks; cheap, must not throw. */
export interface ExportHooks {
  onPoll?(task: ExportTaskView): void
  onBytes?(bytes: number, total: number | undefined): void
  /** A download URL was refused or broke off; a new one is requested. */
  onRenew?(status: number | undefined): void
}

/**
 * Runs User Export API tasks end to end: start, poll until `completed`, download. The download
 * starts right after the GET that produced its URL (URLs live ~60 s); a refused or broken download
 * GETs the task again for a fresh URL. Downloads go through their own pool without credentials.
 */
export class ExportClient {
  readonly #api: ExportApi
  readonly #opts: ExportClientOptions
  readonly #downloads = new Agent({ connections: 1, keepAliveTimeout: 1000 })

  constructor(api: ExportApi, options: ExportClientOptions) {
    this.#api = api
    this.#opts = options
  }

  /** Starts an export; resolves with the pending task. */
  start(request: ExportRequestBody, signal?: AbortSignal): Promise<ExportTaskView> {
    return this.#api.create(request, signal)
  }

  /**
   * Polls until the task is `completed` (backoff from `pollInitialMs` doubling to `pollMaxMs`).
   * Resolves with the completed task, whose `download_url` is fresh; rejects with
   * `ExportFailedError` when it completed with `error`, `ExportTaskNotFoundError` when it vanished.
   */
  async waitForCompletion(id: string, hooks: ExportHooks = {}, signal?: AbortSignal): Promise<ExportTaskView> {
    let wait = this.#opts.pollInitialMs
    for (;;) {
      const task = await this.#api.get(id, signal)
      hooks.onPoll?.(task)
      if (task.status === 'completed') {
        if (task.error !== undefined) throw new ExportFailedError(task.id, task.error)
        return task
      }
      await sleep(wait, signal)
      wait = Math.min(wait * 2, this.#opts.pollMaxMs)
    }
  }

  /**
   * Streams the file of a completed task to `dest`. `task.download_url` is tried first; when it is
   * refused (expired) or the transfer breaks, the task is fetched again for a new URL, up to
   * `maxRenewals` times. Resolves with the byte count.
   */
  async download(task: ExportTaskView, dest: string, hooks: ExportHooks = {}, signal?: AbortSignal): Promise<number> {
    let current = task
    const renewals = this.#opts.maxRenewals ?? 5
    for (let attempt = 0; ; attempt++) {
      if (current.error !== undefined) throw new ExportFailedError(current.id, current.error)
      if (current.download_url === undefined) throw new ExportDownloadError(`export ${current.id} has no download URL (status ${current.status})`, { retryable: false })
      const result = await downloadUrl(current.download_url, dest, {
        dispatcher: this.#downloads,
        timeoutMs: this.#opts.downloadTimeoutMs,
        ...(signal ? { signal } : {}),
        ...(hooks.onBytes ? { onBytes: hooks.onBytes } : {}),
      })
      if (result.ok) return result.bytes
      if (!result.renew || attempt >= renewals) throw result.error
      hooks.onRenew?.(result.status)
      current = await this.#api.get(current.id, signal)
    }
  }

  /**
   * Start, wait, download: the whole export into `dest`. Resolves with the completed task and byte
   * count. With `memo`, a task an earlier run started for the same request is picked up again
   * (unless Authgear no longer has it), and a task is remembered until it has ended.
   */
  async exportTo(request: ExportRequestBody, dest: string, hooks: ExportHooks = {}, signal?: AbortSignal, memo?: ExportTaskMemoStore): Promise<{ task: ExportTaskView; bytes: number }> {
    let task: ExportTaskView | undefined
    const saved = await memo?.load(request)
    if (saved !== undefined) {
      try {
        const found = await this.waitForCompletion(saved, hooks, signal)
        // One that completed long before this run holds the users as they were then: a new one is started.
        if (memo?.current?.(found) === false) await memo.clear(request)
        else task = found
      } catch (error) {
        if (!(error instanceof ExportTaskNotFoundError)) throw await ended(error, memo, request)
      }
    }
    if (task === undefined) {
      const started = await this.start(request, signal)
      await memo?.save(started.id, request)
      try {
        task = await this.waitForCompletion(started.id, hooks, signal)
      } catch (error) {
        throw await ended(error, memo, request)
      }
    }
    const bytes = await this.download(task, dest, hooks, signal)
    await memo?.clear(request)
    return { task, bytes }
  }

  async close(): Promise<void> {
    await this.#downloads.close()
    await this.#api.close()
  }
}

/** Where `exportTo` remembers a task between runs (`ExportTaskMemo`). */
export interface ExportTaskMemoStore {
  load(request: unknown): Promise<string | undefined>
  /** Whether a picked-up task that has completed is recent enough to be used (default: yes). */
  current?(task: ExportTaskView): boolean
  save(id: string, request: unknown): Promise<void>
  /** Forgets the task of this request (those of other requests stay). */
  clear(request: unknown): Promise<void>
}

/** Forgets the remembered task when `error` means it has ended (failed or gone); returns `error`. */
async function ended(error: unknown, memo: ExportTaskMemoStore | undefined, request: unknown): Promise<unknown> {
  if (error instanceof ExportFailedError || error instanceof ExportTaskNotFoundError) await memo?.clear(request)
  return error
}
