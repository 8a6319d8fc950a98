import { MessageChannel } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { requestBody } from '../../../src/runtime/batcher.ts'
import { ItemPacker, packItems, releasePacked, transferList, unpackItems, type PackedItems } from '../../../src/runtime/packed-items.ts'
import { RecordArena } from '../../../src/runtime/record-arena.ts'
import { workItemOf } from '../../../src/runtime/work-item.ts'
import type { WorkerItem } from '../../../src/runtime/worker-item.ts'

const ticket = { settle: () => undefined }
const arena = new RecordArena()

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
      expect(workItemOf(item, ticket, new RecordArena()).mapped.record).toEqual(JSON.parse(original.json))
    })
  })

  it('crosses a thread boundary by transfer, detaching only its own buffers', async () => {
    const unrelated = Buffer.from('a pooled neighbour')
    const packed = packItems([mapped(1, 'Zoë'), mapped(2, '名前')])
    const buffers = transferList(packed)
    expect(new Set(buffers).size).toBe(buffers.length)
    const { port1, port2 } = new MessageChannel()
    const received = new Promise<PackedItems>((resolve) => port2.once('message', resolve))
    port1.postMessage(packed, buffers)
    const arrived = await received
    port1.close()
    port2.close()
    for (const buffer of buffers) expect(buffer.byteLength).toBe(0)
    expect(unrelated.toString()).toBe('a pooled neighbour')
    const back = [...unpackItems(arrived)].map((item) => (item.kind === 'mapped' ? workItemOf(item, ticket, new RecordArena()).mapped.record : undefined))
    expect(back).toEqual([JSON.parse((mapped(1, 'Zoë') as { json: string }).json), JSON.parse((mapped(2, '名前') as { json: string }).json)])
  })

  it('keeps identifiers with a lone surrogate exactly, so two of them never merge into one user', () => {
    const first = { ...mapped(1, 'a'), key: 'auth0|\uD800', origin: 'users.ndjson:1', identifierValue: 'bob\uD800@example.com' } as WorkerItem
    const second = { ...mapped(2, 'b'), key: 'auth0|\uD801', identifierValue: 'bob\uD801@example.com' } as WorkerItem
    const back = [...unpackItems(packItems([first, mapped(3, 'c'), second]))]
    expect(back.map((item) => item.kind === 'mapped' && [item.key, item.identifierValue])).toEqual([
      ['auth0|\uD800', 'bob\uD800@example.com'],
      ['auth0|3', 'user3@exämple.com'],
      ['auth0|\uD801', 'bob\uD801@example.com'],
    ])
  })

  it('builds the request body byte for byte as the records joined into the envelope, after the block is released', () => {
    const block = packItems([mapped(1, 'Zoë'), mapped(2, '名前'), mapped(3, '🙂')])
    const items = [...unpackItems(block)].map((item) => workItemOf(item as Parameters<typeof workItemOf>[0], ticket, arena))
    releasePacked(block)
    const body = requestBody('email', true, items)
    const expected = `{"identifier":"email","upsert":true,"records":[${items.map((item) => JSON.stringify(item.mapped.record)).join(',')}]}`
    expect(body.toString('utf8')).toBe(expected)
    expect(body.byteLength).toBe(Buffer.byteLength(expected))
    expect(requestBody('phone_number', false, []).toString()).toBe('{"identifier":"phone_number","upsert":false,"records":[]}')
  })
})
