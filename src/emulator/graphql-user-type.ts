import { isDisabledNow } from './account-state.ts'
import { encodeNodeId, encodeUserNodeId } from './graphql-node-id.ts'
import type { FieldDef, InterfaceType, NamedType, ObjectType } from './graphql-types.ts'
import { LoginIdFields, LoginIdKeys } from './login-id.ts'
import type { StoredOAuthIdentity, StoredUser } from './user-store.ts'

/** An identity as the Identity type sees it. */
export interface IdentityView {
  readonly user: StoredUser
  readonly type: 'LOGIN_ID' | 'OAUTH'
  readonly key: string
  readonly claims: Record<string, unknown>
}

const connectionArgs = { first: 'Int', after: 'String', last: 'Int', before: 'String' } as const

/** A whole-list connection: cursors are offsets; `first`/`after` page forward. */
export function connection(items: readonly unknown[], args: Record<string, any>): unknown {
  const after = typeof args.after === 'string' ? Number(Buffer.from(args.after, 'base64url').toString().replace(/^offset:/, '')) : -1
  const start = Number.isInteger(after) ? after + 1 : 0
  const end = typeof args.first === 'number' ? Math.min(items.length, start + Math.max(0, args.first)) : items.length
  const edges = items.slice(start, end).map((node, i) => ({ cursor: Buffer.from(`offset:${start + i}`).toString('base64url'), node }))
  return {
    edges,
    totalCount: items.length,
    pageInfo: {
      hasNextPage: end < items.length,
      hasPreviousPage: start > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  }
}

/** The user's identities: login IDs (email, phone, username) then OAuth identities. */
export function identitiesOf(user: StoredUser): IdentityView[] {
  const out: IdentityView[] = []
  for (const key of LoginIdKeys) {
    const login = user[key]
    if (login === undefined) continue
    out.push({
      user,
      type: 'LOGIN_ID',
      key,
      claims: {
        [LoginIdFields[key]]: login.value,
        'https://authgear.com/claims/login_id/key': key,
        'https://authgear.com/claims/login_id/original_value': login.original ?? login.value,
        'https://authgear.com/claims/login_id/type': key,
        'https://authgear.com/claims/login_id/value': login.value,
      },
    })
  }
  for (const oauth of user.oauth ?? []) out.push(oauthView(user, oauth))
  return out
}

function oauthView(user: StoredUser, oauth: StoredOAuthIdentity): IdentityView {
  return {
    user,
    type: 'OAUTH',
    key: `${oauth.providerAlias}:${oauth.subjectId}`,
    claims: {
      ...oauth.claims,
      'https://authgear.com/claims/oauth/provider_alias': oauth.providerAlias,
      'https://authgear.com/claims/oauth/provider_type': oauth.providerType,
      'https://authgear.com/claims/oauth/subject_id': oauth.subjectId,
    },
  }
}

/** Standard attributes as the Admin API shows them: login claims, verification, profile and `updated_at`. */
export function standardAttributesOf(user: StoredUser): Record<string, unknown> {
  const attrs: Record<string, unknown> = { ...user.standard }
  if (user.email !== undefined) Object.assign(attrs, { email: user.email.value, email_verified: user.email.verified })
  if (user.phone !== undefined) Object.assign(attrs, { phone_number: user.phone.value, phone_number_verified: user.phone.verified })
  if (user.username !== undefined) attrs.preferred_username = user.username.value
  attrs.updated_at = Math.floor(Date.parse(user.updatedAt) / 1000)
  return attrs
}

const value =
  (get: (user: StoredUser) => unknown, type: string): FieldDef => ({ type, resolve: (user: StoredUser) => get(user) ?? null })

const entityFields = {
  id: { type: 'ID!', resolve: () => null } as FieldDef,
  createdAt: { type: 'DateTime!', resolve: () => null } as FieldDef,
  updatedAt: { type: 'DateTime!', resolve: () => null } as FieldDef,
}

const keyedNode = (name: 'Role' | 'Group'): ObjectType => ({
  kind: 'object',
  name,
  interfaces: ['Node', 'Entity'],
  fields: {
    id: { type: 'ID!', resolve: (key: string) => encodeNodeId(name, key) },
    key: { type: 'String!', resolve: (key: string) => key },
    name: { type: 'String', resolve: () => null },
    description: { type: 'String', resolve: () => null },
    createdAt: { type: 'DateTime!', resolve: () => new Date(0).toISOString() },
    updatedAt: { type: 'DateTime!', resolve: () => new Date(0).toISOString() },
  },
})

const connectionTypes = (node: string): ObjectType[] => [
  {
    kind: 'object',
    name: `${node}Connection`,
    fields: {
      edges: { type: `[${node}Edge]`, resolve: (c) => c.edges },
      pageInfo: { type: 'PageInfo!', resolve: (c) => c.pageInfo },
      totalCount: { type: 'Int', resolve: (c) => c.totalCount },
    },
  },
  {
    kind: 'object',
    name: `${node}Edge`,
    fields: { cursor: { type: 'String!', resolve: (e) => e.cursor }, node: { type: node, resolve: (e) => e.node } },
  },
]

/** User, Identity, Role, Group, their connections and the Node/Entity interfaces. */
export const userTypes: readonly NamedType[] = [
  {
    kind: 'object',
    name: 'User',
    interfaces: ['Node', 'Entity'],
    fields: {
      id: { type: 'ID!', resolve: (u: StoredUser) => encodeUserNodeId(u.id) },
      createdAt: value((u) => u.createdAt, 'DateTime!'),
      updatedAt: value((u) => u.updatedAt, 'DateTime!'),
      lastLoginAt: value(() => null, 'DateTime'),
      isAnonymous: value(() => false, 'Boolean!'),
      isDisabled: value((u) => isDisabledNow(u), 'Boolean!'),
      disableReason: value((u) => (u.status === 'disabled' ? u.disableReason : undefined), 'String'),
      isDeactivated: value(() => false, 'Boolean!'),
      isAnonymized: value((u) => u.status === 'anonymized', 'Boolean!'),
      deleteAt: value((u) => u.deleteAt, 'DateTime'),
      anonymizeAt: value(() => null, 'DateTime'),
      accountValidFrom: value((u) => u.accountValidFrom, 'DateTime'),
      accountValidUntil: value((u) => u.accountValidUntil, 'DateTime'),
      temporarilyDisabledFrom: value((u) => u.temporarilyDisabledFrom, 'DateTime'),
      temporarilyDisabledUntil: value((u) => u.temporarilyDisabledUntil, 'DateTime'),
      standardAttributes: value(standardAttributesOf, 'UserStandardAttributes!'),
      customAttributes: value((u) => u.custom ?? {}, 'UserCustomAttributes!'),
      formattedName: value((u) => u.standard?.name, 'String'),
      endUserAccountID: value((u) => u.email?.value ?? u.username?.value ?? u.phone?.value, 'String'),
      verifiedClaims: value(
        (u) => [
          ...(u.email?.verified === true ? [{ name: 'email', value: u.email.value }] : []),
          ...(u.phone?.verified === true ? [{ name: 'phone_number', value: u.phone.value }] : []),
        ],
        '[Claim!]!',
      ),
      identities: {
        type: 'IdentityConnection',
        args: { ...connectionArgs, identityType: 'IdentityType' },
        resolve: (u: StoredUser, args) => connection(identitiesOf(u).filter((i) => args.identityType == null || i.type === args.identityType), args),
      },
      loginIDs: value((u) => identitiesOf(u).filter((i) => i.type === 'LOGIN_ID'), '[Identity!]!'),
      oauthConnections: value((u) => identitiesOf(u).filter((i) => i.type === 'OAUTH'), '[Identity!]!'),
      roles: { type: 'RoleConnection', args: connectionArgs, resolve: (u: StoredUser, args) => connection(u.roles ?? [], args) },
      groups: { type: 'GroupConnection', args: connectionArgs, resolve: (u: StoredUser, args) => connection(u.groups ?? [], args) },
    },
  },
  {
    kind: 'object',
    name: 'Identity',
    interfaces: ['Node', 'Entity'],
    fields: {
      id: { type: 'ID!', resolve: (i: IdentityView) => encodeNodeId('Identity', `${i.user.id}:${i.key}`) },
      type: { type: 'IdentityType!', resolve: (i: IdentityView) => i.type },
      claims: {
        type: 'IdentityClaims!',
        args: { names: '[String!]' },
        resolve: (i: IdentityView, args) =>
          Array.isArray(args.names) ? Object.fromEntries(Object.entries(i.claims).filter(([k]) => args.names.includes(k))) : i.claims,
      },
      createdAt: { type: 'DateTime!', resolve: (i: IdentityView) => i.user.createdAt },
      updatedAt: { type: 'DateTime!', resolve: (i: IdentityView) => i.user.updatedAt },
    },
  },
  { kind: 'enum', name: 'IdentityType', values: ['ANONYMOUS', 'BIOMETRIC', 'LOGIN_ID', 'OAUTH', 'PASSKEY', 'SIWE', 'LDAP'] },
  {
    kind: 'object',
    name: 'Claim',
    fields: { name: { type: 'String!', resolve: (c) => c.name }, value: { type: 'String!', resolve: (c) => c.value } },
  },
  keyedNode('Role'),
  keyedNode('Group'),
  ...connectionTypes('Identity'),
  ...connectionTypes('Role'),
  ...connectionTypes('Group'),
  {
    kind: 'object',
    name: 'PageInfo',
    fields: Object.fromEntries(
      (['hasNextPage:Boolean!', 'hasPreviousPage:Boolean!', 'startCursor:String', 'endCursor:String'] as const).map((f) => {
        const [name, type] = f.split(':') as [string, string]
        return [name, { type, resolve: (p: Record<string, unknown>) => p[name] }]
      }),
    ),
  },
  { kind: 'interface', name: 'Node', fields: { id: entityFields.id }, resolveType: nodeTypeOf } satisfies InterfaceType,
  { kind: 'interface', name: 'Entity', fields: entityFields, resolveType: nodeTypeOf } satisfies InterfaceType,
]

function nodeTypeOf(value: unknown): string {
  if (typeof value === 'string') return 'Role'
  return value !== null && typeof value === 'object' && 'claims' in value ? 'Identity' : 'User'
}
