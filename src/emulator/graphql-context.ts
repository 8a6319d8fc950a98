import type { LoginIdKey } from './login-id.ts'
import type { Transaction } from './graphql-transaction.ts'
import type { UserStore } from './user-store.ts'

/** What resolvers see: the store, the request's transaction and the project settings they need. */
export interface GraphqlContext {
  readonly store: UserStore
  readonly tx: Transaction
  readonly loginIdKeys: ReadonlySet<LoginIdKey>
  /** Current time, RFC 3339. */
  now(): string
}
