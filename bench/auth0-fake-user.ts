/** Deterministic pseudo-random numbers (mulberry32), so a seed always gives the same dataset. */
export function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const hex = '0123456789abcdef'
const bcryptAlphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const givenNames = ['Ana', 'Bo', 'Chen', 'Dara', 'Émile', 'Farah', 'Gus', 'Hana', 'Ivo', 'José', 'Kai', 'Lena']
const familyNames = ['Ng', 'Okafor', 'Petrov', 'Quinn', 'Rossi', 'Sato', 'Tanaka', 'Urban', 'Vega', 'Weiß']
const locales = ['en', 'en_US', 'fr', 'de-DE', 'pt_BR', 'ja', 'not a locale', '']
const plans = ['free', 'pro', 'team', 'enterprise']
const database = 'Username-Password-Authentication'

/** One generated user: the export line, and the hash-export line when it has a password. */
export interface FakeUser {
  readonly profile: Record<string, unknown>
  readonly hash: Record<string, unknown> | undefined
}

/** Kinds of users, with their share of the dataset; the order matters to `pickKind`. */
const kinds = [
  ['database', 0.55],
  ['database_id_upper', 0.05],
  ['database_alt_id', 0.04],
  ['database_email_only', 0.03],
  ['database_no_hash', 0.03],
  ['username', 0.08],
  ['google', 0.12],
  ['sms', 0.07],
  ['linked', 0.03],
] as const

type Kind = (typeof kinds)[number][0]

function pickKind(r: number): Kind {
  let acc = 0
  for (const [kind, share] of kinds) {
    acc += share
    if (r < acc) return kind
  }
  return 'database'
}

export function randomHex(rand: () => number, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += hex[Math.floor(rand() * 16)]
  return out
}

/** A syntactically valid bcrypt string: `$2b$10$` + 53 characters of bcrypt's base64. */
export function randomBcrypt(rand: () => number): string {
  let out = '$2b$10$'
  for (let i = 0; i < 53; i++) out += bcryptAlphabet[Math.floor(rand() * 64)]
  return out
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T
}

/** Builds user number `n` (0-based) of a dataset; `rand` is the dataset's shared generator. */
export function fakeUser(n: number, rand: () => number, tenant = 'acme-prod'): FakeUser {
  const kind = pickKind(rand())
  const given = pick(rand, givenNames)
  const family = pick(rand, familyNames)
  const created = new Date(Date.UTC(2019, 0, 1) + n * 61_000 + Math.floor(rand() * 60_000)).toISOString()
  const lastLogin = new Date(Date.parse(created) + Math.floor(rand() * 9e10)).toISOString()
  const local = `${given.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase()}.${family.toLowerCase().replace('ß', 'ss')}${n}`
  const mixedCase = rand() < 0.1
  const email = `${mixedCase ? local[0]?.toUpperCase() + local.slice(1) : local}@${mixedCase ? 'Example.COM' : 'example.com'}`
  const oid = randomHex(rand, 24)
  const profile: Record<string, unknown> = { user_id: `auth0|${oid}`, email, email_verified: rand() < 0.8, created_at: created, updated_at: lastLogin }
  let hash: Record<string, unknown> | undefined
  const hashLine = (idField: Record<string, unknown>) => ({
    ...idField,
    email_verified: profile['email_verified'],
    email: email.toLowerCase(),
    passwordHash: randomBcrypt(rand),
    password_set_date: { $date: created },
    tenant,
    connection: database,
    _tmp_is_unique: true,
  })
  const identity = (provider: string, userId: string, connection: string) => ({ provider, user_id: userId, connection, isSocial: provider !== 'auth0' && provider !== 'sms' })

  switch (kind) {
    case 'database':
    case 'database_no_hash':
      profile['identities'] = [identity('auth0', oid, database)]
      if (kind === 'database') hash = hashLine({ _id: { $oid: oid } })
      break
    case 'database_id_upper':
      profile['identities'] = [identity('auth0', oid, database)]
      hash = hashLine({ _ID: { $oid: oid } })
      break
    case 'database_alt_id': {
      const custom = `legacy-${n}`
      profile['user_id'] = `auth0|${custom}`
      profile['identities'] = [identity('auth0', custom, database)]
      hash = hashLine({ _id: { $oid: randomHex(rand, 24) }, alt_id: custom })
      break
    }
    case 'database_email_only':
      hash = hashLine({ _id: { $oid: randomHex(rand, 24) } })
      break
    case 'username':
      profile['username'] = `${local.replace('.', '_').slice(0, 12)}${n % 1000}`
      if (rand() < 0.5) delete profile['email']
      profile['identities'] = [identity('auth0', oid, 'Username-Password-Authentication')]
      hash = hashLine({ _id: { $oid: oid } })
      if (profile['email'] === undefined) delete hash['email']
      break
    case 'google': {
      const sub = `1${String(n * 7919).padStart(20, '0')}`
      profile['user_id'] = `google-oauth2|${sub}`
      profile['email'] = email.toLowerCase().replace('example.com', 'gmail.com')
      profile['email_verified'] = true
      profile['identities'] = [identity('google-oauth2', sub, 'google-oauth2')]
      profile['picture'] = `https://lh3.googleusercontent.com/a/${randomHex(rand, 20)}`
      break
    }
    case 'sms':
      profile['user_id'] = `sms|${oid}`
      delete profile['email']
      delete profile['email_verified']
      profile['phone_number'] = `+1${String(2000000000 + ((n * 7907) % 7999999999)).slice(0, 10)}`
      profile['phone_verified'] = true
      profile['identities'] = [identity('sms', oid, 'sms')]
      break
    case 'linked': {
      const sub = `2${String(n * 7919).padStart(20, '0')}`
      profile['user_id'] = `google-oauth2|${sub}`
      profile['identities'] = [identity('google-oauth2', sub, 'google-oauth2'), identity('auth0', oid, database)]
      hash = hashLine({ _id: { $oid: oid } })
      break
    }
  }
  profile['name'] = `${given} ${family}`
  profile['given_name'] = rand() < 0.05 ? '' : given
  profile['family_name'] = family
  profile['nickname'] = local.split('.')[0]
  const locale = pick(rand, locales)
  if (locale !== '' || rand() < 0.5) profile['locale'] = locale
  profile['last_login'] = lastLogin
  profile['logins_count'] = Math.floor(rand() * 200)
  if (rand() < 0.02) profile['blocked'] = true
  if (rand() < 0.3) profile['app_metadata'] = { roles: rand() < 0.2 ? ['admin', 'billing'] : ['member'], plan: pick(rand, plans) }
  if (rand() < 0.4) profile['user_metadata'] = { theme: rand() < 0.5 ? 'dark' : 'light', newsletter: rand() < 0.5 }
  if (rand() < 0.05) profile['multifactor'] = ['guardian']
  return { profile, hash }
}
