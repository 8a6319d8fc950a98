import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ExportFile } from './export-task.ts'

/** The path prefix download URLs are served under; outside the Admin API router and its JWT check. */
export const ExportFilesPath = '/_export_files/'

/** One request seen on a download URL, with its headers as received (for tests: no Authorization). */
export interface DownloadRequest {
  readonly path: string
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
}

interface Grant {
  readonly file: ExportFile
  readonly expiresAtNs: bigint
}

/**
 * Stands in for the object store's pre-signed GET URLs: each `sign` makes a fresh random URL valid
 * `ttlSeconds`. Like a pre-signed S3 URL it carries its own authorization, so a request that also
 * sends an `Authorization` header is refused (400 InvalidArgument), an expired one gets 403
 * "Request has expired", and an unknown one 403 AccessDenied. Every request is logged.
 */
export class ExportFiles {
  readonly #grants = new Map<string, Grant>()
  readonly #ttlNs: bigint
  readonly #now: () => bigint
  readonly #log: DownloadRequest[] = []

  constructor(ttlSeconds: number, now: () => bigint) {
    this.#ttlNs = BigInt(Math.round(ttlSeconds * 1e9))
    this.#now = now
  }

  /** Requests seen so far on download URLs, oldest first. */
  get requests(): readonly DownloadRequest[] {
    return this.#log
  }

  /** A new URL for `file` under `origin` (`http://host:port`). */
  sign(file: ExportFile, origin: string): string {
    const now = this.#now()
    for (const [token, grant] of this.#grants) if (grant.expiresAtNs <= now) this.#grants.delete(token)
    const token = randomBytes(24).toString('base64url')
    this.#grants.set(token, { file, expiresAtNs: now + this.#ttlNs })
    return `${origin}${ExportFilesPath}${token}?X-Amz-Expires=${Number(this.#ttlNs / 1_000_000_000n)}`
  }

  /** Every URL made so far stops working (for tests of URL renewal). */
  expireAll(): void {
    this.#grants.clear()
  }

  /** Serves `req` when it is a download URL and returns true; false leaves it to the Admin API router. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (!path.startsWith(ExportFilesPath)) return false
    const status = this.#answer(req, res, path.slice(ExportFilesPath.length))
    this.#log.push({ path, status, headers: { ...req.headers } })
    return true
  }

  #answer(req: IncomingMessage, res: ServerResponse, token: string): number {
    if (req.method !== 'GET' && req.method !== 'HEAD') return xmlError(res, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.')
    if (req.headers.authorization !== undefined) {
      return xmlError(res, 400, 'InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified')
    }
    const grant = this.#grants.get(token)
    if (grant === undefined) return xmlError(res, 403, 'AccessDenied', 'Request has expired')
    if (grant.expiresAtNs <= this.#now()) {
      this.#grants.delete(token)
      return xmlError(res, 403, 'AccessDenied', 'Request has expired')
    }
    const { file } = grant
    res.writeHead(200, {
      'content-type': file.contentType,
      'content-length': file.bytes,
      'content-disposition': `attachment; filename=${file.key}`,
    })
    if (req.method === 'HEAD' || file.bytes === 0) res.end()
    else createReadStream(file.path).on('error', () => res.destroy()).pipe(res)
    return 200
  }
}

function xmlError(res: ServerResponse, status: number, code: string, message: string): number {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) })
  res.end(body)
  return status
}
