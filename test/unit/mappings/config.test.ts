import { describe, expect, it } from 'vitest'
import { mappingConfigSchema } from '../../../mappings/config.ts'

describe('mappingConfigSchema', () => {
  it('fills every default from an empty block', () => {
    expect(mappingConfigSchema.parse({})).toEqual({
      identifier: 'auto',
      passwords: { non_bcrypt: 'import_without_password', unknown: 'dead_letter' },
      roles_from: 'app_metadata.roles',
      groups_from: 'app_metadata.groups',
      custom_attributes: {},
      standard_attributes: {},
      drop_auth0_defaults: { name_equal_to_email: true, nickname_equal_to_email_local_part: true, gravatar_picture: false },
      mfa: true,
      workers: 'auto',
    })
  })

  it('accepts a fixed identifier, an ordered list, and source paths', () => {
    const config = mappingConfigSchema.parse({
      identifier: ['phone_number', 'email'],
      default_phone_region: 'HK',
      passwords: { non_bcrypt: 'dead_letter' },
      roles_from: null,
      custom_attributes: { auth0_user_id: 'user_id', first_connection: 'identities[0].connection' },
    })
    expect(config.identifier).toEqual(['phone_number', 'email'])
    expect(config.passwords).toEqual({ non_bcrypt: 'dead_letter', unknown: 'dead_letter' })
    expect(config.roles_from).toBeNull()
    expect(mappingConfigSchema.parse({ identifier: 'preferred_username' }).identifier).toBe('preferred_username')
  })

  it.each([
    { identifier: 'username' },
    { identifier: [] },
    { default_phone_region: 'us' },
    { default_phone_region: 'ZZ' },
    { passwords: { non_bcrypt: 'reset' } },
    { roles_from: 'app_metadata..roles' },
    { drop_auth0_defaults: { picture: true } },
    { unknown_key: 1 },
  ])('rejects %j', (input) => {
    expect(mappingConfigSchema.safeParse(input).success).toBe(false)
  })

  it('documents every field', () => {
    const json = JSON.stringify(mappingConfigSchema.toJSONSchema({ io: 'input' }))
    for (const key of ['identifier', 'default_phone_region', 'passwords', 'non_bcrypt', 'unknown', 'roles_from', 'groups_from', 'custom_attributes', 'drop_auth0_defaults', 'mfa']) {
      expect(json).toContain(`"${key}"`)
    }
    const shape = mappingConfigSchema.shape
    for (const [key, field] of Object.entries(shape)) expect(field.description, key).toBeTruthy()
  })
})
