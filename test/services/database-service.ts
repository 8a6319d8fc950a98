/** A running throwaway database for integration tests and benchmarks. */
export interface DatabaseService {
  readonly dialect: 'postgres' | 'mysql'
  readonly host: string
  readonly port: number
  readonly database: string
  /** An ordinary user owning `database` (not a superuser). */
  readonly user: string
  readonly password: string
  /** `postgres://…` or `mysql://…` for `user`. */
  readonly url: string
  /** A user allowed only to SELECT from the tables of `database`: what a source should be given. */
  readonly reader: { readonly user: string; readonly password: string; readonly url: string }
  /** Runs SQL as the owner; resolves to the rows (empty for statements). */
  query(text: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>
  /** Kills every connection of the reader user (a lost connection as a source sees it). */
  dropConnections(): Promise<void>
  /** Stops the server and deletes its data. */
  stop(): Promise<void>
}
