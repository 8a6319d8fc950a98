/** librdkafka's MSG_SIZE_TOO_LARGE: the producer's own limit (message.max.bytes). */
const messageTooLargeCode = 10

/**
 * Whether a delivery failed because the message is too large: for the producer's own limit, or
 * for the topic's max.message.bytes by the broker's reply. node-rdkafka reports the broker's
 * refusal of an idempotent producer's message with code -1 and the broker's text, so the text
 * counts too.
 */
export function isMessageTooLarge(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause
  if (cause === undefined || cause === null) return false
  return cause.code === messageTooLargeCode || (typeof cause.message === 'string' && /message size too large/i.test(cause.message))
}
