import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { authgearSinkConfigSchema, authgearSinkSecretPaths } from '../../../../connectors/authgear/config.ts'

const cloud = { endpoint: 'https://myapp.authgear.cloud', project_id: 'myapp', key_id: 'kid-1', private_key: '-----BEGIN PRIVATE KEY-----' }

describe('authgearSinkConfigSchema', () => {
  it('fills every default for a minimal cloud block', () => {
    expect(authgearSinkConfigSchema.parse(cloud)).toEqual({
      ...cloud,
      upsert: false,
      batch: { max_records: 1000, max_bytes: 450_000, linger_ms: 500 },
      max_in_flight: 4,
      poll: { initial_ms: 250, max_ms: 5000 },
      retry: { max_attempts: 8, base_ms: 250, max_ms: 30_000 },
      request_timeout_ms: 30_000,
      token_ttl_seconds: 300,
    })
  })

  it('needs no key with the embedded emulator', () => {
    expect(authgearSinkConfigSchema.safeParse({ endpoint: 'embedded', project_id: 'demo' }).success).toBe(true)
  })

  it('requires key_id and a private key for a real endpoint', () => {
    const result = authgearSinkConfigSchema.safeParse({ endpoint: 'https://myapp.authgear.cloud', project_id: 'myapp' })
    expect(result.success).toBe(false)
    const text = z.prettifyError(result.error!)
    expect(text).toContain('key_id is required')
    expect(text).toContain('private_key or private_key_file is required')
  })

  it('refuses both private_key and private_key_file', () => {
    const result = authgearSinkConfigSchema.safeParse({ ...cloud, private_key_file: '/keys/admin.pem' })
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['private_key_file'])
  })

  it('keeps batches under the 500000-byte cap and rejects unknown keys', () => {
    const result = authgearSinkConfigSchema.safeParse({ ...cloud, batch: { max_bytes: 500_000, max_record: 5 } })
    const paths = result.error?.issues.map((i) => i.path.join('.'))
    expect(paths).toContain('batch.max_bytes')
    expect(paths).toContain('batch')
    expect(z.prettifyError(result.error!)).toContain('max_record')
  })

  it('rejects endpoints that are neither embedded nor http(s)', () => {
    const result = authgearSinkConfigSchema.safeParse({ ...cloud, endpoint: 'ftp://myapp.authgear.cloud' })
    expect(z.prettifyError(result.error!)).toContain("must be 'embedded' or an http(s) URL")
  })

  it('documents every field', () => {
    const schema = z.toJSONSchema(authgearSinkConfigSchema, { io: 'input' }) as { properties: Record<string, { description?: string; properties?: Record<string, { description?: string }> }> }
    for (const [name, field] of Object.entries(schema.properties)) {
      expect(field.description, name).toBeTruthy()
      for (const [inner, f] of Object.entries(field.properties ?? {})) expect(f.description, `${name}.${inner}`).toBeTruthy()
    }
  })

  it('names private_key as the secret to redact', () => {
    expect(authgearSinkSecretPaths).toContainEqual(['private_key'])
  })
})
