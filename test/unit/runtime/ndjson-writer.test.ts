import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { boundedLine, maxRecordLineChars, NdjsonWriter } from '../../../src/runtime/ndjson-writer.ts'
import { scratchDir } from '../../support/scratch-dir.ts'

async function reopenAfter(content: string): Promise<string> {
  const path = join(await scratchDir('gb-ndjson-'), 'report.ndjson')
  await writeFile(path, content)
  const writer = new NdjsonWriter(path)
  await writer.open()
  writer.write({ n: 3 })
  await writer.close()
  return readFile(path, 'utf8')
}

describe('NdjsonWriter', () => {
  it('removes a line a killed run left cut short before appending, so every line stays whole JSON', async () => {
    expect(await reopenAfter('{"n":1}\n{"n":2}\n{"source_key":"au')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n')
    expect(await reopenAfter('{"source_ke')).toBe('{"n":3}\n')
  })

  it('keeps a file that ends with a whole line, and a line longer than one read block', async () => {
    const long = JSON.stringify({ pad: 'x'.repeat(200_000) })
    expect(await reopenAfter(`{"n":1}\n{"n":2}\n`)).toBe('{"n":1}\n{"n":2}\n{"n":3}\n')
    expect(await reopenAfter(`${long}\n{"cut":"${'y'.repeat(150_000)}`)).toBe(`${long}\n{"n":3}\n`)
  })

  it('writes every line whole and in order across chunks, flushes and lines larger than a chunk', async () => {
    const path = join(await scratchDir('gb-ndjson-'), 'report.ndjson')
    const writer = new NdjsonWriter(path)
    await writer.open()
    const entries: object[] = []
    for (let i = 0; i < 20_000; i++) {
      const entry = i % 5000 === 7 ? { i, big: 'é'.repeat(400_000) } : { i, name: i % 3 === 0 ? 'Zoë 名前 🙂' : 'plain', pad: 'p'.repeat(i % 200) }
      entries.push(entry)
      writer.write(entry)
      if (i % 4321 === 0) await writer.flush()
    }
    await writer.close()
    expect(writer.count).toBe(entries.length)
    const lines = (await readFile(path, 'utf8')).split('\n')
    expect(lines.pop()).toBe('')
    expect(lines.map((line) => JSON.parse(line) as object)).toEqual(entries)
  })

  // /dev/full takes the open and refuses every write with ENOSPC, as a full disk does.
  it.runIf(process.platform === 'linux')('keeps a failed background write for the next flush instead of crashing the process', async () => {
    const writer = new NdjsonWriter('/dev/full')
    await writer.open()
    // Over a megabyte buffered starts a write without waiting for a flush.
    for (let i = 0; i < 3000; i++) writer.write({ i, pad: 'x'.repeat(500) })
    await new Promise((resolve) => setTimeout(resolve, 50))
    await expect(writer.flush()).rejects.toMatchObject({ code: 'ENOSPC' })
    await expect(writer.flush()).rejects.toMatchObject({ code: 'ENOSPC' })
  })

  it('writes an entry whose record is too large for a line without it, marked record_truncated, and never throws for it', () => {
    const big = { source_key: 'k', code: 'record_too_large', record: { name: 'a'.repeat(maxRecordLineChars) } }
    expect(JSON.parse(boundedLine(big))).toEqual({ source_key: 'k', code: 'record_too_large', record_truncated: true })
    // A record past V8's longest string makes JSON.stringify throw; the line is still written.
    const vast = { source_key: 'v', record: { toJSON: () => { throw new RangeError('Invalid string length') } } }
    expect(JSON.parse(boundedLine(vast))).toEqual({ source_key: 'v', record_truncated: true })
    const small = { source_key: 's', record: { name: 'Ann' } }
    expect(boundedLine(small)).toBe(JSON.stringify(small))
  })
})
