import { isEmpty } from '../../mappings/normalize.ts'
import type { HashJoinMode } from './config.ts'
import type { HashRecord } from './hash-record.ts'
import type { HashRecordReader } from './hash-record-reader.ts'
import type { PasswordHashIndex } from './password-hash-index.ts'
import { passwordJoinMiss } from '../../src/core/password-join-miss.ts'

/** How a profile was matched, or why it was not. */
export const JoinResults = ['id', 'email', 'ambiguous', 'none', 'ineligible', 'ineligible_email_match', 'has_password'] as const
export type JoinResult = (typeof JoinResults)[number]

/** Several hash lines match and nothing tells them apart. */
const ambiguous = Symbol('ambiguous')

interface Candidate {
  readonly id: string
  readonly connection: string | undefined
}

/**
 * Merges the hash export into profiles. A profile is eligible when it has a database (`auth0`)
 * identity, or no provider at all (import-format files); social-only users never receive a hash,
 * even when their email matches a database user's. A hit counts only if the line's id (or
 * alt_id) or email equals the profile's exactly and the connection agrees where both are known;
 * several matching lines (the same id in two connections, profile connection unknown) join none.
 */
export class PasswordHashJoin {
  readonly #index: PasswordHashIndex
  readonly #reader: HashRecordReader
  readonly #mode: HashJoinMode
  readonly counts: Record<JoinResult, number> = { id: 0, email: 0, ambiguous: 0, none: 0, ineligible: 0, ineligible_email_match: 0, has_password: 0 }

  constructor(index: PasswordHashIndex, reader: HashRecordReader, mode: HashJoinMode) {
    this.#index = index
    this.#reader = reader
    this.#mode = mode
  }

  /** Releases the hash-file reader. */
  close(): Promise<void> {
    return this.#reader.close()
  }

  /** Adds `password_hash` (and `password_set_date`) to the profile, which it returns; the reader's freshly parsed object is changed in place. */
  apply(profile: Record<string, unknown>): Record<string, unknown> {
    // Present as the mapping reads it: a null or empty value is no password, and the hash line fills it.
    if (!isEmpty(profile['password_hash']) || !isEmpty(profile['custom_password_hash']) || !isEmpty(profile['passwordHash'])) {
      this.counts.has_password++
      return profile
    }
    const candidates = databaseCandidates(profile)
    if (candidates === undefined) {
      // A CSV names only the first identity: a social login with a database identity linked to it
      // looks social-only. Not joined (the rule holds), but counted when a hash line has its email,
      // so the run can say so.
      const found = this.#mode !== 'id' && namesFirstIdentityOnly(profile) ? this.#byEmail(profile, []) : undefined
      if (found !== undefined && found !== ambiguous && found.passwordHash !== undefined) this.counts.ineligible_email_match++
      else this.counts.ineligible++
      return profile
    }
    let found: HashRecord | typeof ambiguous | undefined
    let result: JoinResult = 'none'
    if (this.#mode !== 'email') {
      found = this.#byId(candidates)
      result = 'id'
    }
    if (found === undefined && this.#mode !== 'id') {
      found = this.#byEmail(profile, candidates)
      result = 'email'
    }
    if (found === ambiguous) {
      this.counts.ambiguous++
      ;(profile as Record<symbol, unknown>)[passwordJoinMiss] = 'ambiguous'
      return profile
    }
    if (found?.passwordHash === undefined) {
      this.counts.none++
      ;(profile as Record<symbol, unknown>)[passwordJoinMiss] = this.#index.stats.unreadable > 0 ? 'unreadable' : 'none'
      return profile
    }
    this.counts[result]++
    // The profile was just parsed by the reader and belongs to it: adding to it in place saves
    // copying every field of every joined user.
    const setDate = profile['password_set_date']
    profile['password_hash'] = found.passwordHash
    if (found.passwordSetDate !== undefined && setDate === undefined) profile['password_set_date'] = found.passwordSetDate
    return profile
  }

  #byId(candidates: readonly Candidate[]): HashRecord | typeof ambiguous | undefined {
    for (const candidate of candidates) {
      const offsets = this.#index.ids.lookup(candidate.id)
      let hit: HashRecord | undefined
      for (let i = 0; i < offsets.length; i++) {
        const record = this.#reader.read(offsets[i] as number)
        if (record === undefined || !record.ids.includes(candidate.id) || !connectionAgrees(record, candidate.connection)) continue
        // The same line twice (a repeated line, or a glob matching both hashes.ndjson and its .gz)
        // tells nothing apart, and neither does any other line with the same hash.
        if (hit !== undefined && hit.passwordHash !== record.passwordHash) return ambiguous
        hit ??= record
      }
      if (hit !== undefined) return hit
    }
    return undefined
  }

  #byEmail(profile: Record<string, unknown>, candidates: readonly Candidate[]): HashRecord | typeof ambiguous | undefined {
    const email = profile['email']
    if (typeof email !== 'string' || email === '') return undefined
    const key = email.trim().toLowerCase()
    const connections = candidates.map((candidate) => candidate.connection).filter((name) => name !== undefined)
    let found: HashRecord | undefined
    let foundAt = -1
    for (const entry of this.#index.emails.lookup(key)) {
      const offset = entry < 0 ? -entry - 1 : entry
      const record = this.#reader.read(offset)
      if (record?.email !== key) continue
      // A second line with this email (in another part of an index built in parts) makes it ambiguous.
      if (entry < 0 || (found !== undefined && offset !== foundAt)) return ambiguous
      found = record
      foundAt = offset
    }
    if (found === undefined) return undefined
    if (connections.length > 0 && found.connection !== undefined && !connections.includes(found.connection)) return undefined
    return found
  }
}

/** A profile as a CSV export gives it: no identities, or only `identities[0].connection` (no provider). */
function namesFirstIdentityOnly(profile: Record<string, unknown>): boolean {
  const identities = profile['identities']
  if (!Array.isArray(identities)) return true
  return identities.every((entry) => entry !== null && typeof entry === 'object' && (entry as Record<string, unknown>)['provider'] === undefined)
}

function connectionAgrees(record: HashRecord, connection: string | undefined): boolean {
  return connection === undefined || record.connection === undefined || record.connection === connection
}

/**
 * The (bare id, connection) pairs under which a profile's password may be stored, primary first:
 * the root `user_id` when its provider is `auth0`, then every linked `auth0` identity. `[]` for
 * a profile with no provider information; undefined for a profile with only non-database logins.
 */
export function databaseCandidates(profile: Record<string, unknown>): Candidate[] | undefined {
  const identities = Array.isArray(profile['identities']) ? (profile['identities'] as unknown[]) : []
  const database = identities.filter(isDatabaseIdentity)
  const userId = typeof profile['user_id'] === 'string' ? profile['user_id'] : undefined
  // A CSV export made as Auth0's community advises carries `identities[0]` as root `provider`,
  // `user_id` (bare) and `connection` columns: the provider then says whose login it is.
  const rootProvider = typeof profile['provider'] === 'string' && profile['provider'] !== '' ? profile['provider'] : undefined
  const candidates: Candidate[] = []
  if (userId !== undefined) {
    const bar = userId.indexOf('|')
    const provider = bar === -1 ? rootProvider : userId.slice(0, bar)
    const bare = bar === -1 ? userId : userId.slice(bar + 1)
    if (provider === 'auth0' || (provider === undefined && identities.length === 0)) {
      const identity = database.find((entry) => entry.user_id === bare)
      // A bulk-export CSV carries the connection only as `identities[0].connection`, without the
      // identity's provider or id: for the root database user it is that user's connection.
      const sole = identities.length === 1 && identities[0] !== null && typeof identities[0] === 'object' ? (identities[0] as Record<string, unknown>) : undefined
      const csvConnection = sole !== undefined && sole['provider'] === undefined && typeof sole['connection'] === 'string' ? sole['connection'] : undefined
      const rootConnection = typeof profile['connection'] === 'string' ? profile['connection'] : csvConnection
      candidates.push({ id: bare, connection: identity?.connection ?? rootConnection })
    }
  }
  for (const identity of database) {
    if (!candidates.some((candidate) => candidate.id === identity.user_id)) candidates.push({ id: identity.user_id, connection: identity.connection })
  }
  if (candidates.length > 0) return candidates
  return userId === undefined && identities.length === 0 && (rootProvider === undefined || rootProvider === 'auth0') ? [] : undefined
}

interface DatabaseIdentity {
  readonly provider: 'auth0'
  readonly user_id: string
  readonly connection: string | undefined
}

function isDatabaseIdentity(entry: unknown): entry is DatabaseIdentity {
  if (entry === null || typeof entry !== 'object') return false
  const identity = entry as Record<string, unknown>
  return identity['provider'] === 'auth0' && typeof identity['user_id'] === 'string' && (identity['connection'] === undefined || typeof identity['connection'] === 'string')
}
