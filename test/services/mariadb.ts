import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mysql from 'mysql2/promise'
import type { DatabaseService } from './database-service.ts'
import { dockerReachable, ensureDebianPackages, freePort, runChecked, spawnServer, stopServer, waitUntil } from './local-server.ts'

export type { DatabaseService }

const USER = 'gb_owner'
const PASSWORD = 'gb-test-password'
const DATABASE = 'gearbridge_test'
const READER = 'gb_reader'
const SERVER = '/usr/sbin/mariadbd'
const INSTALL_DB = '/usr/bin/mariadb-install-db'

let shared: Promise<DatabaseService> | undefined

/** One MariaDB per process: started on first use, stopped when the process exits or `stop()` is called. */
export function sharedMariadb(): Promise<DatabaseService> {
  shared ??= startMariadb()
  return shared
}

/**
 * Starts a throwaway MariaDB: a container when a Docker engine is reachable, otherwise a local
 * server from Debian's `mariadb-server` (installed when missing) with its data directory, socket
 * and pid file in a temporary directory, on a free port.
 */
export async function startMariadb(): Promise<DatabaseService> {
  if (dockerReachable()) return startContainer()
  ensureDebianPackages(() => existsSync(SERVER) && existsSync(INSTALL_DB), ['mariadb-server', 'mariadb-client'])
  const dir = mkdtempSync(join(tmpdir(), 'gb-mariadb-'))
  const data = join(dir, 'data')
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : []
  runChecked(INSTALL_DB, ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot])
  const port = await freePort()
  const server = spawnServer(SERVER, [
    '--no-defaults', `--datadir=${data}`, `--socket=${join(dir, 'mariadb.sock')}`, `--pid-file=${join(dir, 'mariadb.pid')}`, `--port=${port}`,
    '--bind-address=127.0.0.1', '--skip-log-bin', '--innodb-buffer-pool-size=256M', '--innodb-flush-log-at-trx-commit=0', '--innodb-doublewrite=0',
    '--max-connections=200', '--skip-name-resolve', ...asRoot,
  ])
  // After the kill registered by spawnServer: a crashed test run leaves no data directory behind.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const admin = () => mysql.createConnection({ socketPath: join(dir, 'mariadb.sock'), user: 'root' })
  await waitUntil(async () => {
    const c = await admin()
    await c.end()
    return true
  }, 60_000, server.output)
  const c = await admin()
  await c.query(`CREATE DATABASE ${DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`)
  await c.query(`CREATE USER '${USER}'@'%' IDENTIFIED BY '${PASSWORD}'`)
  await c.query(`GRANT ALL ON ${DATABASE}.* TO '${USER}'@'%'`)
  await c.query(`CREATE USER '${READER}'@'%' IDENTIFIED BY '${PASSWORD}'`)
  await c.query(`GRANT SELECT ON ${DATABASE}.* TO '${READER}'@'%'`)
  await c.query(`GRANT PROCESS, CONNECTION ADMIN ON *.* TO '${USER}'@'%'`).catch(() => c.query(`GRANT PROCESS, SUPER ON *.* TO '${USER}'@'%'`))
  await c.end()
  return service('127.0.0.1', port, async () => {
    await stopServer(server.child, 10_000)
    rmSync(dir, { recursive: true, force: true })
  })
}

async function startContainer(): Promise<DatabaseService> {
  const { GenericContainer, Wait } = await import('testcontainers')
  const container = await new GenericContainer('mariadb:11')
    .withEnvironment({ MARIADB_USER: USER, MARIADB_PASSWORD: PASSWORD, MARIADB_DATABASE: DATABASE, MARIADB_ROOT_PASSWORD: PASSWORD })
    .withExposedPorts(3306)
    .withWaitStrategy(Wait.forLogMessage(/ready for connections/, 2))
    .start()
  const grants = `CREATE USER '${READER}'@'%' IDENTIFIED BY '${PASSWORD}'; GRANT SELECT ON ${DATABASE}.* TO '${READER}'@'%'; GRANT PROCESS, CONNECTION ADMIN ON *.* TO '${USER}'@'%'`
  await container.exec(['mariadb', '-uroot', `-p${PASSWORD}`, '-e', grants])
  return service(container.getHost(), container.getMappedPort(3306), async () => {
    await container.stop()
  })
}

function service(host: string, port: number, shutdown: () => Promise<void>): DatabaseService {
  const pool = mysql.createPool({ host, port, user: USER, password: PASSWORD, database: DATABASE, connectionLimit: 4, multipleStatements: true, timezone: 'Z' })
  let stopped = false
  return {
    dialect: 'mysql',
    host,
    port,
    database: DATABASE,
    user: USER,
    password: PASSWORD,
    url: `mysql://${USER}:${PASSWORD}@${host}:${port}/${DATABASE}`,
    reader: { user: READER, password: PASSWORD, url: `mysql://${READER}:${PASSWORD}@${host}:${port}/${DATABASE}` },
    async query(text, params = []) {
      const [rows] = await pool.query(text, [...params])
      return (Array.isArray(rows) ? rows : []) as Record<string, unknown>[]
    },
    async dropConnections() {
      const [rows] = await pool.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [READER])
      for (const row of rows as { id: number }[]) await pool.query(`KILL ${Number(row.id)}`).catch(() => undefined)
    },
    async stop() {
      if (stopped) return
      stopped = true
      await pool.end()
      await shutdown()
    },
  }
}

