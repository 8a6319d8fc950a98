import { resolve } from 'node:path'
import type { RootConfig } from '../config/schema.ts'

/** Where a config's report and dead-letter files are: `state.report` / `state.dead_letter`, or beside its state. */
export function outputPaths(config: RootConfig, baseDir: string): { report: string; deadLetter: string } {
  const stateDir = resolve(baseDir, config.state.dir)
  return {
    report: resolve(baseDir, config.state.report ?? `${stateDir}/${config.name}.report.ndjson`),
    deadLetter: resolve(baseDir, config.state.dead_letter ?? `${stateDir}/${config.name}.dead-letter.ndjson`),
  }
}
