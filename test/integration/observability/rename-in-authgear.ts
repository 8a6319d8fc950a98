import { AdminGraphqlClient } from '../../../connectors/authgear/graphql-client.ts'
import { userNodeId } from '../../../connectors/authgear/graphql-node-id.ts'
import { AdminTokenSigner } from '../../../connectors/authgear/token.ts'
import type { StoredUser } from '../../../src/emulator/user-store.ts'
import type { TestEmulator } from '../../support/emulator-harness.ts'

/**
 * Changes a user's `name` through the Admin API GraphQL `updateUser` mutation, as an operator
 * editing the user in the portal would; the other standard attributes are kept.
 */
export async function renameInAuthgear(target: TestEmulator, user: StoredUser, name: string): Promise<void> {
  const tokens = new AdminTokenSigner({ projectId: target.emulator.projectId, keyId: target.keyId, privateKeyPem: target.privateKeyPem })
  const client = new AdminGraphqlClient({ endpoint: target.emulator.url, tokens, timeoutMs: 10_000, retry: { maxAttempts: 8, baseMs: 20, maxMs: 500 } })
  try {
    const query = 'mutation ($input: UpdateUserInput!) { updateUser(input: $input) { user { id } } }'
    await client.request('updateUser', query, { input: { userID: userNodeId(user.id), standardAttributes: { ...user.standard, name } } })
  } finally {
    await client.close()
  }
}
