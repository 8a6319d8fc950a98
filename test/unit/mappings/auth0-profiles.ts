/** Auth0 profiles as the Auth0 source hands them to the mapping (hash export already merged as `password_hash`). */

export const bcryptHash = '$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K'
export const totpSecret = 'JBSWY3DPEHPK3PXP'

/** A database user from the bulk export, with Auth0's generated name, nickname and picture. */
export const databaseUser = {
  user_id: 'auth0|60425dc43519d90068f82973',
  email: 'Test2@Example.com',
  email_verified: false,
  name: 'test2@example.com',
  nickname: 'test2',
  picture: 'https://s.gravatar.com/avatar/abc?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fte.png',
  created_at: '2021-03-05T16:35:16.775Z',
  identities: [{ connection: 'Username-Password-Authentication', provider: 'auth0', user_id: '60425dc43519d90068f82973', isSocial: false }],
  app_metadata: { roles: ['staff', 'admin'], groups: ['hk-office'], plan: 'gold' },
  user_metadata: { country: 'HK' },
  password_hash: bcryptHash,
}

/** An SMS passwordless user: phone only. */
export const phoneOnlyUser = {
  user_id: 'sms|5f1a0000000000000000abcd',
  phone_number: '+1 415 555 2671',
  phone_verified: true,
}

/** A username-only database user. */
export const usernameOnlyUser = { user_id: 'auth0|u1', username: 'Jane_Doe', password_hash: bcryptHash }

/** A Google user: no hash, pass-through OIDC claims. */
export const googleUser = {
  user_id: 'google-oauth2|103547991597142817347',
  email: 'jane.doe@gmail.com',
  email_verified: true,
  name: 'Jane Doe',
  given_name: 'Jane',
  family_name: 'Doe',
  nickname: 'jane.doe',
  picture: 'https://lh3.googleusercontent.com/a/photo.jpg',
  locale: 'en',
  gender: 'female',
  identities: [{ connection: 'google-oauth2', provider: 'google-oauth2', user_id: '103547991597142817347', isSocial: true }],
}

/** A Microsoft user: `en_US` locale, linked to a second account. */
export const microsoftUser = {
  user_id: 'windowslive|4cf0a30169d55031',
  email: 'bob@outlook.com',
  email_verified: true,
  locale: 'en_US',
  identities: [
    { connection: 'windowslive', provider: 'windowslive', user_id: '4cf0a30169d55031', isSocial: true },
    { connection: 'Username-Password-Authentication', provider: 'auth0', user_id: '60425dc43519d90068f82999', isSocial: false },
  ],
}

/** A blocked user read from CSV: booleans as text, empty cells as empty strings. */
export const blockedCsvUser = {
  user_id: 'auth0|b1',
  email: 'blocked@example.com',
  email_verified: 'TRUE',
  blocked: 'true',
  given_name: '',
  family_name: '   ',
  nickname: '',
  locale: 'not a locale!',
  website: 'example.com',
  birthdate: '1990-02-30',
  zoneinfo: 'Mars/Olympus_Mons',
  'app_metadata.roles': '["staff"]',
}

/** An Auth0 import-format record prepared from a legacy database, with a bcrypt custom hash and MFA factors. */
export const importFormatUser = {
  email: 'legacy@example.com',
  email_verified: true,
  user_id: 'legacy-42',
  given_name: 'Lee',
  custom_password_hash: { algorithm: 'bcrypt', hash: { value: bcryptHash, encoding: 'utf8' } },
  mfa_factors: [{ totp: { secret: totpSecret } }, { phone: { value: '+85291234567' } }, { email: { value: 'Lee.Backup@Example.com' } }],
}

/** An Auth0 import-format record with a salted MD5 custom hash. */
export const md5User = {
  email: 'md5@example.com',
  custom_password_hash: {
    algorithm: 'md5',
    hash: { value: '5f4dcc3b5aa765d61d8327deb882cf99', encoding: 'hex' },
    salt: { value: 'pepper', position: 'prefix' },
  },
}
