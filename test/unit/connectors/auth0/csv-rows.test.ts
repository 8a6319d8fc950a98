import { describe, expect, it } from 'vitest'
import { csvRows, maxRowBytes, type CsvRow } from '../../../../connectors/auth0/csv-rows.ts'

async function rowsOf(chunks: readonly Buffer[], delimiter = ','): Promise<CsvRow[]> {
  async function* read() {
    yield* chunks
  }
  const rows: CsvRow[] = []
  for await (const row of csvRows(read(), delimiter)) rows.push(row)
  return rows
}

/** Every kind of row the cutter tells apart, with CRLF, LF and lone CR line ends and a BOM. */
const tricky = Buffer.concat([
  Buffer.from('\ufeffemail,name,note\r\n'),
  Buffer.from('a@x.com,"Zoë, ""Z""","two\r\nlines"\r\n'),
  Buffer.from('\r\n\n'),
  Buffer.from('b@x.com,B"ad,x\n'),
  Buffer.from('c@x.com,"C"c,"ok\nstill"\r'),
  Buffer.from('d@x.com,'),
  Buffer.from('Ren\u00e9e', 'latin1'),
  Buffer.from(',\n'),
  Buffer.from('e@x.com,"open\n'),
  Buffer.from('f@x.com,F,'),
])

describe('CSV row cutting', () => {
  it('cuts rows, cells and line numbers, keeping every fault in its own row', async () => {
    const rows = await rowsOf([tricky])
    expect(rows.map((row) => [row.firstLine, row.lastLine, row.fault ?? (row.utf8 ? row.cells : 'not utf8')])).toEqual([
      [1, 1, ['email', 'name', 'note']],
      [2, 3, ['a@x.com', 'Zoë, "Z"', 'two\r\nlines']],
      [6, 6, 'a quote inside a cell that does not start with one'],
      [7, 8, 'text after the closing quote of a cell'],
      [9, 9, 'not utf8'],
      [10, 10, 'a quote opened on line 10 is never closed'],
      [11, 11, ['f@x.com', 'F', '']],
    ])
  })

  it('gives the same rows however the input is cut into chunks', async () => {
    const whole = await rowsOf([tricky])
    for (let cut = 1; cut < tricky.length; cut++) {
      expect(await rowsOf([tricky.subarray(0, cut), tricky.subarray(cut)]), `cut at byte ${cut}`).toEqual(whole)
    }
    expect(await rowsOf([...tricky].map((byte) => Buffer.from([byte])))).toEqual(whole)
  })

  it('takes a quote still open after 1 MiB for a mistake and reads on from the line after it, however the input is chunked', async () => {
    const filler = Buffer.from(`${'x'.repeat(99)}\n`.repeat(Math.ceil((maxRowBytes * 1.5) / 100)))
    const input = Buffer.concat([Buffer.from('email,name\na@x.com,"A\n'), filler, Buffer.from('b@x.com,B\n')])
    const chunks = Array.from({ length: Math.ceil(input.length / 65536) }, (_, i) => input.subarray(i * 65536, (i + 1) * 65536))
    const rows = await rowsOf(chunks)
    expect(await rowsOf([input])).toEqual(rows)
    expect(rows[1]).toMatchObject({ firstLine: 2, lastLine: 2, fault: 'a quote opened on line 2 is not closed within 1 MiB' })
    // The filler lines are rows of one cell each, then the last row is read whole.
    expect(rows).toHaveLength(2 + filler.length / 100 + 1)
    expect(rows.at(-1)).toMatchObject({ firstLine: 3 + filler.length / 100, cells: ['b@x.com', 'B'] })
  })

  it('faults a line longer than 1 MiB once and reads the line after it', async () => {
    const input = Buffer.concat([Buffer.from('email,name\na@x.com,'), Buffer.alloc(maxRowBytes * 2, 'y'), Buffer.from('\r\nb@x.com,B\n')])
    const chunks = Array.from({ length: Math.ceil(input.length / 65536) }, (_, i) => input.subarray(i * 65536, (i + 1) * 65536))
    const rows = await rowsOf(chunks)
    expect(rows.map((row) => [row.firstLine, row.fault ?? row.cells])).toEqual([
      [1, ['email', 'name']],
      [2, 'the row runs past 1 MiB'],
      [3, ['b@x.com', 'B']],
    ])
  })

  it('decides a row of exactly 1 MiB the same wherever a chunk ends in its line end', async () => {
    const input = Buffer.from(`a\n${'y'.repeat(maxRowBytes)}\r\nb\n`)
    const whole = await rowsOf([input])
    expect(whole.map((row) => row.fault)).toEqual([undefined, undefined, undefined])
    for (const cut of [maxRowBytes + 2, maxRowBytes + 3, maxRowBytes + 4]) expect(await rowsOf([input.subarray(0, cut), input.subarray(cut)])).toEqual(whole)
  })

  it('ends a row at the line of the quote left open, not at its first line, and never rescans the file once a line', async () => {
    const rows = await rowsOf([Buffer.from('email,name\na,"x\n",b,",c@x.com\nd,e\n')])
    expect(rows.map((row) => [row.firstLine, row.lastLine, row.fault ?? row.cells])).toEqual([
      [1, 1, ['email', 'name']],
      [2, 3, 'a quote opened on line 3 is never closed'],
      [4, 4, ['d', 'e']],
    ])
    // Every line has a stray quote and then opens a cell: one faulty row, read in one pass.
    const stray = await rowsOf([Buffer.from('a"b,"\n'.repeat(50000))])
    expect(stray.map((row) => [row.firstLine, row.lastLine, row.fault])).toEqual([[1, 50000, 'a quote opened on line 50000 is never closed']])
  })

  it('splits on tabs and refuses a delimiter it cannot cut by', async () => {
    expect((await rowsOf([Buffer.from('a\tb,c\n')], '\t'))[0]?.cells).toEqual(['a', 'b,c'])
    await expect(rowsOf([Buffer.from('a\n')], '"')).rejects.toThrow(/one ASCII character other than a quote or line end/)
    await expect(rowsOf([Buffer.from('a\n')], '§')).rejects.toThrow(/one ASCII character/)
  })
})
