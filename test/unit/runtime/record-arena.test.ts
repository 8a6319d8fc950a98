import { describe, expect, it } from 'vitest'
import { RecordArena } from '../../../src/runtime/record-arena.ts'
import { releaseBuffer } from '../../../src/runtime/release-buffer.ts'

const text = (at: { utf8: Buffer; jsonStart: number; bytes: number }): string => at.utf8.toString('utf8', at.jsonStart, at.jsonStart + at.bytes)

describe('RecordArena', () => {
  it('keeps each identifier type in chunks of its own, so a slow batch pins only its own records', () => {
    const arena = new RecordArena(1024)
    const records = ['{"email":"a@example.com"}', '{"phone_number":"+15555550100"}', '{"email":"b@example.com"}']
    const block = Buffer.from(records.join(''))
    const start = (i: number): number => records.slice(0, i).join('').length
    const a = arena.copy('email', block, start(0), records[0]!.length)
    const phone = arena.copy('phone_number', block, start(1), records[1]!.length)
    const b = arena.copy('email', block, start(2), records[2]!.length)
    expect([text(a), text(phone), text(b)]).toEqual(records)
    expect(a.utf8).toBe(b.utf8)
    expect(phone.utf8).not.toBe(a.utf8)
    // Copies: the block can go.
    expect(a.utf8.buffer).not.toBe(block.buffer)
  })

  it('starts a new chunk when one is full and gives an oversized record a buffer of its own', () => {
    const arena = new RecordArena(64)
    const first = arena.write('email', JSON.stringify({ email: 'x'.repeat(30) }))
    const second = arena.write('email', JSON.stringify({ email: 'y'.repeat(30) }))
    expect(second.utf8).not.toBe(first.utf8)
    const large = arena.write('email', JSON.stringify({ email: 'z'.repeat(200) }))
    expect(large.utf8.length).toBe(large.bytes)
    const after = arena.write('email', '{}')
    expect(after.utf8).toBe(second.utf8)
    expect([first, second, large, after].map(text)).toEqual([JSON.stringify({ email: 'x'.repeat(30) }), JSON.stringify({ email: 'y'.repeat(30) }), JSON.stringify({ email: 'z'.repeat(200) }), '{}'])
  })

  it('measures multi-byte text exactly', () => {
    const arena = new RecordArena(64)
    const json = JSON.stringify({ name: 'Zoë 名前 🙂'.repeat(3) })
    const at = arena.write('email', json)
    expect(at.bytes).toBe(Buffer.byteLength(json))
    expect(text(at)).toBe(json)
  })
})

describe('releaseBuffer', () => {
  it('frees a buffer of its own at once, and leaves pooled ones alone', () => {
    const own = Buffer.allocUnsafeSlow(4 * Buffer.poolSize)
    const view = own.subarray(10, 20)
    releaseBuffer(own)
    expect(own.length).toBe(0)
    expect(view.length).toBe(0)
    releaseBuffer(own)
    const pooled = Buffer.from('small')
    const neighbour = Buffer.from('neighbour')
    releaseBuffer(pooled)
    expect(pooled.toString()).toBe('small')
    expect(neighbour.toString()).toBe('neighbour')
  })
})
