/**
 * Fills `legacy_users` with `rows` generated legacy users, server-side (generate_series on
 * PostgreSQL, the SEQUENCE engine on MariaDB), so a million rows take seconds: mixed-case emails,
 * US national phone numbers on half the rows, bcrypt / argon2 / missing hashes, empty strings,
 * NULLs, locked and soft-deleted rows.
 */
import type { DatabaseService } from '../test/services/database-service.ts'

const bcrypt = '$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K'
const argon2 = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG'

/** The columns of the generated table, as the bench config maps them. */
export const legacyColumns = {
  email: 'email', email_verified: 'email_confirmed_at', phone_number: 'phone', country: 'country', username: 'username',
  given_name: 'first_name', family_name: 'last_name', password_hash: 'password_hash', locale: 'locale',
}

export async function createLegacyTable(db: DatabaseService, rows: number): Promise<void> {
  const pg = db.dialect === 'postgres'
  const ts = pg ? 'timestamp(6)' : 'DATETIME(6)'
  const cat = (...parts: string[]) => (pg ? parts.join(' || ') : `CONCAT(${parts.join(', ')})`)
  const text = (expr: string) => (pg ? `(${expr})::text` : expr)
  const plusSeconds = (expr: string) => (pg ? `timestamp '2020-01-01' + ${expr} * interval '1 second'` : `TIMESTAMP('2020-01-01') + INTERVAL ${expr} SECOND`)
  const now = pg ? 'now()' : 'NOW(6)'
  await db.query('DROP TABLE IF EXISTS legacy_users')
  await db.query(`CREATE TABLE legacy_users (
    id bigint PRIMARY KEY, email varchar(255) NULL, email_confirmed_at ${ts} NULL, phone varchar(40) NULL, country char(2) NULL,
    username varchar(100) NULL, first_name varchar(100) NULL, last_name varchar(100) NULL, password_hash varchar(255) NULL,
    locale varchar(20) NULL, locked_at ${ts} NULL, deleted_at ${ts} NULL, created_at ${ts} NOT NULL, updated_at ${ts} NOT NULL)`)
  const select = `SELECT i,
    CASE WHEN i % 10 = 0 THEN ${cat("'User'", text('i'), "'@Example.COM'")} ELSE ${cat("'user'", text('i'), "'@example.com'")} END,
    CASE WHEN i % 3 = 0 THEN NULL ELSE ${plusSeconds('i')} END,
    CASE WHEN i % 2 = 0 THEN ${cat("'(415) 555-'", `LPAD(${text('i % 10000')}, 4, '0')`)} ELSE NULL END,
    CASE WHEN i % 2 = 0 THEN 'US' ELSE NULL END,
    NULL,
    ${cat("'First'", text('i'))},
    CASE WHEN i % 7 = 0 THEN '' ELSE ${cat("'Last'", text('i'))} END,
    CASE WHEN i % 5 = 0 THEN '${argon2}' WHEN i % 11 = 0 THEN NULL ELSE '${bcrypt}' END,
    CASE i % 4 WHEN 0 THEN 'en_US' WHEN 1 THEN 'fr' WHEN 2 THEN NULL ELSE 'de-DE' END,
    CASE WHEN i % 97 = 0 THEN ${now} ELSE NULL END,
    CASE WHEN i % 101 = 0 THEN ${now} ELSE NULL END,
    ${plusSeconds('i')}, ${plusSeconds('i')}`
  if (pg) await db.query(`INSERT INTO legacy_users ${select} FROM generate_series(1, ${rows}) AS i`)
  else await db.query(`INSERT INTO legacy_users ${select} FROM (SELECT seq AS i FROM seq_1_to_${rows}) AS s`)
  await db.query(pg ? 'ANALYZE legacy_users' : 'ANALYZE TABLE legacy_users')
}
