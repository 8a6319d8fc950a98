import { chownSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { globSync } from 'node:fs'
import pg from 'pg'
import type { DatabaseService } from './database-service.ts'
import { dockerReachable, ensureDebianPackages, freePort, runChecked, spawnServer, stopServer, systemUser, waitUntil } from './local-server.ts'

export type { DatabaseService }

const USER = 'gb_owner'
const PASSWORD = 'gb-test-password'
const DATABASE = 'gearbridge_test'

/** Directory of the newest installed PostgreSQL server binaries (Debian layout), if any. */
export function postgresBinDir(): string | undefined {
  const dirs = globSync('/usr/lib/postgresql/*/bin').filter((dir) => globSync(join(dir, 'initdb')).length > 0)
  return dirs.sort((a, b) => Number(/(\d+)\/bin$/.exec(b)?.[1]) - Number(/(\d+)\/bin$/.exec(a)?.[1]))[0]
}

let shared: Promise<DatabaseService> | undefined

/** One PostgreSQL per process: started on first use, stopped when the process exits or `stop()` is called. */
export function sharedPostgres(): Promise<DatabaseService> {
  shared ??= startPostgres()
  return shared
}

/**
 * Starts a throwaway PostgreSQL: a container when a Docker engine is reachable, otherwise a local
 * server from Debian's packages (installed when missing) in a temporary directory on a free port,
 * run as the `postgres` system user (postgres refuses root).
 */
export async function startPostgres(): Promise<DatabaseService> {
  if (dockerReachable()) return startContainer()
  ensureDebianPackages(() => postgresBinDir() !== undefined, ['postgresql'])
  const bin = postgresBinDir() as string
  const dir = mkdtempSync(join(tmpdir(), 'gb-pg-'))
  const user = process.getuid?.() === 0 ? systemUser('postgres') : undefined
  if (user) chownSync(dir, user.uid, user.gid)
  const data = join(dir, 'data')
  runChecked(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], { ...(user ? { user } : {}), env: { ...process.env, HOME: dir } })
  const port = await freePort()
  const args = [
    '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off',
    '-c', 'full_page_writes=off', '-c', 'shared_buffers=256MB', '-c', 'max_connections=200', '-c', 'log_min_messages=warning',
  ]
  const server = spawnServer(join(bin, 'postgres'), args, user)
  // After the kill registered by spawnServer: a crashed test run leaves no data directory behind.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const admin = new pg.Pool({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', max: 2 })
  admin.on('error', () => undefined)
  await waitUntil(async () => (await admin.query('SELECT 1')).rowCount === 1, 60_000, server.output)
  await admin.query(`CREATE ROLE ${USER} LOGIN CREATEROLE PASSWORD '${PASSWORD}'`)
  await admin.query(`GRANT pg_signal_backend TO ${USER}`)
  await admin.query(`CREATE DATABASE ${DATABASE} OWNER ${USER}`)
  await admin.end()
  await createReader('127.0.0.1', port)
  return service('127.0.0.1', port, async () => {
    await stopServer(server.child)
    rmSync(dir, { recursive: true, force: true })
  })
}

async function startContainer(): Promise<DatabaseService> {
  const { GenericContainer, Wait } = await import('testcontainers')
  const container = await new GenericContainer('postgres:16-alpine')
    .withEnvironment({ POSTGRES_USER: USER, POSTGRES_PASSWORD: PASSWORD, POSTGRES_DB: DATABASE })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start()
  await createReader(container.getHost(), container.getMappedPort(5432))
  return service(container.getHost(), container.getMappedPort(5432), async () => {
    await container.stop()
  })
}

const READER = 'gb_reader'

/** The read-only user: SELECT on every table the owner creates in `public`. */
async function createReader(host: string, port: number): Promise<void> {
  const owner = new pg.Client({ host, port, user: USER, password: PASSWORD, database: DATABASE })
  await owner.connect()
  try {
    await owner.query(`CREATE ROLE ${READER} LOGIN PASSWORD '${PASSWORD}'`)
    await owner.query(`GRANT USAGE ON SCHEMA public TO ${READER}`)
    await owner.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${USER} IN SCHEMA public GRANT SELECT ON TABLES TO ${READER}`)
  } finally {
    await owner.end()
  }
}

function service(host: string, port: number, shutdown: () => Promise<void>): DatabaseService {
  const pool = new pg.Pool({ host, port, user: USER, password: PASSWORD, database: DATABASE, max: 4 })
  pool.on('error', () => undefined)
  let stopped = false
  return {
    dialect: 'postgres',
    host,
    port,
    database: DATABASE,
    user: USER,
    password: PASSWORD,
    url: `postgres://${USER}:${PASSWORD}@${host}:${port}/${DATABASE}`,
    reader: { user: READER, password: PASSWORD, url: `postgres://${READER}:${PASSWORD}@${host}:${port}/${DATABASE}` },
    async query(text, params = []) {
      const result = await pool.query(text, [...params])
      return (Array.isArray(result) ? (result.at(-1)?.rows ?? []) : result.rows) as Record<string, unknown>[]
    },
    async dropConnections() {
      await pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [READER])
    },
    async stop() {
      if (stopped) return
      stopped = true
      await pool.end()
      await shutdown()
    },
  }
}
