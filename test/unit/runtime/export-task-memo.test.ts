import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ExportTaskMemo } from '../../../src/runtime/export-task-memo.ts'
import { scratchDir } from '../../support/scratch-dir.ts'

describe('ExportTaskMemo', () => {
  it('does not pick up a task started before the last import (reconcile would report the users imported since as missing)', async () => {
    const path = join(await scratchDir('gb-memo-'), 'r.reconcile-export-task.json')
    const request = { format: 'ndjson' }
    const created = Date.parse('2026-11-22T10:00:00Z')
    await new ExportTaskMemo(path).save('userexport_1', request, created)
    expect(await new ExportTaskMemo(path).load(request, created + 60_000)).toBe('userexport_1')
    expect(await new ExportTaskMemo(path, { staleBeforeMs: created - 1 }).load(request, created + 60_000)).toBe('userexport_1')
    expect(await new ExportTaskMemo(path, { staleBeforeMs: created + 1 }).load(request, created + 60_000)).toBeUndefined()
  })
})
