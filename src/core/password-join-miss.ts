/**
 * Set on an Auth0 profile by the password-hash join when a database user got no hash from the
 * export: `none` (no line for it) or `ambiguous` (several lines, nothing to tell them apart). The
 * mapping turns it into a warning on the user's report line, so the users imported without their
 * password (which cannot be added later) can be named, not only counted. A symbol: it is no
 * field of the profile, and never reaches a record or a dead letter.
 */
export const passwordJoinMiss: unique symbol = Symbol('passwordJoinMiss')

export type PasswordJoinMiss = 'none' | 'ambiguous'

/** The warning the mapping gives a user the join found no single hash line for. */
export function joinMissWarning(miss: PasswordJoinMiss): string {
  return miss === 'none'
    ? 'no password: the password-hash export has no line for this database user, so it is imported without one, which cannot be added later'
    : 'no password: several lines of the password-hash export match this database user (its id in two connections, or an email two lines share) and none is taken, so it is imported without one'
}
