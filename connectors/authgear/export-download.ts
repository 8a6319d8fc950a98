import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Agent, request } from 'undici'
import { AbortedError } from '../../src/core/errors.ts'
import { ExportDownloadError } from './export-errors.ts'
import { classifyNetworkError, errorCodeOf } from './network-errors.ts'

/** Statuses object stores give for an expired or otherwise refused pre-signed URL: get a new URL. */
const RENEW_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 404, 410])

export type DownloadResult =
  | { readonly ok: true; readonly bytes: number }
  | { readonly ok: false; readonly renew: boolean; readonly status?: number; readonly error: ExportDownloadError }

/**
 * Downloads one pre-signed URL to `dest` (through `dest.part`, renamed when complete). It uses its
 * own connection pool and sends no `Authorization` header: the URL is its own credential, and the
 * Admin API JWT must never reach the object store. Redirects are not followed. Never rejects for
 * HTTP or network failures: the caller decides between a new URL and giving up.
 */
export async function downloadUrl(
  url: string,
  dest: string,
  options: { dispatcher: Agent; timeoutMs: number; signal?: AbortSignal; onBytes?: (bytes: number, total: number | undefined) => void },
): Promise<DownloadResult> {
  const part = `${dest}.part`
  let bytes = 0
  try {
    const res = await request(url, {
      method: 'GET',
      dispatcher: options.dispatcher,
      headers: { accept: '*/*' },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    })
    if (res.statusCode !== 200) {
      await res.body.dump()
      const error = new ExportDownloadError(`the export download URL was refused with HTTP ${res.statusCode}`, { status: res.statusCode })
      return { ok: false, renew: RENEW_STATUSES.has(res.statusCode) || res.statusCode >= 500, status: res.statusCode, error }
    }
    const length = Number(res.headers['content-length'])
    const total = Number.isFinite(length) ? length : undefined
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length
        options.onBytes?.(bytes, total)
        done(null, chunk)
      },
    })
    // The export holds every user's PII (and TOTP secrets): readable by its owner only, whatever the umask.
    await rm(part, { force: true })
    await pipeline(res.body, counter, createWriteStream(part, { mode: 0o600 }))
    if (total !== undefined && bytes !== total) throw Object.assign(new Error('short body'), { code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' })
    await rename(part, dest)
    return { ok: true, bytes }
  } catch (error) {
    await rm(part, { force: true })
    if (options.signal?.aborted) throw new AbortedError('export download aborted')
    const transient = classifyNetworkError(error) !== undefined || bytes > 0
    return { ok: false, renew: transient, error: new ExportDownloadError(`the export download failed: ${downloadFailure(error)}`, { cause: error }) }
  }
}

/** The code of a download failure, or its message when it has none; never a URL (a pre-signed URL is a credential). */
function downloadFailure(error: unknown): string {
  const code = errorCodeOf(error)
  const message = error instanceof Error ? error.message : ''
  if (message === '' || /[a-z][a-z0-9+.-]*:\/\//i.test(message) || message.length > 200) return code
  return code === 'Error' ? message : `${code} (${message})`
}
