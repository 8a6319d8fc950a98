/**
 * Set on an Auth0 profile by the password-hash join when a database user got no hash from the
 * export: `none` (no line for it), `unreadable` (none among the lines read, and some could not be
 * read) or `ambiguous` (several lines, nothing to tell them apart). The
 * mapping turns it into a warning on the user's report line, so the users imported without their
 * password (which cannot be added later) can be named, not only counted. A symbol: it is no
 * field of the profile, and never reaches a record or a dead letter.
 */
export const passwordJoinMiss: unique symbol = Symbol('passwordJoinMiss')

/** `unreadable`: no line for it among those read, and some lines of the export could not be read. */
export type PasswordJoinMiss = 'none' | 'unreadable' | 'ambiguous'

/** The warning the mapping gives a user the join found no single hash line for. */
export function joinMissWarning(miss: PasswordJoinMiss): string {
  if (miss === 'none') return 'no password: the password-hash export has no line for this database user, so it is imported without one, which cannot be added later'
  if (miss === 'unreadable') return 'no password: no readable line of the password-hash export is for this database user, and some of its lines could not be read (the run\'s warning names them): its line may be one of those; it is imported without one, which cannot be added later'
  return 'no password: several lines of the password-hash export match this database user (its id in two connections, or an email two lines share) and none is taken, so it is imported without one'
}
