import type { IncomingMessage, ServerResponse } from 'node:http'
import { contentTypeAllowed } from './content-type.ts'
import type { FaultInjector } from './faults.ts'
import { reply, writeReply, type Reply } from './reply.ts'

/** One route: `pattern` matches the whole path, its groups are the handler's params. */
export interface Route {
  readonly method: string
  readonly pattern: RegExp
  handle(req: IncomingMessage, params: readonly string[]): Promise<Reply>
}

/**
 * The Admin API router with Authgear's middleware order: route match (404/405 plain text), then
 * the project by `Host` (404 plain `app not found`), then the Admin API JWT (403 plain
 * `Forbidden`), then the content-type check (415), then the handler.
 * Routes of other features (export, GraphQL) are registered from their own files.
 */
export class Router {
  readonly #routes: Route[] = []
  readonly #authorize: (header: string | undefined) => Promise<boolean>
  readonly #faults: FaultInjector
  readonly #servesHost: (host: string | undefined) => boolean

  constructor(authorize: (header: string | undefined) => Promise<boolean>, faults: FaultInjector, servesHost: (host: string | undefined) => boolean = () => true) {
    this.#authorize = authorize
    this.#faults = faults
    this.#servesHost = servesHost
  }

  add(...routes: Route[]): this {
    this.#routes.push(...routes)
    return this
  }

  /** Serves one request; never rejects. */
  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let answer: Reply
    try {
      answer = await this.#dispatch(req)
    } catch {
      answer = reply.error({ name: 'InternalError', reason: 'UnexpectedError', message: 'unexpected error occurred', code: 500 })
    }
    if (await this.#faults.beforeReply(req)) return
    if (!res.destroyed) writeReply(res, answer)
  }

  async #dispatch(req: IncomingMessage): Promise<Reply> {
    const method = req.method ?? 'GET'
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const matching = this.#routes
      .map((route) => ({ route, match: route.pattern.exec(path) }))
      .filter((m) => m.match !== null)
    if (matching.length === 0) return reply.plain(404, '404 page not found')
    const hit = matching.find((m) => m.route.method === method)
    if (hit === undefined) {
      const allow = [...new Set(matching.map((m) => m.route.method)), 'OPTIONS'].sort().join(', ')
      return reply.plain(405, 'Method Not Allowed', { allow })
    }
    if (!this.#servesHost(req.headers.host)) return reply.plain(404, 'app not found')
    const injected = this.#faults.injectedError()
    if (injected !== undefined) return reply.error(injected)
    if (!(await this.#authorize(req.headers.authorization))) return reply.plain(403, 'Forbidden')
    const contentType = req.headers['content-type']
    if (!contentTypeAllowed(method, contentType)) return reply.plain(415, `invalid content type: ${contentType ?? ''}`)
    return hit.route.handle(req, hit.match!.slice(1))
  }
}
