import { randomUUID } from 'node:crypto'
import { emailUniqueKey, keyOfField, LoginIdFields, normalizeLoginId, type LoginIdField, type LoginIdKey } from './login-id.ts'

/** Account states that matter to import's `disabled` transitions (`account_status.go`). */
export type AccountStatus = 'normal' | 'disabled' | 'scheduled_deletion_disabled' | 'anonymized'

/** A login ID as stored: the normalized value, the value as entered, and its verification. */
export interface StoredLoginId {
  value: string
  /** The value as entered; absent when it equals `value` (saves memory on normalized input). */
  original?: string
  verified: boolean
}

/** An OAuth identity; its claims join the same lookups as login IDs. */
export interface StoredOAuthIdentity {
  readonly providerType: string
  readonly providerAlias: string
  readonly subjectId: string
  readonly claims: Readonly<Partial<Record<LoginIdField, string>>>
}

/** One user. Fields are optional so a typical user costs little memory. */
export interface StoredUser {
  readonly id: string
  readonly createdAt: string
  updatedAt: string
  email?: StoredLoginId
  phone?: StoredLoginId
  username?: StoredLoginId
  status: AccountStatus
  /** Set by the Admin API when disabling with a reason; cleared on re-enable. */
  disableReason?: string
  /** A temporary disable (Admin API): the user counts as disabled only between these two instants. */
  temporarilyDisabledFrom?: string
  temporarilyDisabledUntil?: string
  /** When a scheduled deletion (Admin API `scheduleAccountDeletion`) falls due. */
  deleteAt?: string
  accountValidFrom?: string
  accountValidUntil?: string
  /** Standard attributes other than the login fields (`name`, `address`, …). */
  standard?: Record<string, unknown>
  custom?: Record<string, unknown>
  roles?: string[]
  groups?: string[]
  /** A primary password exists; the hash itself is not kept. */
  hasPassword?: boolean
  passwordExpireAfter?: string
  mfa?: { emails?: string[]; phoneNumbers?: string[]; totpSecrets?: string[]; hasPassword?: boolean }
  oauth?: StoredOAuthIdentity[]
}

/** An identity found by claim: a login ID (of the claim's key) or an OAuth identity. */
export interface ClaimHolder {
  readonly user: StoredUser
  readonly identityType: 'login_id' | 'oauth'
  /** `email` | `phone` | `username` for login IDs; the provider type for OAuth. */
  readonly subtype: string
}

type Entry = StoredUser | ClaimHolder | (StoredUser | ClaimHolder)[]

/** Read access for tests and the later export/GraphQL handlers. */
export interface UserStoreView {
  count(): number
  list(): IterableIterator<StoredUser>
  get(id: string): StoredUser | undefined
  /** The user holding login ID `key` whose value normalizes like `value`. */
  findByLoginId(key: LoginIdKey, value: string): StoredUser | undefined
  /** True once `id` was deleted (Admin API `deleteUser`) and not restored. */
  isDeleted(id: string): boolean
}

/**
 * In-memory users with one index per identity claim (`email`, `phone_number`,
 * `preferred_username`), keyed by the stored (normalized) claim value. A bare user in an index
 * stands for its login ID, which keeps the common case to one Map entry per identity.
 */
export class UserStore implements UserStoreView {
  readonly #users = new Map<string, StoredUser>()
  readonly #deleted = new Set<string>()
  readonly #claims: Record<LoginIdField, Map<string, Entry>> = {
    email: new Map(),
    phone_number: new Map(),
    preferred_username: new Map(),
  }
  /** Email login IDs stored with a domain whose unique key differs (non-ASCII): unique key → their users. */
  readonly #emailKeys = new Map<string, StoredUser[]>()

  count(): number {
    return this.#users.size
  }

  list(): IterableIterator<StoredUser> {
    return this.#users.values()
  }

  get(id: string): StoredUser | undefined {
    return this.#users.get(id)
  }

  findByLoginId(key: LoginIdKey, value: string): StoredUser | undefined {
    const normalized = normalizeLoginId(key, value)
    return this.holders(LoginIdFields[key], normalized).find((h) => h.identityType === 'login_id')?.user
  }

  /**
   * Another user than `user` whose email login ID has the same unique key as `normalized` but
   * another stored value (the same address with its domain in Unicode and in punycode).
   */
  emailKeyHolder(normalized: string, user: StoredUser | undefined): ClaimHolder | undefined {
    const key = emailUniqueKey(normalized)
    const stored = key === normalized ? undefined : this.holders('email', key).find((h) => h.identityType === 'login_id' && h.user !== user)
    if (stored !== undefined) return stored
    const other = this.#emailKeys.get(key)?.find((holder) => holder !== user && holder.email?.value !== normalized)
    return other === undefined ? undefined : { user: other, identityType: 'login_id', subtype: 'email' }
  }

  /** Identities whose stored claim `field` equals `value` exactly (Authgear's `ListByClaim`). */
  holders(field: LoginIdField, value: string): ClaimHolder[] {
    const entry = this.#claims[field].get(value)
    if (entry === undefined) return []
    const items = Array.isArray(entry) ? entry : [entry]
    return items.map((item) => ('identityType' in item ? item : { user: item, identityType: 'login_id', subtype: keyOfField[field] }))
  }

  /** Creates an empty user; identities are added with `setLoginId`. */
  create(now: string): StoredUser {
    const user: StoredUser = { id: randomUUID(), createdAt: now, updatedAt: now, status: 'normal' }
    this.#users.set(user.id, user)
    return user
  }

  /** Sets (or replaces) the user's login ID of `key`, keeping the claim index in step. */
  setLoginId(user: StoredUser, key: LoginIdKey, original: string, verified: boolean): void {
    this.removeLoginId(user, key)
    const value = normalizeLoginId(key, original)
    user[key] = value === original ? { value, verified } : { value, original, verified }
    this.#link(LoginIdFields[key], value, user)
  }

  removeLoginId(user: StoredUser, key: LoginIdKey): void {
    const current = user[key]
    if (current === undefined) return
    this.#unlink(LoginIdFields[key], current.value, user)
    delete user[key]
  }

  /** Adds an OAuth identity (for tests and GraphQL); its claims become lookup keys. */
  addOAuthIdentity(user: StoredUser, identity: StoredOAuthIdentity): void {
    ;(user.oauth ??= []).push(identity)
    for (const [field, value] of Object.entries(identity.claims) as [LoginIdField, string][]) {
      this.#link(field, value, { user, identityType: 'oauth', subtype: identity.providerType })
    }
  }

  isDeleted(id: string): boolean {
    return this.#deleted.has(id)
  }

  /**
   * Removes the user and all its identities at once, as Authgear's immediate delete: its emails,
   * phones and usernames (and OAuth claims) become free for other users. False if it was not stored.
   */
  delete(user: StoredUser): boolean {
    if (this.#users.get(user.id) !== user) return false
    this.#users.delete(user.id)
    this.#deleted.add(user.id)
    for (const key of ['email', 'phone', 'username'] as const) {
      const current = user[key]
      if (current !== undefined) this.#unlink(LoginIdFields[key], current.value, user)
    }
    for (const identity of user.oauth ?? []) {
      for (const [field, value] of Object.entries(identity.claims) as [LoginIdField, string][]) this.#unlink(field, value, user, true)
    }
    return true
  }

  /** Puts a deleted user back with its identities (a rolled-back delete). */
  restore(user: StoredUser): void {
    this.#users.set(user.id, user)
    this.#deleted.delete(user.id)
    for (const key of ['email', 'phone', 'username'] as const) {
      const current = user[key]
      if (current !== undefined) this.#link(LoginIdFields[key], current.value, user)
    }
    for (const identity of user.oauth ?? []) {
      for (const [field, value] of Object.entries(identity.claims) as [LoginIdField, string][]) {
        this.#link(field, value, { user, identityType: 'oauth', subtype: identity.providerType })
      }
    }
  }

  #link(field: LoginIdField, value: string, item: StoredUser | ClaimHolder): void {
    if (field === 'email' && !('identityType' in item)) {
      const key = emailUniqueKey(value)
      if (key !== value) this.#emailKeys.set(key, [...(this.#emailKeys.get(key) ?? []), item])
    }
    const index = this.#claims[field]
    const entry = index.get(value)
    if (entry === undefined) index.set(value, item)
    else if (Array.isArray(entry)) entry.push(item)
    else index.set(value, [entry, item])
  }

  /** Drops the user's login-ID entry (or, with `oauth`, its OAuth holders) under `value`. */
  #unlink(field: LoginIdField, value: string, user: StoredUser, oauth = false): void {
    if (field === 'email' && !oauth) {
      const key = emailUniqueKey(value)
      const users = key === value ? undefined : this.#emailKeys.get(key)?.filter((other) => other !== user)
      if (users !== undefined) {
        if (users.length > 0) this.#emailKeys.set(key, users)
        else this.#emailKeys.delete(key)
      }
    }
    const index = this.#claims[field]
    const entry = index.get(value)
    if (entry === undefined) return
    const matches = (item: StoredUser | ClaimHolder): boolean =>
      oauth ? 'identityType' in item && item.identityType === 'oauth' && item.user === user : item === user
    if (!Array.isArray(entry)) {
      if (matches(entry)) index.delete(value)
      return
    }
    const rest = entry.filter((item) => !matches(item))
    if (rest.length === 0) index.delete(value)
    else index.set(value, rest.length === 1 ? rest[0]! : rest)
  }
}
