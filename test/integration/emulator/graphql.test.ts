import { afterEach, describe, expect, it } from 'vitest'
import { encodeUserNodeId } from '../../../src/emulator/graphql-node-id.ts'
import { startHarness, type Harness } from './harness.ts'

let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

async function gql(query: string, variables: Record<string, unknown> = {}, path = '/_api/admin/graphql') {
  const res = await h!.call('POST', path, { body: JSON.stringify({ query, variables }) })
  return res
}

async function importEmails(...emails: string[]): Promise<string[]> {
  const post = await h!.importUsers({ identifier: 'email', records: emails.map((email) => ({ email, email_verified: true })) })
  const done = await h!.waitForJob(post.json.result.id)
  return done.details.map((d: { user_id: string }) => d.user_id)
}

const lookup = `query($v: String!) { getUsersByStandardAttribute(attributeName: "email", attributeValue: $v) { id isDisabled standardAttributes } }`

describe('Admin API GraphQL', () => {
  it('finds users by a normalized standard attribute and by login ID', async () => {
    h = await startHarness()
    const [id] = await importEmails('alice@example.com')
    const res = await gql(lookup, { v: 'ALICE@Example.com' })
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.json).toEqual({
      data: { getUsersByStandardAttribute: [{ id: encodeUserNodeId(id!), isDisabled: false, standardAttributes: expect.objectContaining({ email: 'alice@example.com', email_verified: true }) }] },
    })
    const byLogin = await gql(`{ a: getUserByLoginID(loginIDKey: "email", loginIDValue: "Alice@example.com") { id } b: getUserByLoginID(loginIDKey: "email", loginIDValue: "nobody@example.com") { id } }`)
    expect(byLogin.json.data).toEqual({ a: { id: encodeUserNodeId(id!) }, b: null })
    const node = await gql(`query($id: ID!) { node(id: $id) { __typename ... on User { createdAt roles { totalCount } identities { edges { node { type claims } } } } } }`, { id: encodeUserNodeId(id!) })
    expect(node.json.data.node.__typename).toBe('User')
    // graphql-go writes a time with MarshalText: RFC 3339 in UTC, no trailing zeros in the fraction.
    expect(node.json.data.node.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d*[1-9])?Z$/)
    expect(node.json.data.node.identities.edges[0].node).toMatchObject({ type: 'LOGIN_ID', claims: { email: 'alice@example.com' } })
  })

  it('rejects a bad attribute name and unknown fields', async () => {
    h = await startHarness()
    const bad = await gql(`{ getUsersByStandardAttribute(attributeName: "name", attributeValue: "x") { id } }`)
    expect(bad.json.data).toBeNull()
    expect(bad.json.errors[0].extensions).toEqual({ errorName: 'Invalid', reason: 'GetUsersInvalidArgument' })
    // A value that does not normalize, and a login ID key the project does not have, are argument errors.
    // (The list field is non-null, so its error nulls `data`; the nullable one only nulls itself.)
    for (const [query, data] of [
      [`{ getUsersByStandardAttribute(attributeName: "phone_number", attributeValue: "not-a-phone") { id } }`, null],
      [`{ getUsersByStandardAttribute(attributeName: "email", attributeValue: "no at sign") { id } }`, null],
      [`{ getUserByLoginID(loginIDKey: "nope", loginIDValue: "x") { id } }`, { getUserByLoginID: null }],
    ] as const) {
      const refused = await gql(query)
      expect(refused.json.data, query).toEqual(data)
      expect(refused.json.errors[0].extensions, query).toEqual({ errorName: 'Invalid', reason: 'GetUsersInvalidArgument' })
    }
    const unknown = await gql(`{ getUserByLoginID(loginIDKey: "email", loginIDValue: "a@b.c") { id nonsense } }`)
    expect(unknown.json).toEqual({ data: null, errors: [{ message: 'Cannot query field "nonsense" on type "User".', locations: [{ line: 1, column: 69 }] }] })
    // Names a plain object inherits are no fields, variables or attribute names either.
    const inherited = await gql(`{ constructor }`)
    expect(inherited.status).toBe(200)
    expect(inherited.json.errors[0].message).toBe('Cannot query field "constructor" on type "Query".')
    const attribute = await gql(`{ getUsersByStandardAttribute(attributeName: "constructor", attributeValue: "x") { id } }`)
    expect(attribute.json.errors[0].extensions).toEqual({ errorName: 'Invalid', reason: 'GetUsersInvalidArgument' })
    const unsent = await gql(`query($toString: String) { users: getUsersByStandardAttribute(attributeName: "email", attributeValue: $toString) { id } }`)
    expect(JSON.stringify(unsent.json)).not.toContain('native code')
  })

  it('normalizes a phone lookup to E.164 before matching, as Authgear does', async () => {
    h = await startHarness()
    const post = await h.importUsers({ identifier: 'phone_number', records: [{ phone_number: '+85298765432' }] })
    const [id] = (await h.waitForJob(post.json.result.id)).details.map((d: { user_id: string }) => d.user_id)
    const found = await gql(`{ getUsersByStandardAttribute(attributeName: "phone_number", attributeValue: " +852 9876 5432 ") { id } }`)
    expect(found.json.data.getUsersByStandardAttribute).toEqual([{ id: encodeUserNodeId(id!) }])
  })

  it('deletes a user immediately so its email can be imported again', async () => {
    h = await startHarness()
    const [id] = await importEmails('bob@example.com')
    const nodeId = encodeUserNodeId(id!)
    const del = await gql(`mutation($id: ID!) { deleteUser(input: {userID: $id, reason: "sync"}) { deletedUserID } }`, { id: nodeId })
    expect(del.json).toEqual({ data: { deleteUser: { deletedUserID: nodeId } } })
    expect(h.emulator.store.isDeleted(id!)).toBe(true)
    expect((await gql(lookup, { v: 'bob@example.com' })).json.data.getUsersByStandardAttribute).toEqual([])
    const [again] = await importEmails('bob@example.com')
    expect(again).not.toBe(id)
  })

  it('rolls back every mutation of a request when one fails', async () => {
    h = await startHarness()
    const [a, b] = await importEmails('a@example.com', 'b@example.com')
    const res = await gql(
      `mutation($a: ID!, $b: ID!) {
        d: setDisabledStatus(input: {userID: $a, isDisabled: true, reason: "left"}) { user { isDisabled disableReason } }
        x: deleteUser(input: {userID: $b}) { deletedUserID }
        bad: deleteUser(input: {userID: "not-an-id"}) { deletedUserID }
      }`,
      { a: encodeUserNodeId(a!), b: encodeUserNodeId(b!) },
    )
    expect(res.json.data).toBeNull()
    expect(res.json.errors).toEqual([
      { message: 'invalid user ID', locations: [{ line: 4, column: 9 }], path: ['bad'], extensions: { errorName: 'Invalid', reason: 'Invalid' } },
    ])
    expect(h.emulator.store.get(a!)?.status).toBe('normal')
    expect(h.emulator.store.get(b!)).toBeDefined()
    expect((await gql(lookup, { v: 'b@example.com' })).json.data.getUsersByStandardAttribute).toHaveLength(1)
  })

  it('disables with a reason, refuses half a temporary period, and re-enables', async () => {
    h = await startHarness()
    const [id] = await importEmails('c@example.com')
    const set = `mutation($in: SetDisabledStatusInput!) { setDisabledStatus(input: $in) { user { isDisabled disableReason } } }`
    const userID = encodeUserNodeId(id!)
    expect((await gql(set, { in: { userID, isDisabled: true, reason: 'gone' } })).json.data.setDisabledStatus.user).toEqual({ isDisabled: true, disableReason: 'gone' })
    const again = await gql(set, { in: { userID, isDisabled: true } })
    expect(again.json.errors[0]).toMatchObject({ message: 'invalid account status transition: disabled -> disabled', extensions: { reason: 'InvalidAccountStatusTransition' } })
    expect((await gql(set, { in: { userID, isDisabled: false } })).json.data.setDisabledStatus.user).toEqual({ isDisabled: false, disableReason: null })
    const half = await gql(set, { in: { userID, isDisabled: true, temporarilyDisabledFrom: '2030-01-01T00:00:00Z' } })
    expect(half.json.errors[0].message).toBe('temporarily disabled period is missing the end timestamp')
  })

  it('serves /graphql and GET, keeps 403 for bad tokens, and limits mutation fields', async () => {
    h = await startHarness()
    expect((await gql(`{ nodes(ids: ["x"]) { id } }`, {}, '/graphql')).json).toEqual({ data: { nodes: [null] } })
    const get = await h.call('GET', `/_api/admin/graphql?query=${encodeURIComponent('{ node(id: "eA") { id } }')}`)
    expect(get.json).toEqual({ data: { node: null } })
    const denied = await h.call('POST', '/_api/admin/graphql', { body: '{}', authorization: 'Bearer nope' })
    expect([denied.status, denied.text]).toEqual([403, 'Forbidden\n'])
    const six = Array.from({ length: 6 }, (_, i) => `m${i}: deleteUser(input: {userID: "x"}) { deletedUserID }`).join(' ')
    const many = await gql(`mutation { ${six} }`)
    expect(many.status).toBe(400)
    expect(many.json.error.message).toBe('too many mutation fields in one request: got 6, limit is 5')
    const syntax = await gql('{ oops')
    expect(syntax.status).toBe(500)
  })
})
