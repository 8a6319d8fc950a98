import { createHash } from 'node:crypto'
import type { PublishConfig } from './config.ts'

/**
 * The checkpoint fingerprint of a publishing run: the import pipeline's id plus the topic, so a
 * checkpoint of a run that imported is never taken for one that published, or the reverse.
 */
export function publishPipelineId(importPipelineId: string, publish: PublishConfig): string {
  return createHash('sha256').update(JSON.stringify({ importPipelineId, brokers: publish.brokers, topic: publish.topic })).digest('hex').slice(0, 16)
}
