import { describe, expect, it } from 'vitest'
import { requestBody } from '../../../src/runtime/batcher.ts'
import { ItemPacker, packItems, transferList, unpackItems } from '../../../src/runtime/packed-items.ts'
import { workItemOf } from '../../../src/runtime/work-item.ts'
import type { WorkerItem } from '../../../src/runtime/worker-item.ts'

const ticket = { settle: () => undefined }

function mapped(i: number, name: string): WorkerItem {
  const record = { email: `user${i}@exämple.com`, name, password: { type: 'bcrypt', password_hash: `$2b$10$${'a'.repeat(53)}` } }
  return {
    kind: 'mapped',
    key: `auth0|${i}`,
    origin: `üsers.ndjson:${i + 1}`,
    identifier: 'email',
    identifierValue: record.email,
    json: JSON.stringify(record),
    passwordAlgorithm: 'bcrypt',
    passwordLane: 'imported',
    warnings: i % 7 === 0 ? [`warning ${i}`] : [],
    ...(i % 11 === 0 ? { lockKeys: [`email:${i}`] } : {}),
  }
}

describe('packed worker items', () => {
  it('round-trips every item, in order, with multi-byte text and far past the first buffer', () => {
    const names = ['Zoë', '名前', 'emoji 🙂 user', 'plain', 'a'.repeat(5000)]
    const items: WorkerItem[] = []
    for (let i = 0; i < 600; i++) {
      if (i % 50 === 3) items.push({ kind: 'unreadable', key: `f:${i}`, origin: `f:${i}`, code: 'malformed_json', message: 'bad line' })
      else if (i % 50 === 9) items.push({ kind: 'rejected', key: `k${i}`, origin: `o${i}`, data: { a: 1 }, rejection: { code: 'invalid_phone', message: 'no' } })
      else items.push(mapped(i, names[i % names.length] as string))
    }
    const packer = new ItemPacker(4, 1024)
    for (const item of items) packer.add(item)
    const packed = packer.finish()
    expect(packed.count).toBe(items.length)
    const back = [...unpackItems(packed)]
    expect(back).toHaveLength(items.length)
    back.forEach((item, i) => {
      const original = items[i] as WorkerItem
      if (original.kind !== 'mapped') return expect(item).toEqual(original)
      expect(item.kind).toBe('mapped')
      if (item.kind !== 'mapped') return
      expect({ key: item.key, origin: item.origin, identifierValue: item.identifierValue, warnings: item.warnings, lockKeys: item.lockKeys }).toEqual({ key: original.key, origin: original.origin, identifierValue: original.identifierValue, warnings: original.warnings, lockKeys: original.lockKeys })
      expect(item.utf8.toString('utf8', item.jsonStart, item.jsonStart + item.bytes)).toBe(original.json)
      expect(item.bytes).toBe(Buffer.byteLength(original.json))
      expect(workItemOf(item, ticket).mapped.record).toEqual(JSON.parse(original.json))
    })
  })

  it('hands over buffers of its own, so transferring them cannot detach anything else', () => {
    const packed = packItems([mapped(1, 'x'), mapped(2, 'y')])
    const buffers = transferList(packed)
    expect(new Set(buffers).size).toBe(buffers.length)
    for (const buffer of buffers) expect(buffer.byteLength).toBeLessThan(64 * 1024)
  })

  it('builds the request body byte for byte as the records joined into the envelope', () => {
    const items = [...unpackItems(packItems([mapped(1, 'Zoë'), mapped(2, '名前'), mapped(3, '🙂')]))].map((item) => workItemOf(item as Parameters<typeof workItemOf>[0], ticket))
    const body = requestBody('email', true, items)
    const expected = `{"identifier":"email","upsert":true,"records":[${items.map((item) => JSON.stringify(item.mapped.record)).join(',')}]}`
    expect(body.toString('utf8')).toBe(expected)
    expect(body.byteLength).toBe(Buffer.byteLength(expected))
    expect(requestBody('phone_number', false, []).toString()).toBe('{"identifier":"phone_number","upsert":false,"records":[]}')
  })
})
