import { resolve } from 'node:path'
import type { RootConfig } from '../config/schema.ts'
import { replicaSlotName } from './run-lock.ts'

/**
 * Where a config's report and dead-letter files are: `state.report` / `state.dead_letter`, or beside
 * its state. `slot`: a Kafka replica's (see `takeReplicaSlot`); past the first, each file is its own.
 */
export function outputPaths(config: RootConfig, baseDir: string, slot = 1): { report: string; deadLetter: string } {
  const stateDir = resolve(baseDir, config.state.dir)
  const name = replicaSlotName(config.name, slot)
  return {
    report: resolve(baseDir, config.state.report === undefined ? `${stateDir}/${name}.report.ndjson` : slotted(config.state.report, slot)),
    deadLetter: resolve(baseDir, config.state.dead_letter === undefined ? `${stateDir}/${name}.dead-letter.ndjson` : slotted(config.state.dead_letter, slot)),
  }
}

/** A file named in the config, for a replica slot past the first: `.replica-N` before its extension. */
function slotted(path: string, slot: number): string {
  if (slot === 1) return path
  const dot = path.lastIndexOf('.')
  return dot > path.lastIndexOf('/') ? `${path.slice(0, dot)}.replica-${slot}${path.slice(dot)}` : `${path}.replica-${slot}`
}
