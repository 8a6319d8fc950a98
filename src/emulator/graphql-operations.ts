import { normalizeEmail, normalizePhone } from '../../mappings/normalize.ts'
import { ownValue } from '../core/own-property.ts'
import { apiError } from './api-error.ts'
import { accountStateName, accountVariant } from './account-state.ts'
import type { GraphqlContext } from './graphql-context.ts'
import { GraphqlApiError } from './graphql-errors.ts'
import { decodeNodeId, userIdOf } from './graphql-node-id.ts'
import type { FieldDef, NamedType } from './graphql-types.ts'
import { LoginIdKeys, normalizeLoginId, type LoginIdField, type LoginIdKey } from './login-id.ts'
import type { StoredUser } from './user-store.ts'

/** Authgear's default `deletion_grace_period_days`. */
const DeletionGracePeriodDays = 30
const attributeKeys: Readonly<Record<string, LoginIdKey>> = { email: 'email', phone_number: 'phone', preferred_username: 'username' }
const loginAttributes = new Set(['email', 'email_verified', 'phone_number', 'phone_number_verified', 'preferred_username', 'updated_at'])

const userNotFound = () => new GraphqlApiError(apiError('NotFound', 'UserNotFound', 'user not found'))
const transition = (message: string) => new GraphqlApiError(apiError('Invalid', 'InvalidAccountStatusTransition', message))

/**
 * A lookup value as Authgear normalizes it before matching (`pkg/lib/facade/coordinator.go`):
 * phones to E.164 (`+852 9876 5432` finds `+85298765432`), emails and usernames case-folded. A value
 * that does not normalize is an argument error, not an empty answer.
 */
function lookupValue(key: LoginIdKey, raw: string): string {
  const invalid = () => new GraphqlApiError(apiError('Invalid', 'GetUsersInvalidArgument', 'invalid attributeValue'))
  if (key === 'phone') {
    const phone = normalizePhone(raw)
    if (!phone.ok) throw invalid()
    return phone.value
  }
  if (key === 'email') {
    const email = normalizeEmail(raw)
    if (!email.ok) throw invalid()
    return email.value
  }
  return normalizeLoginId(key, raw.trim())
}

function loadUser(ctx: GraphqlContext, nodeId: string): StoredUser {
  const user = ctx.store.get(userIdOf(nodeId))
  if (user === undefined) throw userNotFound()
  return user
}

/** `node(id)` semantics: a User node or null (unknown type, undecodable ID or no such user). */
function resolveNode(ctx: GraphqlContext, id: string): StoredUser | null {
  const decoded = decodeNodeId(id)
  return decoded?.type === 'User' ? (ctx.store.get(decoded.id) ?? null) : null
}

function setDisabled(ctx: GraphqlContext, user: StoredUser, input: Record<string, any>): void {
  const from: string | null = input.temporarilyDisabledFrom ?? null
  const until: string | null = input.temporarilyDisabledUntil ?? null
  const variant = accountVariant(user, Date.parse(ctx.now()))
  if (!input.isDisabled) {
    if (variant !== 'disabled' && variant !== 'disabled_temporarily') throw transition(`invalid account status transition: ${accountStateName(user, Date.parse(ctx.now()))} -> normal`)
    ctx.tx.touch(user)
    user.status = 'normal'
    delete user.disableReason
    delete user.temporarilyDisabledFrom
    delete user.temporarilyDisabledUntil
  } else {
    if (from !== null && until === null) throw transition('temporarily disabled period is missing the end timestamp')
    if (until !== null && from === null) throw transition('temporarily disabled period is missing the start timestamp')
    if (from !== null && until !== null && !(Date.parse(from) < Date.parse(until))) {
      throw transition('the start timestamp of temporarily disabled period must be less than the end timestamp of temporarily disabled period')
    }
    // Normal and temporarily disabled users may be disabled; a new window may replace an
    // indefinite disable too. Anything else is a transition error.
    const allowed = variant === 'normal' || variant === 'disabled_temporarily' || (from !== null && variant === 'disabled')
    if (!allowed) throw transition(`invalid account status transition: ${accountStateName(user, Date.parse(ctx.now()))} -> ${from === null ? 'disabled' : 'disabled_temporarily'}`)
    ctx.tx.touch(user)
    user.status = 'disabled'
    if (typeof input.reason === 'string') user.disableReason = input.reason
    else delete user.disableReason
    if (from !== null && until !== null) Object.assign(user, { temporarilyDisabledFrom: from, temporarilyDisabledUntil: until })
    else {
      delete user.temporarilyDisabledFrom
      delete user.temporarilyDisabledUntil
    }
  }
  user.updatedAt = ctx.now()
}

const userPayload = (name: string): NamedType => ({
  kind: 'object',
  name,
  fields: { user: { type: 'User!', resolve: (p: { user: StoredUser }) => p.user } },
})

const mutation = (input: string, resolve: FieldDef['resolve'], type: string): FieldDef => ({ type, args: { input: `${input}!` }, resolve })

export const queryType: NamedType = {
  kind: 'object',
  name: 'Query',
  fields: {
    node: { type: 'Node', args: { id: 'ID!' }, resolve: (_s, args, ctx) => resolveNode(ctx, args.id) },
    nodes: { type: '[Node]!', args: { ids: '[ID!]!' }, resolve: (_s, args, ctx) => (args.ids as string[]).map((id) => resolveNode(ctx, id)) },
    getUsersByStandardAttribute: {
      type: '[User!]!',
      args: { attributeName: 'String!', attributeValue: 'String!' },
      resolve: (_s, args, ctx) => {
        const key = ownValue(attributeKeys, String(args.attributeName))
        if (key === undefined) {
          throw new GraphqlApiError(
            apiError('Invalid', 'GetUsersInvalidArgument', 'attributeName must be email, phone_number or preferred_username'),
          )
        }
        const value = lookupValue(key, args.attributeValue)
        const users = ctx.store.holders(args.attributeName as LoginIdField, value).map((h) => h.user)
        return [...new Set(users)]
      },
    },
    getUserByLoginID: {
      type: 'User',
      args: { loginIDKey: 'String!', loginIDValue: 'String!' },
      resolve: (_s, args, ctx) => {
        const key = args.loginIDKey as LoginIdKey
        if (!LoginIdKeys.includes(key) || !ctx.loginIdKeys.has(key)) throw new GraphqlApiError(apiError('Invalid', 'GetUsersInvalidArgument', 'invalid Login ID key'))
        return ctx.store.findByLoginId(key, args.loginIDValue) ?? null
      },
    },
    getUserByOAuth: {
      type: 'User',
      args: { oauthProviderAlias: 'String!', oauthProviderUserID: 'String!' },
      resolve: (_s, args, ctx) => {
        for (const user of ctx.store.list()) {
          if (user.oauth?.some((o) => o.providerAlias === args.oauthProviderAlias && o.subjectId === args.oauthProviderUserID)) return user
        }
        return null
      },
    },
  },
}

export const mutationType: NamedType = {
  kind: 'object',
  name: 'Mutation',
  fields: {
    deleteUser: mutation(
      'DeleteUserInput',
      (_s, { input }, ctx) => {
        ctx.tx.delete(loadUser(ctx, input.userID))
        return { deletedUserID: input.userID }
      },
      'DeleteUserPayload!',
    ),
    setDisabledStatus: mutation(
      'SetDisabledStatusInput',
      (_s, { input }, ctx) => {
        const user = loadUser(ctx, input.userID)
        setDisabled(ctx, user, input)
        return { user }
      },
      'SetDisabledStatusPayload!',
    ),
    scheduleAccountDeletion: mutation(
      'ScheduleAccountDeletionInput',
      (_s, { input }, ctx) => {
        const user = loadUser(ctx, input.userID)
        if (user.status === 'scheduled_deletion_disabled' || user.status === 'anonymized') {
          throw transition(`invalid account status transition: ${accountStateName(user)} -> scheduled_deletion_disabled`)
        }
        ctx.tx.touch(user)
        user.status = 'scheduled_deletion_disabled'
        user.deleteAt = new Date(Date.parse(ctx.now()) + DeletionGracePeriodDays * 86_400_000).toISOString()
        user.updatedAt = ctx.now()
        return { user }
      },
      'ScheduleAccountDeletionPayload!',
    ),
    unscheduleAccountDeletion: mutation(
      'UnscheduleAccountDeletionInput',
      (_s, { input }, ctx) => {
        const user = loadUser(ctx, input.userID)
        if (user.status !== 'scheduled_deletion_disabled') throw transition(`invalid account status transition: ${accountStateName(user)} -> normal`)
        ctx.tx.touch(user)
        user.status = 'normal'
        delete user.deleteAt
        delete user.disableReason
        user.updatedAt = ctx.now()
        return { user }
      },
      'UnscheduleAccountDeletionPayload!',
    ),
    updateUser: mutation(
      'UpdateUserInput',
      (_s, { input }, ctx) => {
        const user = loadUser(ctx, input.userID)
        ctx.tx.touch(user)
        // Whole objects replace the old ones; login claims stay owned by the identities.
        if (input.standardAttributes != null) {
          user.standard = Object.fromEntries(Object.entries(input.standardAttributes).filter(([k]) => !loginAttributes.has(k)))
        }
        if (input.customAttributes != null) user.custom = { ...input.customAttributes }
        user.updatedAt = ctx.now()
        return { user }
      },
      'UpdateUserPayload!',
    ),
  },
}

/** Inputs and payloads of the mutations above. */
export const operationTypes: readonly NamedType[] = [
  queryType,
  mutationType,
  { kind: 'input', name: 'DeleteUserInput', fields: { userID: 'ID!', reason: 'String' } },
  { kind: 'object', name: 'DeleteUserPayload', fields: { deletedUserID: { type: 'ID!', resolve: (p) => p.deletedUserID } } },
  {
    kind: 'input',
    name: 'SetDisabledStatusInput',
    fields: { userID: 'ID!', isDisabled: 'Boolean!', reason: 'String', temporarilyDisabledFrom: 'DateTime', temporarilyDisabledUntil: 'DateTime' },
  },
  userPayload('SetDisabledStatusPayload'),
  { kind: 'input', name: 'ScheduleAccountDeletionInput', fields: { userID: 'ID!', reason: 'String' } },
  userPayload('ScheduleAccountDeletionPayload'),
  { kind: 'input', name: 'UnscheduleAccountDeletionInput', fields: { userID: 'ID!' } },
  userPayload('UnscheduleAccountDeletionPayload'),
  { kind: 'input', name: 'UpdateUserInput', fields: { userID: 'ID!', standardAttributes: 'UserStandardAttributes', customAttributes: 'UserCustomAttributes' } },
  userPayload('UpdateUserPayload'),
]

