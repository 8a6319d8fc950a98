import { readFile, rm } from 'node:fs/promises'
import { removeStaleTemps, writeFileAtomic } from './atomic-file.ts'
import { currentIdentityOf, identityDifferences, identitySettingName, identityUpgradesTo } from './pipeline-id.ts'
import { CheckpointError } from '../core/errors.ts'
import type { RetryBookkeeping } from './failed-records.ts'

/** What is persisted: the position to resume after, and which source and target it belongs to. */
export interface CheckpointState<P> {
  readonly version: 1
  /** Fingerprint of the source and sink settings; a checkpoint from another pipeline is refused. */
  readonly pipeline: string
  /** null: nothing before it is committed (a stop that saved only `settledAhead`). */
  readonly position: P | null
  readonly committedAt: string
  /** Records with terminal outcomes up to this position, over all runs. */
  readonly recordsCommitted: number
  /**
   * Of `recordsCommitted`, those that went to the dead letter, over all runs: a run resumed after a
   * stop, or started again once complete, still ends with exit 3 when an earlier run dead-lettered
   * records. Absent in checkpoints written before it was kept.
   */
  readonly deadLettered?: number
  /**
   * Written when a run stops: origins of records past `position` that have outcomes already (and
   * which of them were dead-lettered). The resumed run skips them instead of sending them again,
   * which would spend import quota on users already imported. `sent_unsettled`: records in jobs
   * the stop abandoned, which may have imported them: the resumed run reads their outcomes as a
   * resend's (a user found existing is not said to have lost a password).
   */
  readonly settledAhead?: { readonly origins: readonly string[]; readonly dead_lettered: readonly string[]; readonly sent_unsettled?: readonly string[]; readonly content?: string }
  /** Set once the source was read to its end and every record had an outcome. */
  readonly complete: boolean
  /**
   * The report's size in bytes when this import began (its first run, or a --from-start one):
   * `--retry-failed` reads the report from there, earlier lines being another import's.
   */
  readonly reportFrom?: number
  /**
   * Set once this import's backfill has read its source to the end, and kept while `complete` goes
   * false again (a sync that stops, a run refused at start): what `--retry-failed` needs.
   */
  readonly finished?: boolean
  /** What `--retry-failed` keeps of its runs; every other run carries it as it is. */
  readonly retries?: RetryBookkeeping
  /** What `pipeline` is the fingerprint of (no secrets), so a refusal can name what changed. */
  readonly identity?: Record<string, unknown>
}

/** Which checkpoint a run takes: its own fingerprint, fingerprints it also answers to, and what it is of. */
export interface PipelineKey {
  readonly id: string
  /** Fingerprints of the same pipeline written by earlier versions. */
  readonly aliases?: readonly string[]
  readonly identity?: Record<string, unknown>
}

/**
 * A checkpoint file replaced atomically: write a temp file, fsync it, rename it over the old one,
 * fsync the directory. A crash at any point leaves either the old or the new checkpoint, whole.
 */
export class CheckpointStore<P> {
  readonly path: string
  readonly #parse: (value: unknown) => P

  constructor(path: string, parsePosition: (value: unknown) => P) {
    this.path = path
    this.#parse = parsePosition
  }

  async load(key: string | PipelineKey): Promise<CheckpointState<P> | undefined> {
    const pipeline = typeof key === 'string' ? { id: key } : key
    await removeStaleTemps(this.path)
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new CheckpointError(`cannot read checkpoint ${this.path}: ${(error as Error).message}`, { cause: error })
    }
    let state: CheckpointState<unknown>
    try {
      state = JSON.parse(text) as CheckpointState<unknown>
    } catch (error) {
      throw new CheckpointError(`checkpoint ${this.path} is not valid JSON; move it away to start over`, { cause: error })
    }
    if (state.version !== 1) throw new CheckpointError(`checkpoint ${this.path} has unknown version ${String(state.version)}`)
    const upgraded = state.identity !== undefined && identityUpgradesTo(state.identity, state.pipeline, pipeline.id)
    if (state.pipeline !== pipeline.id && !pipeline.aliases?.includes(state.pipeline) && !upgraded) {
      const changed = state.identity !== undefined && pipeline.identity !== undefined ? identityDifferences(currentIdentityOf(state.identity), pipeline.identity).map(identitySettingName) : []
      const what = changed.length > 0 ? `: ${changed.join(', ')} changed since it was saved` : ` (fingerprint ${state.pipeline}, this config ${pipeline.id})`
      throw new CheckpointError(`checkpoint ${this.path} belongs to another source or target${what}; put the setting back to resume, or use another state.dir, or (for a file or table source) --from-start to discard it (either of those sends every record again: Authgear skips the users it has, but each record sent counts against the import quota)`)
    }
    try {
      return { ...state, position: state.position === null ? null : this.#parse(state.position) }
    } catch (error) {
      throw new CheckpointError(`checkpoint ${this.path} holds an invalid position: ${(error as Error).message}`, { cause: error })
    }
  }

  /** Removes the saved checkpoint (`--from-start`): a run that stops before its first commit must not leave the old one, complete, to be resumed. */
  async discard(): Promise<void> {
    await removeStaleTemps(this.path)
    await rm(this.path, { force: true })
  }

  async save(state: CheckpointState<P>): Promise<void> {
    // It names records by their origin (a row's key) and the source it reads: its owner's only, as the report.
    await writeFileAtomic(this.path, `${JSON.stringify(state)}\n`, 0o600)
  }
}

/** What the pipeline needs of a checkpoint store. */
export type CheckpointKeeper<P> = Pick<CheckpointStore<P>, 'load' | 'save' | 'discard'>

/** A keeper that saves nothing, and remembers where a read of the whole source ended. */
export interface RetryKeeper<P> extends CheckpointKeeper<P> {
  /** The position of the last save that marked the source read to its end with every outcome in; undefined until then. */
  readonly endedAt: () => P | undefined
}

/**
 * A run that keeps no checkpoint of its own (`backfill --retry-failed`): it reads the source from
 * the start, and the report it appends to is what a rerun goes on from. Where its read ended is
 * kept for the backfill to take up (see `settleRetry`).
 */
export function noCheckpoint<P>(): RetryKeeper<P> {
  let end: P | undefined
  return {
    load: () => Promise.resolve(undefined),
    save: (state) => {
      if (state.complete && state.position !== null) end = state.position
      return Promise.resolve()
    },
    discard: () => Promise.resolve(),
    endedAt: () => end,
  }
}
