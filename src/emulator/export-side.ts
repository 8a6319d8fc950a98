import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EmulatorConfig } from './config.ts'
import { ExportFiles, type DownloadRequest } from './export-files.ts'
import { exportRoutes } from './export-routes.ts'
import type { ExportTask } from './export-task.ts'
import { JobStore } from './job-store.ts'
import type { Route } from './router.ts'
import type { UsageQuota } from './usage-quota.ts'
import type { UserStoreView } from './user-store.ts'

/** What tests and callers see of the export side of a running emulator. */
export interface ExportSideView {
  /** Requests made to download URLs, with their headers, oldest first. */
  readonly downloads: readonly DownloadRequest[]
  /** Makes every download URL issued so far expire at once. */
  expireDownloadUrls(): void
}

/** The export side: its routes, the download-URL server, and cleanup of its files. */
export interface ExportSide extends ExportSideView {
  readonly routes: Route[]
  readonly files: ExportFiles
  close(): Promise<void>
}

/** Builds the User Export API of an emulator over its user store and usage quota. */
export function createExportSide(deps: { config: EmulatorConfig; store: UserStoreView; quota: UsageQuota; now: () => bigint }): ExportSide {
  const { config } = deps
  const files = new ExportFiles(config.export.download_url_ttl_seconds, deps.now)
  // Authgear keeps an export task 24 h from its creation while pending, and 24 h after it completed.
  const tasks = new JobStore<ExportTask>(config.job_ttl_seconds, deps.now, (task) => task.finishedAtNs ?? task.createdAtNs)
  let dir: Promise<string> | undefined
  let ownDir = false
  const ensureDir = (): Promise<string> => {
    if (config.export.dir !== undefined) dir ??= mkdir(config.export.dir, { recursive: true }).then(() => config.export.dir!)
    else {
      ownDir = true
      dir ??= mkdtemp(join(tmpdir(), 'gearbridge-export-'))
    }
    return dir
  }
  const routes = exportRoutes({
    settings: config.export,
    projectId: config.project_id,
    customAttributes: config.custom_attributes,
    store: deps.store,
    tasks,
    files,
    dir: ensureDir,
    quota: deps.quota,
    now: deps.now,
  })
  return {
    routes,
    files,
    get downloads() {
      return files.requests
    },
    expireDownloadUrls: () => files.expireAll(),
    async close() {
      tasks.close()
      if (ownDir && dir !== undefined) await rm(await dir, { recursive: true, force: true })
    },
  }
}
