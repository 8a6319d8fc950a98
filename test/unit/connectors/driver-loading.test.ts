import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'

const root = new URL('../../../', import.meta.url).pathname

/**
 * The CJS driver packages a fresh Node process has loaded after importing the CLI's run, validate,
 * check, reconcile, sweep and logins commands and creating a source of `type` (nothing is read).
 */
function driversLoadedFor(type: 'auth0' | 'sql' | 'kafka'): string[] {
  const source = {
    auth0: { type: 'auth0', files: 'users.ndjson' },
    sql: { type: 'sql', dialect: 'postgres', url: 'postgres://u:p@127.0.0.1:1/db', table: 'users', key: 'id' },
    kafka: { type: 'kafka', brokers: '127.0.0.1:1', topics: 't', group_id: 'g', format: 'json' },
  }[type]
  const script = `
    const { createRequire } = await import('node:module')
    for (const command of ['run-import', 'validate', 'check', 'reconcile', 'sweep', 'logins']) await import(${JSON.stringify(root)} + 'src/cli/' + command + '.ts')
    const { createSource } = await import(${JSON.stringify(root)} + 'connectors/create-source.ts')
    const { sourceConfigSchema } = await import(${JSON.stringify(root)} + 'connectors/index.ts')
    await createSource(sourceConfigSchema.parse(${JSON.stringify(source)}), { baseDir: '.', mode: 'backfill' })
    const loaded = Object.keys(createRequire(import.meta.url).cache).map((path) => /node_modules\\/(pg|mysql2|node-rdkafka)\\//.exec(path)?.[1]).filter(Boolean)
    console.log(JSON.stringify([...new Set(loaded)].sort()))
  `
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })) as string[]
}

describe('driver loading', () => {
  it('an Auth0 run loads none of the SQL or Kafka drivers (~26 MB of resident memory); each other source loads its own', () => {
    expect(driversLoadedFor('auth0')).toEqual([])
    expect(driversLoadedFor('sql')).toEqual(expect.arrayContaining(['pg']))
    expect(driversLoadedFor('kafka')).toEqual(['node-rdkafka'])
  }, 60_000)
})
