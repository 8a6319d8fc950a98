import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { onTestFinished } from 'vitest'
import { auth0SourceConfigSchema, type Auth0SourceConfigInput } from '../../../../connectors/auth0/config.ts'
import { createAuth0Source, type Auth0Source } from '../../../../connectors/auth0/source.ts'
import type { Auth0Position } from '../../../../connectors/auth0/position.ts'
import type { SourceBatch } from '../../../../src/core/source.ts'
import type { Logger, RunContext } from '../../../../src/core/run-context.ts'
import type { SourceRecord } from '../../../../src/core/source-record.ts'

/** A temporary directory removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gearbridge-auth0-test-'))
  onTestFinished(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export async function writeText(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

export async function writeGzip(dir: string, name: string, ...members: string[]): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, Buffer.concat(members.map((member) => gzipSync(member))))
  return path
}

export function ndjson(...values: unknown[]): string {
  return values.map((value) => JSON.stringify(value)).join('\n') + '\n'
}

export interface TestLog {
  readonly lines: { level: string; obj: object; msg?: string }[]
}

export function context(signal = new AbortController().signal): RunContext & TestLog {
  const lines: TestLog['lines'] = []
  const logger: Logger = {
    debug: (obj, msg) => lines.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
    child: () => logger,
  }
  return { signal, logger, lines }
}

/** A source closed after the test. */
export function source(config: Omit<Auth0SourceConfigInput, 'type'>, baseDir: string): Auth0Source {
  const created = createAuth0Source(auth0SourceConfigSchema.parse({ type: 'auth0', ...config }), { baseDir })
  onTestFinished(() => created.close())
  return created
}

export async function collect(src: Auth0Source, from?: Auth0Position): Promise<{ batches: SourceBatch<Auth0Position>[]; records: SourceRecord[] }> {
  const batches: SourceBatch<Auth0Position>[] = []
  for await (const batch of src.read(from, context())) batches.push(batch)
  return { batches, records: batches.flatMap((batch) => batch.records) }
}

export function dataOf(records: readonly SourceRecord[]): Record<string, unknown>[] {
  return records.flatMap((record) => (record.kind === 'data' ? [record.data] : []))
}
