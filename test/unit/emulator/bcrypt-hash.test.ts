import { describe, expect, it } from 'vitest'
import { judgeBcryptHash } from '../../../src/emulator/bcrypt-hash.ts'

const good = '$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy'

describe('judgeBcryptHash', () => {
  it('accepts bcrypt versions 2 with any minor letter and cost 4-31', () => {
    expect(judgeBcryptHash(good)).toBe('ok')
    expect(judgeBcryptHash(good.replace('$2a$', '$2y$'))).toBe('ok')
    expect(judgeBcryptHash(good.replace('$2a$', '$2b$'))).toBe('ok')
    expect(judgeBcryptHash(good.replace('$2a$10$', '$2a$04$'))).toBe('ok')
  })

  it('refuses short hashes, other versions and costs out of range as InvalidBcryptHash', () => {
    expect(judgeBcryptHash('$2a$10$short')).toBe('invalid_bcrypt')
    expect(judgeBcryptHash(good.replace('$2a$10$', '$2a$03$'))).toBe('invalid_bcrypt')
    expect(judgeBcryptHash(good.replace('$2a$10$', '$2a$32$'))).toBe('invalid_bcrypt')
    expect(judgeBcryptHash(`$argon2id$v=19$m=65536,t=3,p=4$${'a'.repeat(60)}`)).toBe('invalid_bcrypt')
  })

  it('calls a hash without the $id$ shape a format error', () => {
    expect(judgeBcryptHash('5f4dcc3b5aa765d61d8327deb882cf99')).toBe('bad_format')
    expect(judgeBcryptHash('$nodollar')).toBe('bad_format')
  })
})
