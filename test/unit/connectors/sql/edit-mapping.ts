/** A user mapping module as an operator would write it: usernames get a prefix, and test accounts are rejected. */
export default function map(row: Readonly<Record<string, unknown>>, draft: Record<string, unknown>): Record<string, unknown> | null {
  if (row['email'] === 'test@example.com') return null
  return { ...draft, preferred_username: `legacy_${String(row['login'])}`, custom_attributes: { legacy_id: row['id'] } }
}
