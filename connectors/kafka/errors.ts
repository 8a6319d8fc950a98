import { ConnectorError, ErrorCodes } from '../../src/core/errors.ts'

/** The Kafka brokers cannot be reached, or the group cannot be joined. Retryable. */
export class ConnectError extends ConnectorError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(ErrorCodes.connect, 'receiving', message, { retryable: true, ...options })
  }
}
