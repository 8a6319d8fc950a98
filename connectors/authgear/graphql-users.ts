import type { AdminGraphqlClient } from './graphql-client.ts'

/** The fields of a `User` the delete path reads. `id` is the global node id. */
export interface GraphqlUser {
  readonly id: string
  readonly isDisabled: boolean
  /** Set while a disable is temporary: the user comes back by itself when it ends. */
  readonly temporarilyDisabledUntil?: string | null
  /** The reason given when it was disabled (`deletes.reason` for a user a delete disabled). */
  readonly disableReason?: string | null
  /** Its standard attributes, the login IDs (`email`, `phone_number`, `preferred_username`) among them. */
  readonly standardAttributes?: Record<string, unknown> | null
}

/** The user's login ID of this type as its standard attributes give it, lower-cased (as Authgear folds emails and usernames); undefined when it has none. */
export function heldLogin(user: GraphqlUser, type: StandardLoginAttribute): string | undefined {
  const held = user.standardAttributes?.[type]
  return typeof held === 'string' && held !== '' ? held.toLowerCase() : undefined
}

/** Attribute names `getUsersByStandardAttribute` accepts. */
export type StandardLoginAttribute = 'email' | 'phone_number' | 'preferred_username'

const LOOKUP = `query gearbridgeLookup($name: String!, $value: String!) {
  getUsersByStandardAttribute(attributeName: $name, attributeValue: $value) { id isDisabled temporarilyDisabledUntil disableReason standardAttributes }
}`
const SET_DISABLED = `mutation gearbridgeSetDisabled($input: SetDisabledStatusInput!) {
  setDisabledStatus(input: $input) { user { id isDisabled } }
}`
const DELETE = `mutation gearbridgeDelete($input: DeleteUserInput!) {
  deleteUser(input: $input) { deletedUserID }
}`

/** Users whose login ID (or OAuth/LDAP claim) of this type equals `value` after Authgear normalizes it. */
export async function usersByStandardAttribute(client: AdminGraphqlClient, name: StandardLoginAttribute, value: string, signal?: AbortSignal): Promise<GraphqlUser[]> {
  const data = await client.request<{ getUsersByStandardAttribute: GraphqlUser[] }>('getUsersByStandardAttribute', LOOKUP, { name, value }, signal)
  return data.getUsersByStandardAttribute
}

/** Disables (indefinitely) or re-enables a user by node id. */
export async function setDisabledStatus(client: AdminGraphqlClient, userId: string, isDisabled: boolean, reason: string | undefined, signal?: AbortSignal): Promise<GraphqlUser> {
  const input = { userID: userId, isDisabled, ...(isDisabled && reason ? { reason } : {}) }
  const data = await client.request<{ setDisabledStatus: { user: GraphqlUser } }>('setDisabledStatus', SET_DISABLED, { input }, signal)
  return data.setDisabledStatus.user
}

/** Deletes a user at once (identities removed, identifiers freed). Resolves with the deleted node id. */
export async function deleteUser(client: AdminGraphqlClient, userId: string, reason: string | undefined, signal?: AbortSignal): Promise<string> {
  const input = { userID: userId, ...(reason ? { reason } : {}) }
  const data = await client.request<{ deleteUser: { deletedUserID: string } }>('deleteUser', DELETE, { input }, signal)
  return data.deleteUser.deletedUserID
}
