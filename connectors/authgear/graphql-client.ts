import { Pool, type Dispatcher } from 'undici'
import { AbortedError, AuthError, ConnectorError, ErrorCodes } from '../../src/core/errors.ts'
import { backoffDelay, type RetryOptions } from './backoff.ts'
import { WindDown } from './wind-down.ts'
import type { ClientHooks } from './client.ts'
import { AdminApiRoutes, type RetryReason } from './errors.ts'
import { classifyNetworkError } from './network-errors.ts'

const GRAPHQL_PATH = '/_api/admin/graphql'

/** One entry of a GraphQL `errors[]`; Authgear puts `errorName`, `reason` and `info` in `extensions`. */
export interface GraphqlErrorEntry {
  readonly message: string
  readonly path?: readonly (string | number)[]
  readonly extensions?: { readonly errorName?: string; readonly reason?: string; readonly info?: unknown }
}

/** Authgear answered with `errors[]` (the whole request was rolled back). Not retryable. */
export class GraphqlError extends ConnectorError {
  readonly errors: readonly GraphqlErrorEntry[]
  /**
   * The attempt that got this answer. After a retry, an earlier attempt may have been applied with
   * its reply lost: a mutation then fails as if repeated (`UserNotFound` after a delete).
   */
  readonly attempt: number
  constructor(operation: string, errors: readonly GraphqlErrorEntry[], attempt = 1) {
    const first = errors[0]
    super(ErrorCodes.sinkWrite, 'sending', `GraphQL ${operation} failed: ${first?.extensions?.reason ?? first?.extensions?.errorName ?? ''} ${first?.message ?? 'unknown error'}`.replace(/\s+/g, ' ').trim())
    this.errors = errors
    this.attempt = attempt
  }

  /** `reason` of the first error (e.g. `UserNotFound`, `Invalid`), for stable dead-letter codes. */
  get reason(): string | undefined {
    return this.errors[0]?.extensions?.reason
  }
}

/** The token source; `AdminTokenSigner` fits. */
export interface TokenSource {
  token(): Promise<string>
}

export interface AdminGraphqlClientOptions {
  /** The project's Admin API base URL (as for the import API). */
  readonly endpoint: string
  readonly tokens: TokenSource
  readonly timeoutMs: number
  readonly retry: RetryOptions
  readonly dispatcher?: Dispatcher
  readonly random?: () => number
  /** Requests and retries, reported under the `graphql` route as the import client reports its own. */
  readonly hooks?: ClientHooks
}

/**
 * Client of Authgear's Admin API GraphQL endpoint (`POST /_api/admin/graphql`, same JWT). Retries
 * network errors, timeouts, 429 and 5xx with backoff; a plain 403 is an `AuthError`; GraphQL
 * `errors[]` reject with `GraphqlError`. Calls may run concurrently.
 */
export class AdminGraphqlClient {
  readonly #url: URL
  readonly #tokens: TokenSource
  readonly #timeoutMs: number
  readonly #retry: RetryOptions
  readonly #dispatcher: Dispatcher
  readonly #owns: boolean
  readonly #random: () => number
  readonly #hooks: ClientHooks
  readonly #windDown = new WindDown()

  constructor(options: AdminGraphqlClientOptions) {
    this.#url = new URL(options.endpoint)
    this.#tokens = options.tokens
    this.#timeoutMs = options.timeoutMs
    this.#retry = options.retry
    this.#owns = options.dispatcher === undefined
    this.#dispatcher = options.dispatcher ?? new Pool(this.#url.origin, { connections: 4, keepAliveTimeout: 30_000 })
    this.#random = options.random ?? Math.random
    this.#hooks = options.hooks ?? {}
  }

  /** Runs one operation; resolves with `data`. */
  async request<T>(operation: string, query: string, variables: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
    const body = JSON.stringify({ query, variables })
    const path = this.#url.pathname.replace(/\/+$/, '') + GRAPHQL_PATH
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new AbortedError('GraphQL request aborted')
      const token = await this.#tokens.token()
      let status = 0
      let text = ''
      const started = performance.now()
      try {
        const signals = [AbortSignal.timeout(this.#timeoutMs), ...(signal ? [signal] : [])]
        const res = await this.#dispatcher.request({
          origin: this.#url.origin,
          path,
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
          body,
          signal: AbortSignal.any(signals),
        })
        status = res.statusCode
        text = await res.body.text()
      } catch (error) {
        if (signal?.aborted) throw new AbortedError('GraphQL request aborted')
        this.#hooks.onRequest?.(AdminApiRoutes.graphql, 'network_error', (performance.now() - started) / 1000)
        if (attempt >= this.#retry.maxAttempts) throw new ConnectorError(ErrorCodes.connect, 'sending', `Authgear GraphQL unreachable after ${attempt} attempt(s): ${(error as Error).message}`, { retryable: true, cause: error })
        await this.#backoff(classifyNetworkError(error) ?? 'network', attempt, signal)
        continue
      }
      this.#hooks.onRequest?.(AdminApiRoutes.graphql, status, (performance.now() - started) / 1000)
      if (status === 403) throw new AuthError('Authgear refused the Admin API JWT on the GraphQL endpoint (403)')
      if (status === 429 || status >= 500) {
        if (attempt >= this.#retry.maxAttempts) throw new ConnectorError(ErrorCodes.sinkWrite, 'sending', `Authgear GraphQL kept failing with HTTP ${status}`, { retryable: true })
        await this.#backoff(status === 429 ? '429' : '5xx', attempt, signal)
        continue
      }
      let reply: { data?: T | null; errors?: GraphqlErrorEntry[] }
      try {
        reply = JSON.parse(text) as typeof reply
      } catch {
        throw new ConnectorError(ErrorCodes.sinkWrite, 'sending', `Authgear GraphQL answered HTTP ${status} with a body that is not JSON`)
      }
      if (reply.errors && reply.errors.length > 0) throw new GraphqlError(operation, reply.errors, attempt)
      if (status !== 200 || reply.data === undefined || reply.data === null) throw new ConnectorError(ErrorCodes.sinkWrite, 'sending', `Authgear GraphQL answered HTTP ${status} without data`)
      return reply.data
    }
  }

  /** A graceful stop has begun: failed calls are retried only within `windowMs` of it (see `AdminApiClient.windDown`). */
  windDown(windowMs: number): void {
    this.#windDown.begin(windowMs)
  }

  async #backoff(reason: RetryReason, attempt: number, signal: AbortSignal | undefined): Promise<void> {
    const delayMs = backoffDelay(attempt, this.#retry, this.#random)
    this.#hooks.onRetry?.(reason, attempt, delayMs)
    await this.#windDown.beforeRetry(delayMs, `a failed GraphQL call (${reason})`, signal)
  }

  async close(): Promise<void> {
    if (this.#owns) await this.#dispatcher.close()
  }
}
