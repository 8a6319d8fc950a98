/** Process exit codes, documented in the README. */
export const ExitCodes = {
  /** Every record was imported (inserted, updated or skipped). */
  ok: 0,
  fatal: 1,
  usage: 2,
  /** Finished, but some records were dead-lettered. */
  deadLettered: 3,
  /** `reconcile` found more differences than its threshold allows. */
  differences: 4,
  /** Stopped before the end and resumable: quota exhausted, or SIGTERM/SIGINT during a backfill. */
  resumable: 75,
  /** The config file is invalid. */
  config: 78,
} as const
