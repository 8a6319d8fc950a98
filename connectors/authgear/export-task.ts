/**
 * Shapes of the User Export API (authgear-api.md §7), as Authgear writes them (snake_case).
 */
import type { ApiErrorBody } from './import-job.ts'

export const ExportFormats = ['ndjson', 'csv'] as const
export type ExportFormat = (typeof ExportFormats)[number]

/** One CSV column: a JSON pointer into the exported record, and its header (default: tokens joined with `.`). */
export interface ExportFieldPointer {
  readonly pointer: string
  readonly field_name?: string
}

/** The body of `POST /_api/admin/users/export`. Without `csv.fields` a CSV has Authgear's default columns. */
export interface ExportRequestBody {
  readonly format: ExportFormat
  readonly csv?: { readonly fields?: readonly ExportFieldPointer[] }
}

/**
 * An export task. `completed` with `error` (and `failed_at`) is a failed export; `download_url`
 * is present only on success and is valid for about 60 s from the GET that returned it.
 */
export interface ExportTaskView {
  readonly id: string
  readonly created_at: string
  readonly completed_at?: string
  readonly failed_at?: string
  readonly status: 'pending' | 'completed'
  readonly request: ExportRequestBody
  readonly download_url?: string
  readonly error?: ApiErrorBody
}

/** Routes of the export client, for hooks and metric labels. */
export const ExportRoutes = {
  exportCreate: 'export_create',
  exportGet: 'export_get',
  exportDownload: 'export_download',
} as const
export type ExportRoute = (typeof ExportRoutes)[keyof typeof ExportRoutes]

/** Parses `--field /pointer[=name]`. */
export function parseFieldPointer(spec: string): ExportFieldPointer {
  const eq = spec.indexOf('=')
  return eq < 0 ? { pointer: spec } : { pointer: spec.slice(0, eq), field_name: spec.slice(eq + 1) }
}
