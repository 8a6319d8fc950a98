import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAuthorizer } from './auth.ts'
import { createExportSide, type ExportSideView } from './export-side.ts'
import { nowNs, formatRfc3339Nano } from './clock.ts'
import { emulatorConfigSchema, type EmulatorConfig, type EmulatorOptions, type FaultSettings } from './config.ts'
import { CustomAttributeChecker } from './custom-attributes.ts'
import { FaultInjector, type FaultCounts } from './faults.ts'
import type { ImportJob } from './import-job.ts'
import { graphqlRoutes } from './graphql-routes.ts'
import { importRoutes } from './import-routes.ts'
import { ImportWorkers, type JobStats } from './import-workers.ts'
import { JobStore } from './job-store.ts'
import { loadVerificationKeys } from './keys.ts'
import { RecordImporter } from './record-importer.ts'
import { RecordValidator } from './record-validator.ts'
import { projectHostMatcher } from './project-host.ts'
import { Router } from './router.ts'
import { UsageQuota } from './usage-quota.ts'
import { UserStore, type UserStoreView } from './user-store.ts'

/** A started emulator. */
export interface RunningEmulator {
  /** Base URL, `http://<host>:<port>`, without a trailing slash. */
  readonly url: string
  readonly projectId: string
  /** The parsed settings it runs with. */
  readonly config: EmulatorConfig
  /** Users imported so far (read access). */
  readonly store: UserStoreView
  /** Live fault settings: change a field and the next request (or chunk) sees it. */
  readonly faults: FaultSettings
  /** How often each request fault struck. */
  readonly faultCounts: Readonly<FaultCounts>
  /** Job and task counters. */
  readonly jobs: Readonly<JobStats>
  /** Usage limits: change them at run time (a plan change) with `setLimits`. */
  readonly quota: Pick<UsageQuota, 'setLimits' | 'used'>
  /** The User Export API side: download requests seen, URL expiry for tests. */
  readonly exports: ExportSideView
  /** Stops listening, drops open connections and stops the workers. Pending jobs stay pending. */
  close(): Promise<void>
}

/**
 * Starts an Authgear Admin API emulator for the User Import API on `host:port` (port 0 = a free
 * one). `options` follows the `emulator:` config block; it is validated and defaulted here, so an
 * invalid option rejects with the zod error. Resolves once the server listens.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const config = emulatorConfigSchema.parse(options)
  const keys = loadVerificationKeys(config)
  if (config.auth === 'jwt' && keys.size === 0) {
    throw new Error('emulator: auth is "jwt" but no public key is configured (jwks or public_keys)')
  }
  const store = new UserStore()
  const faults: FaultSettings = { ...config.faults }
  const importer = new RecordImporter(
    {
      store,
      loginIdKeys: new Set(config.login_id_keys),
      roles: new Set(config.roles),
      groups: new Set(config.groups),
      customAttributes: new CustomAttributeChecker(config.custom_attributes, config.phone_validation),
      now: () => formatRfc3339Nano(nowNs()),
    },
    new RecordValidator(config.phone_validation),
  )
  const workers = new ImportWorkers({ workers: config.workers, importer, faults, recordDelayMs: config.record_delay_ms, now: nowNs })
  const jobs = new JobStore<ImportJob>(config.job_ttl_seconds, nowNs)
  const quota = new UsageQuota({ user_import: config.quota.user_import, user_export: config.quota.user_export })
  const exportSide = createExportSide({ config, store, quota, now: nowNs })
  const injector = new FaultInjector(faults)
  const authorize = createAuthorizer({ mode: config.auth, projectId: config.project_id, keys, clockSkewSeconds: config.clock_skew_seconds })
  const router = new Router(authorize, injector, projectHostMatcher(config.hosts)).add(...importRoutes({ jobs, workers, quota, now: nowNs }))
  router.add(...exportSide.routes)
  router.add(...graphqlRoutes({ store, loginIdKeys: new Set(config.login_id_keys), now: () => formatRfc3339Nano(nowNs()) }))

  const server = createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
    // Download URLs stand for pre-signed object-store URLs: served before (and without) the Admin API JWT check.
    if (!exportSide.files.serve(req, res)) void router.serve(req, res)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  return {
    url: `http://${host}:${port}`,
    projectId: config.project_id,
    config,
    store,
    faults,
    faultCounts: injector.counts,
    jobs: workers.stats,
    exports: exportSide,
    quota,
    async close() {
      jobs.close()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await Promise.all([closed, workers.close()])
      await exportSide.close()
    },
  }
}
