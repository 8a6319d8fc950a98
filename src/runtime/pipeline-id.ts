import { createHash } from 'node:crypto'
import type { RootConfig } from '../config/schema.ts'

/**
 * Fingerprint of what a checkpoint position means: the source settings and the target project.
 * Batching, retries and observability may change between runs; the source and target may not.
 */
export function pipelineId(config: RootConfig): string {
  const target = config.sink.endpoint === 'embedded' ? 'embedded' : new URL(config.sink.endpoint).host
  const material = JSON.stringify({ source: config.source, target, project: config.sink.project_id })
  return createHash('sha256').update(material).digest('hex').slice(0, 16)
}
