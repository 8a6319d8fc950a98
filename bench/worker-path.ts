/**
 * CPU per record of a mapping worker's path on one thread, stage by stage, with the hash index
 * already built: read the first `--lines` lines of the export into worker-sized blocks, then time
 * (thread CPU) each stage added in turn, `--rounds` times. Shows where a worker's time goes
 * without a profiler's overhead; the null-sink and end-to-end benchmarks give the throughput.
 *
 *   node bench/worker-path.ts bench/auth0-1m.yaml [--lines 200000] [--rounds 3]
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from '../src/config/load-config.ts'
import { createBlockDecoder } from '../connectors/auth0/block-decoder.ts'
import { OpenFiles } from '../connectors/auth0/open-input.ts'
import { PasswordHashIndex } from '../connectors/auth0/password-hash-index.ts'
import { createMapping } from '../src/runtime/create-mapping.ts'
import { ItemPacker } from '../src/runtime/packed-items.ts'
import { toWorkerItem } from '../src/runtime/worker-item.ts'
import type { SourceRecord } from '../src/core/source-record.ts'

const { values, positionals } = parseArgs({ allowPositionals: true, options: { lines: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '3' } } })
const configPath = positionals[0]
if (!configPath) throw new Error('usage: node bench/worker-path.ts <config.yaml> [--lines N] [--rounds N]')
const { config, baseDir } = await loadConfig(configPath)
if (config.source.type !== 'auth0' || !config.source.password_hashes) throw new Error('an Auth0 source with password_hashes is needed')
const usersPath = join(baseDir, config.source.files[0] as string)
const hashPath = join(baseDir, config.source.password_hashes.files[0] as string)
const index = await PasswordHashIndex.build([hashPath], new OpenFiles())

// Worker-sized blocks of whole lines, as the main thread cuts them (~2 MB).
const wanted = Number(values.lines)
const blocks: { file: string; line: number; offset: number; segments: Uint8Array[] }[] = []
{
  const all = readFileSync(usersPath)
  let from = 0
  let lines = 0
  while (lines < wanted && from < all.length) {
    let to = Math.min(from + 2 * 1024 * 1024, all.length)
    to = all.indexOf(0x0a, to - 1)
    to = to === -1 ? all.length : to + 1
    const bytes = new Uint8Array(all.subarray(from, to))
    blocks.push({ file: 'users.ndjson', line: lines, offset: from, segments: [bytes] })
    lines += countLines(bytes)
    from = to
  }
}

function countLines(bytes: Uint8Array): number {
  let n = 0
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) n++
  return n
}

const joined = await createBlockDecoder({ join: { index: index.state, mode: config.source.password_hashes.join } })
const unjoined = await createBlockDecoder({})
const map = createMapping(config, { baseDir })
type Each = (record: SourceRecord) => void

const stages: [string, () => number][] = [
  ['parse', () => run(unjoined, () => undefined)],
  ['parse+join', () => run(joined, () => undefined)],
  ['parse+join+map', () => run(joined, (r) => (r.kind === 'data' ? map(r) : undefined))],
  ['+stringify', () => run(joined, (r) => toWorkerItem(r, map))],
  ['+pack (worker path)', () => {
    let n = 0
    for (const block of blocks) {
      const packer = new ItemPacker(256, 300 * 1024)
      joined.decode(block, (r) => packer.add(toWorkerItem(r, map)))
      n += packer.finish().count
    }
    return n
  }],
]

function run(decoder: Awaited<ReturnType<typeof createBlockDecoder>>, each: Each): number {
  let n = 0
  for (const block of blocks) decoder.decode(block, (r) => { n++; each(r) })
  return n
}

// Thread CPU is this thread's mapping work; process CPU adds V8's helper threads (GC, compiler).
for (let round = 0; round < Number(values.rounds); round++) {
  const thread: Record<string, number> = {}
  const processWide: Record<string, number> = {}
  for (const [name, stage] of stages) {
    const before = process.threadCpuUsage()
    const processBefore = process.cpuUsage()
    const n = stage()
    const cpu = process.threadCpuUsage(before)
    const all = process.cpuUsage(processBefore)
    thread[name] = +((cpu.user + cpu.system) / n).toFixed(2)
    processWide[name] = +((all.user + all.system) / n).toFixed(2)
  }
  console.log(JSON.stringify({ bench: 'worker-path', round, records: blocks.reduce((sum, block) => sum + countLines(block.segments[0]!), 0), threadMicrosecondsPerRecord: thread, processMicrosecondsPerRecord: processWide }))
}
await joined.close()
await index.dispose()
