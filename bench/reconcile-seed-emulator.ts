import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from '../src/config/load-config.ts'
import { createSource } from '../connectors/create-source.ts'
import { createMapping } from '../src/runtime/create-mapping.ts'
import { formatRfc3339Nano, nowNs } from '../src/emulator/clock.ts'
import { CustomAttributeChecker } from '../src/emulator/custom-attributes.ts'
import { startEmulator } from '../src/emulator/emulator.ts'
import type { ImportProject } from '../src/emulator/import-project.ts'
import { insertUser } from '../src/emulator/insert-user.ts'
import { generateAdminKey } from '../src/emulator/keys.ts'
import { upsertUser } from '../src/emulator/upsert-user.ts'
import type { UserStore } from '../src/emulator/user-store.ts'
import { keyOfField } from '../src/emulator/login-id.ts'
import { createLogger } from '../src/observability/logger.ts'

/**
 * Starts an emulator (own process, so its memory is not the reconcile's) and fills it with what a
 * correct backfill of the config's source leaves behind: every mapped record through the emulator's
 * own insert rules, a later record of the same user as an upsert. Writes `{url, keyId, keyFile}`
 * to `--ready` and then serves until killed.
 *   node bench/reconcile-seed-emulator.ts --config bench/data/reconcile-1m/gearbridge.yaml --ready ready.json
 */
const { values } = parseArgs({ options: { config: { type: 'string' }, ready: { type: 'string' } } })
const { config, baseDir } = await loadConfig(values.config!)
const key = await generateAdminKey()
const emulator = await startEmulator({ ...config.emulator, project_id: config.sink.project_id, jwks: { keys: [key.publicJwk] }, public_keys: [] })
const store = emulator.store as UserStore
const project: ImportProject = {
  store,
  loginIdKeys: new Set(config.emulator.login_id_keys),
  roles: new Set(config.emulator.roles),
  groups: new Set(config.emulator.groups),
  customAttributes: new CustomAttributeChecker(config.emulator.custom_attributes, config.emulator.phone_validation),
  now: () => formatRfc3339Nano(nowNs()),
}
const map = createMapping(config)
const { source } = await createSource(config.source, { baseDir, mode: 'backfill' })
const started = Date.now()
const outcomes: Record<string, number> = {}
for await (const batch of source.read(undefined, { signal: new AbortController().signal, logger: createLogger('silent') })) {
  for (const record of batch.records) {
    if (record.kind !== 'data') continue
    const result = map(record)
    if (!result.ok) continue
    const { identifier, identifierValue, record: r } = result.value
    const existing = store.findByLoginId(keyOfField[identifier], identifierValue)
    const outcome = existing ? upsertUser(project, identifier, existing, r as Record<string, unknown>) : insertUser(project, r as Record<string, unknown>)
    outcomes[outcome.outcome] = (outcomes[outcome.outcome] ?? 0) + 1
  }
}
await source.close()
const keyFile = join(baseDir, 'admin-key.pem')
await writeFile(keyFile, key.privateKeyPem, { mode: 0o600 })
await writeFile(values.ready!, JSON.stringify({ url: emulator.url, keyId: key.keyId, keyFile, users: store.count(), outcomes, seconds: (Date.now() - started) / 1000 }))
process.on('SIGTERM', () => void emulator.close().then(() => process.exit(0)))
