import { DigestTable, digest52 } from '../runtime/digest-table.ts'
import type { MappedRecord } from '../core/mapped-record.ts'
import { emailUniqueKey } from '../emulator/login-id.ts'

const loginFields = ['email', 'phone_number', 'preferred_username'] as const

/** A table value for a user deleted, or a login ID freed, by a source delete (the tables cannot remove). */
const gone = 0

/** A table value, or undefined for none or `gone`. */
function present(value: number | undefined): number | undefined {
  return value === gone ? undefined : value
}

/** Examples kept per kind. */
const examplesPerKind = 3

/**
 * What `validate` can tell about users that meet in Authgear, though each record maps fine:
 * several records of one user (the same identifier: Authgear keeps one version, so a password can
 * be lost when the version it keeps has none); a record whose identifier is another user's second
 * login ID (Authgear finds that user: the record is skipped, or overwrites that user under
 * upsert); and a second login ID of one user that another user's record also holds (Authgear
 * refuses the later record: `InvariantViolated`). Login IDs
 * are kept as 52-bit hashes in typed arrays, 32 bytes each at most (JavaScript maps of numbers
 * took 100: 200 MB for a million users); a collision (odds ~1e-4 at ten million) could only
 * add a false warning.
 */
export class SharedLogins {
  /** Identifier hash → 1 + whether the last record seen for it carried a password. */
  readonly #identifiers = new DigestTable()
  /** Hashes of every other login ID seen → the identifier hash of the user holding it. */
  readonly #logins = new DigestTable()
  /** Under upsert: hash of (user, login type) → the hash of that user's login ID of the type, which an update replaces or removes. */
  readonly #held = new DigestTable()
  /**
   * Emails with an international domain: hash of Authgear's unique key (the domain in punycode) →
   * hash of the stored value. Authgear finds a user by the stored value but refuses another value
   * with the same unique key (`a@bücher.de`, then `a@xn--bcher-kva.de`).
   */
  readonly #uniqueKeys = new DigestTable()
  /** The same emails the other way: stored value's hash → unique key's hash, to free the key with the value. */
  readonly #uniqueKeyOf = new Map<number, number>()
  repeatedUsers = 0
  passwordsLost = 0
  /** Records whose identifier an earlier user holds as a second login ID: matched to that user. */
  merged = 0
  /** Records with a second login ID an earlier user holds: refused by Authgear. */
  refused = 0
  readonly examples: { repeated: string[]; passwordLost: string[]; merged: string[]; refused: string[] } = { repeated: [], passwordLost: [], merged: [], refused: [] }

  /** A record of a user Authgear has updates that user (and adds its login IDs) under upsert; without it, it is skipped. */
  readonly upsert: boolean

  constructor(upsert = false) {
    this.upsert = upsert
  }

  /**
   * `refusedByProject`: asked only of a record that would land (create or update a user), as
   * Authgear checks roles, groups and custom attributes only then; true leaves its login IDs free.
   */
  add(mapped: MappedRecord, origin: string, refusedByProject?: () => boolean): void {
    const user = loginHash(mapped.identifier, mapped.identifierValue)
    // This user's identifier as another user's second login ID: Authgear finds that user.
    const heldBy = present(this.#logins.get(user))
    const merged = heldBy !== undefined && heldBy !== user
    // A record sent by a login that did not change, because its identifier did (a Debezium email
    // change, locked on both identifiers), is meant to find the user holding it: no warning.
    const rerouted = mapped.lockKeys !== undefined && mapped.lockKeys.length > 0
    if (merged && !rerouted) {
      this.merged++
      keep(this.examples.merged, origin)
    }
    const before = merged ? undefined : present(this.#identifiers.get(user))
    // The user the record lands on when Authgear already has one: it creates nothing without
    // upsert (skipped), and updates that user with its login IDs under upsert.
    const existing = merged ? heldBy : before !== undefined ? user : undefined
    if (existing !== undefined && !this.upsert) {
      this.#repeated(before, mapped, origin)
      return
    }
    const owner = existing ?? user
    // A new user whose email is, by unique key, another user's: refused.
    if (existing === undefined && this.#takenByUniqueKey(mapped.identifier, mapped.identifierValue)) {
      this.refused++
      keep(this.examples.refused, origin)
      return
    }
    // Its other login IDs as another user's identifier or second login ID: refused, so it creates
    // or changes nothing, and its login IDs stay free for later records.
    const record = mapped.record as Record<string, unknown>
    const own: [field: string, login: number][] = []
    const cleared: string[] = []
    for (const field of loginFields) {
      const value = record[field]
      if (field === mapped.identifier) continue
      if (value === null) cleared.push(field)
      if (typeof value !== 'string') continue
      const login = loginHash(field, value)
      const holder = present(this.#logins.get(login)) ?? (present(this.#identifiers.get(login)) !== undefined ? login : undefined)
      if ((holder !== undefined && holder !== owner) || (holder === undefined && this.#takenByUniqueKey(field, value))) {
        this.refused++
        keep(this.examples.refused, origin)
        return
      }
      own.push([field, login])
    }
    if (refusedByProject?.() === true) return
    for (const [field, login] of own) {
      // An update replaces the user's login ID of that type: the one it had is free again.
      if (this.upsert) this.#replace(owner, field, login)
      this.#logins.set(login, owner)
    }
    for (const field of cleared) if (this.upsert) this.#replace(owner, field, gone)
    for (const [field, login] of own) if (field === 'email') this.#keepUniqueKey(record[field] as string, login)
    if (existing === undefined && mapped.identifier === 'email') this.#keepUniqueKey(mapped.identifierValue, user)
    if (!merged) this.#repeated(before, mapped, origin)
  }

  #takenByUniqueKey(field: string, value: string): boolean {
    if (field !== 'email' || !internationalEmail(value)) return false
    const stored = present(this.#uniqueKeys.get(loginHash(field, emailUniqueKey(value))))
    return stored !== undefined && stored !== loginHash(field, value)
  }

  #keepUniqueKey(value: string, login: number): void {
    if (!internationalEmail(value)) return
    const key = loginHash('email', emailUniqueKey(value))
    this.#uniqueKeys.set(key, login)
    this.#uniqueKeyOf.set(login, key)
  }

  /** A freed email's unique key is free too, unless another stored value holds it now. */
  #freeUniqueKey(login: number): void {
    const key = this.#uniqueKeyOf.get(login)
    if (key === undefined) return
    this.#uniqueKeyOf.delete(login)
    if (this.#uniqueKeys.get(key) === login) this.#uniqueKeys.set(key, gone)
  }

  /** Under upsert, `owner`'s login ID of type `field` becomes `login` (`gone`: removed, as `null` does); the one it replaces is freed. */
  #replace(owner: number, field: string, login: number): void {
    const slot = digest52(`${owner}:${field}`)
    const earlier = present(this.#held.get(slot))
    if (earlier !== undefined && earlier !== login && this.#logins.get(earlier) === owner) {
      this.#logins.set(earlier, gone)
      this.#freeUniqueKey(earlier)
    }
    this.#held.set(slot, login)
  }

  /**
   * A source delete under `deletes.policy: delete`: Authgear deletes the user, so a later record
   * with its identifier creates a user again and one taking up its other login IDs is not refused.
   */
  remove(mapped: MappedRecord): void {
    const key = loginHash(mapped.identifier, mapped.identifierValue)
    // Found as Authgear finds it: a user whose identifier changed is held under its first one.
    const user = present(this.#logins.get(key)) ?? key
    if (user !== key) this.#logins.set(key, gone)
    if (this.#identifiers.has(user)) {
      this.#identifiers.set(user, gone)
      this.#freeUniqueKey(user)
    }
    for (const { identifier, value } of mapped.freedLogins ?? []) {
      const login = loginHash(identifier, value)
      if (this.#logins.get(login) === user) {
        this.#logins.set(login, gone)
        this.#freeUniqueKey(login)
      }
    }
  }

  /** Records the record's identifier, and what a repeat of it may cost. */
  #repeated(before: number | undefined, mapped: MappedRecord, origin: string): void {
    // Only an imported hash is a password the user logs in with; a `reset` one is not sent.
    const hasPassword = mapped.passwordLane === 'imported'
    this.#identifiers.set(loginHash(mapped.identifier, mapped.identifierValue), hasPassword ? 2 : 1)
    if (before === undefined) return
    this.repeatedUsers++
    keep(this.examples.repeated, origin)
    // Across import jobs the first version imported stays (a later one is skipped, and an update
    // ignores passwords); within one the last does: either way, versions that differ in having a
    // password can leave the user without one.
    if ((before === 2) !== hasPassword) {
      this.passwordsLost++
      keep(this.examples.passwordLost, origin)
    }
  }

  /** Lines for `validate`'s warnings, empty when nothing was found (the refused ones are counted as dead letters). */
  warnings(): string[] {
    const lines: string[] = []
    if (this.repeatedUsers > 0) {
      lines.push(`${this.repeatedUsers} ${this.repeatedUsers === 1 ? 'record repeats' : 'records repeat'} the identifier of an earlier one: they are one user in Authgear, which keeps one version (the last of an import job; a later job skips an existing user, or updates it under upsert) (e.g. ${this.examples.repeated.join(', ')})`)
    }
    if (this.passwordsLost > 0) {
      lines.push(`${this.passwordsLost} of them ${this.passwordsLost === 1 ? 'differs' : 'differ'} from the version before in carrying a password Authgear imports (one has it, the other has none or a hash it cannot import): Authgear keeps the last version of an import job but the first across jobs, so the user may end up without a password (e.g. ${this.examples.passwordLost.join(', ')})`)
    }
    if (this.merged > 0) {
      lines.push(`${this.merged} ${this.merged === 1 ? 'record has' : 'records have'} as identifier a login ID an earlier user's record holds besides its own (a phone, a username): Authgear finds that user, so the record is skipped and reported with that user's id, or under upsert overwrites that user's profile (e.g. ${this.examples.merged.join(', ')})`)
    }
    return lines
  }
}

function keep(examples: string[], origin: string): void {
  if (examples.length < examplesPerKind) examples.push(origin)
}

/** The digest of a login ID of a type (see `digest52`). */
function loginHash(type: string, value: string): number {
  return digest52(`${type}:${value}`)
}

/** An email whose domain has a non-ASCII or a punycode label: its unique key may be another stored value's. */
function internationalEmail(value: string): boolean {
  const domain = value.slice(value.lastIndexOf('@') + 1)
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(domain) || domain.includes('xn--')
}
