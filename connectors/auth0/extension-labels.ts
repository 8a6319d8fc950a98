/**
 * The Import/Export extension's "Add Default Fields" labels (its `export_as`), by the profile
 * field each one exports. An extension export keyed by them has no `user_id` or `email` a reader
 * of bulk exports knows, so every user would be dead-lettered as having no identifier.
 */
const labels: readonly (readonly [label: string, field: string])[] = [
  ['Id', 'user_id'],
  ['Given Name', 'given_name'],
  ['Family Name', 'family_name'],
  ['Nickname', 'nickname'],
  ['Name', 'name'],
  ['Email', 'email'],
  ['Email Verified', 'email_verified'],
  ['Picture', 'picture'],
  ['Created At', 'created_at'],
  ['Updated At', 'updated_at'],
]

/**
 * The profile with the extension's labels renamed to the fields they stand for (`Connection` to
 * `identities[0].connection`), in place. A field already present keeps its value. Only a profile
 * without `user_id` is looked at, so a bulk export pays one property check per user.
 */
export function withProfileFields(profile: Record<string, unknown>): Record<string, unknown> {
  if ('user_id' in profile) return profile
  for (const [label, field] of labels) {
    if (!(label in profile)) continue
    if (!(field in profile)) profile[field] = profile[label]
    delete profile[label]
  }
  if ('Connection' in profile) {
    const connection = profile['Connection']
    delete profile['Connection']
    if (!('identities' in profile) && typeof connection === 'string' && connection !== '') {
      // A database connection is provider auth0; the join needs the provider to trust the id.
      const userId = profile['user_id']
      const provider = typeof userId === 'string' && userId.includes('|') ? userId.slice(0, userId.indexOf('|')) : undefined
      const bare = typeof userId === 'string' && userId.includes('|') ? userId.slice(userId.indexOf('|') + 1) : userId
      profile['identities'] = [{ connection, ...(provider !== undefined ? { provider, user_id: bare } : {}) }]
    }
  }
  return profile
}
