import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import { Errors } from './api-error.ts'
import type { FaultSettings } from './config.ts'
import type { ImportJob, ImportSummary, ImportTask } from './import-job.ts'
import type { RecordResult } from './import-project.ts'
import { detailJson, type RecordImporter } from './record-importer.ts'

/** Counters of the job machinery, for tests and the benchmark. */
export interface JobStats {
  jobsCreated: number
  tasksQueued: number
  tasksRunning: number
  tasksCompleted: number
  tasksCrashed: number
  recordsProcessed: number
}

interface QueuedTask {
  readonly job: ImportJob
  readonly task: ImportTask
}

/**
 * Authgear's import queue: one FIFO of 100-record tasks shared by all jobs, consumed by `workers`
 * concurrent workers. Records of a task run one after another; tasks run side by side, pausing
 * between each record's lookup and its write so that duplicates across chunks race as they do
 * across Authgear's replicas.
 */
export class ImportWorkers {
  readonly stats: JobStats = { jobsCreated: 0, tasksQueued: 0, tasksRunning: 0, tasksCompleted: 0, tasksCrashed: 0, recordsProcessed: 0 }
  readonly #queue: (QueuedTask | undefined)[] = []
  #head = 0
  #wake: (() => void) | undefined
  #closed = false
  readonly #loops: Promise<void>[]
  readonly #importer: RecordImporter
  readonly #faults: FaultSettings
  readonly #recordDelayMs: number
  readonly #now: () => bigint

  constructor(options: { workers: number; importer: RecordImporter; faults: FaultSettings; recordDelayMs: number; now: () => bigint }) {
    this.#importer = options.importer
    this.#faults = options.faults
    this.#recordDelayMs = options.recordDelayMs
    this.#now = options.now
    this.#loops = Array.from({ length: options.workers }, () => this.#loop())
  }

  /** Queues every task of `job`, in order. */
  enqueue(job: ImportJob): void {
    this.stats.jobsCreated++
    for (const task of job.tasks) this.#queue.push({ job, task })
    this.stats.tasksQueued += job.tasks.length
    this.#signal()
  }

  /** Stops the workers after their current record; queued tasks stay pending. */
  async close(): Promise<void> {
    this.#closed = true
    this.#signal()
    await Promise.all(this.#loops)
  }

  #signal(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  #take(): QueuedTask | undefined {
    if (this.#head >= this.#queue.length) return undefined
    const item = this.#queue[this.#head]
    this.#queue[this.#head++] = undefined
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head)
      this.#head = 0
    }
    return item
  }

  async #loop(): Promise<void> {
    while (!this.#closed) {
      const item = this.#take()
      if (item === undefined) {
        await new Promise<void>((resolve) => {
          const previous = this.#wake
          this.#wake = () => {
            previous?.()
            resolve()
          }
        })
        continue
      }
      this.stats.tasksRunning++
      try {
        await this.#run(item.job, item.task)
      } finally {
        this.stats.tasksRunning--
      }
      // Let HTTP requests in between chunks.
      await nextTurn()
    }
  }

  async #run(job: ImportJob, task: ImportTask): Promise<void> {
    const records = task.records ?? []
    const crashAt = Math.random() < this.#faults.chunk_crash_rate ? Math.floor(Math.random() * records.length) : -1
    const summary: ImportSummary = { total: 0, inserted: 0, updated: 0, skipped: 0, failed: 0 }
    const details: string[] = []
    let crashed = false
    try {
      for (let i = 0; i < records.length && !crashed; i++) {
        if (i === crashAt) {
          crashed = true
          break
        }
        const record = records[i]!
        const prepared = this.#importer.prepare(job.identifier, job.upsert, record)
        if (prepared.kind === 'crash') {
          crashed = true
          break
        }
        let result: RecordResult
        if (prepared.kind === 'apply') {
          await this.#pause()
          result = prepared.apply()
        } else {
          if (this.#recordDelayMs > 0) await sleep(this.#recordDelayMs)
          result = prepared.result
        }
        this.stats.recordsProcessed++
        summary.total++
        summary[result.outcome]++
        details.push(detailJson(task.offset + i, record, result))
      }
    } catch {
      // A bug here is a worker panic: the task completes with an error and no output.
      crashed = true
    }
    task.records = undefined
    task.status = 'completed'
    task.completedAtNs = this.#now()
    if (crashed) {
      task.error = Errors.unexpected()
      this.stats.tasksCrashed++
    } else {
      task.summary = summary
      task.details = details.join(',')
    }
    this.stats.tasksCompleted++
    job.pendingTasks--
  }

  /** The gap between a record's lookup and its write, where other chunks may run. */
  async #pause(): Promise<void> {
    if (this.#recordDelayMs > 0) await sleep(this.#recordDelayMs)
    else if (this.stats.tasksRunning > 1) await nextTurn()
  }
}
