import { ConfigError } from '../core/errors.ts'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Registry } from 'prom-client'
import type { Logger } from '../core/run-context.ts'

/** What `/readyz` reports: ready once the run is set up, and not while it is stopping. */
export interface Readiness {
  ready(): boolean
}

/** `observability.linger_seconds`: how long a finished run keeps serving before it closes. */
export interface Linger {
  readonly seconds: number
  /** Ends the wait at once (a signal to the process). */
  readonly signal: AbortSignal
  readonly logger: Logger
}

export interface ObservabilityServer {
  readonly url: string
  /**
   * Stops serving. With `linger`, first keeps serving `/metrics` that long, with `/readyz` at 503,
   * so a Prometheus scrape still finds the final counts: a run that ends between two scrapes would
   * otherwise lose every increment since the last one.
   */
  close(linger?: Linger): Promise<void>
}

/**
 * Serves `/metrics` (Prometheus text format), `/healthz` (the process answers) and `/readyz`
 * (the pipeline is running and can take work). Nothing else, and no record data.
 */
export async function startObservabilityServer(listen: string, registry: Registry, readiness: Readiness, setting: { readonly name: string; readonly otherwise: string } = { name: 'observability.listen', otherwise: 'set another host:port, or null to turn the server off' }): Promise<ObservabilityServer> {
  const at = listen.lastIndexOf(':')
  const host = listen.slice(0, at) || '0.0.0.0'
  const port = Number(listen.slice(at + 1))
  let closing = false
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('method not allowed\n')
      return
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
      )
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
    } else if (path === '/readyz') {
      const ready = !closing && readiness.ready()
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n')
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') {
        const why = error.code === 'EADDRINUSE' ? 'the address is in use (another gearbridge?)' : error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN' ? `the host does not resolve (${error.code})` : `cannot listen there (${error.code})`
        reject(new ConfigError(`${setting.name} ${listen}: ${why}; ${setting.otherwise}`))
      } else reject(error)
    })
    server.listen(port, host, () => resolve())
  })
  server.unref()
  const address = server.address() as AddressInfo
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    async close(linger) {
      closing = true
      if (linger && linger.seconds > 0 && !linger.signal.aborted) {
        linger.logger.info({ seconds: linger.seconds }, 'Run ended; /metrics stays up for a final scrape (observability.linger_seconds).')
        await sleep(linger.seconds * 1000, undefined, { signal: linger.signal }).catch(() => undefined)
      }
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
