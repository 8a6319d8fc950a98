import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import type { CustomAttributeConfig } from './config.ts'
import { csvHeader, csvRow, defaultCsvFields } from './export-csv.ts'
import { exportRecord } from './export-record.ts'
import type { ExportRequest } from './export-request.ts'
import type { ExportFile } from './export-task.ts'
import { goStringify } from './go-json.ts'
import type { StoredUser } from './user-store.ts'

export interface ExportWriteOptions {
  readonly dir: string
  readonly projectId: string
  readonly taskId: string
  readonly customAttributes: readonly CustomAttributeConfig[]
  /** The TOTP URI issuer: the project's HTTP origin. */
  readonly issuer: string
  readonly now?: Date
}

/** `YYYYMMDDhhmmssZ` of `date` in UTC, as in Authgear's object keys. */
function compactTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-:T]/g, '')}Z`
}

/**
 * Streams the users to a file in the requested format (§7.3, §7.4) and describes it. Users come
 * in `created_at` order because the store keeps them in creation order. No users gives an empty
 * ndjson file (a CSV still has its header). Writes respect backpressure, so memory stays flat.
 */
export async function writeExportFile(users: Iterable<StoredUser>, request: ExportRequest, options: ExportWriteOptions): Promise<ExportFile> {
  const ext = request.format === 'csv' ? 'csv' : 'ndjson'
  const key = encodeURIComponent(`${options.projectId}-${options.taskId}-${compactTime(options.now ?? new Date())}.${ext}`)
  const path = join(options.dir, key)
  // Users' profiles, TOTP secrets included: readable by its owner only, as gearbridge's own download.
  const out = createWriteStream(path, { mode: 0o600 })
  const fields = request.format === 'csv' ? (request.csv?.fields ?? defaultCsvFields(options.customAttributes)) : undefined
  let bytes = 0
  const write = async (text: string): Promise<void> => {
    bytes += Buffer.byteLength(text)
    if (!out.write(text)) await once(out, 'drain')
  }
  try {
    if (fields !== undefined) await write(csvHeader(fields))
    for (const user of users) {
      const record = exportRecord(user, { issuer: options.issuer })
      await write(fields === undefined ? `${goStringify(record)}\n` : csvRow(record, fields))
    }
  } finally {
    out.end()
    await finished(out)
  }
  return { path, key, contentType: ext === 'csv' ? 'text/csv' : 'application/x-ndjson', bytes }
}
