import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createSource } from '../../../connectors/create-source.ts'
import { loadConfig } from '../../../src/config/load-config.ts'
import { AbortedError } from '../../../src/core/errors.ts'
import type { Source } from '../../../src/core/source.ts'
import { reconcile, type Finding } from '../../../src/reconcile/reconciler.ts'
import { createMapping } from '../../../src/runtime/create-mapping.ts'
import { context, tempDir } from '../connectors/auth0/helpers.ts'

const example = fileURLToPath(new URL('../../../config.example.yaml', import.meta.url))

/** The bundled sample export as the source, read five records at a time; `onBatch` runs after each batch is handed out. */
async function sampleSource(onBatch: () => void = () => undefined): Promise<{ source: Source<unknown>; map: ReturnType<typeof createMapping> }> {
  const { config, baseDir } = await loadConfig(example, {})
  const { source: inner } = await createSource({ ...config.source, batch_records: 5 } as typeof config.source, { baseDir, mode: 'backfill' })
  const source: Source<unknown> = {
    async *read(from, ctx) {
      for await (const batch of inner.read(from as never, ctx)) {
        yield batch
        onBatch()
      }
    },
    close: () => inner.close(),
  }
  return { source, map: createMapping(config, { baseDir }) }
}

function run(exportFile: string, workDir: string, source: Source<unknown>, map: ReturnType<typeof createMapping>, signal: AbortSignal, findings: Finding[] = []) {
  return reconcile({ exportFile, source, map, identifierOrder: ['email', 'phone_number', 'preferred_username'], groups: new Set(['login_ids']), workDir, runBytes: 1 << 20, report: (f) => void findings.push(f), ctx: context(signal) })
}

describe('reconcile', () => {
  it('gives no verdict when stopped before the source is read to its end', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'export.ndjson'), '')
    const stop = new AbortController()
    const { source, map } = await sampleSource(() => stop.abort())
    try {
      await expect(run(join(dir, 'export.ndjson'), join(dir, 'work'), source, map, stop.signal)).rejects.toBeInstanceOf(AbortedError)
    } finally {
      await source.close()
    }
  })

  it('names the file and line of an export line that is not a JSON object, never its text', async () => {
    const dir = await tempDir()
    const file = join(dir, 'export.ndjson')
    await writeFile(file, '{"sub":"u1","email":"a@example.com"}\n{"sub":"u2","mfa":{"secret":JBSWY3DPEHPK3PXP}}\n')
    const { source, map } = await sampleSource()
    try {
      const error = (await run(file, join(dir, 'work'), source, map, new AbortController().signal).catch((e: unknown) => e)) as Error
      expect(error.message).toMatch(new RegExp(`^${file.replaceAll('/', '\\/')} line 2: not valid JSON`))
      expect(error.message).not.toContain('JBSWY3')
      await writeFile(file, 'sub,email\nu1,a@example.com\n')
      const csv = (await run(file, join(dir, 'work2'), source, map, new AbortController().signal).catch((e: unknown) => e)) as Error
      expect(csv.message).toContain(`${file} line 1: not valid JSON`)
    } finally {
      await source.close()
    }
  })
})
