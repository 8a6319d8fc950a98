/**
 * librdkafka properties that exist only in its topic configuration (CONFIGURATION.md, "Topic
 * configuration properties", less the ones also listed as global). node-rdkafka always installs
 * its own topic configuration as the client's default (`default_topic_conf`), which replaces
 * whatever topic properties the global object carried: `message.timeout.ms` or `partitioner`
 * set there were silently ignored. They must be passed as the topic configuration instead.
 */
const topicOnly = new Set([
  'request.required.acks',
  'acks',
  'request.timeout.ms',
  'message.timeout.ms',
  'delivery.timeout.ms',
  'queuing.strategy',
  'produce.offset.report',
  'partitioner',
  'partitioner_cb',
  'msg_order_cmp',
  'compression.level',
  'auto.commit.enable',
  'auto.offset.reset',
  'offset.store.path',
  'offset.store.sync.interval.ms',
  'consume.callback.max.messages',
])

/** Splits one flat librdkafka configuration into the client's global and default topic configuration. */
export function splitTopicConfig<T>(conf: Readonly<Record<string, T>>): { global: Record<string, T>; topic: Record<string, T> } {
  const global: Record<string, T> = {}
  const topic: Record<string, T> = {}
  for (const [key, value] of Object.entries(conf)) {
    if (topicOnly.has(key)) topic[key] = value
    else global[key] = value
  }
  return { global, topic }
}
