/**
 * A helper thread that indexes one byte range of the password-hash export (`indexRange`) while the
 * main thread indexes the other, and posts the range's shared tables back.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { OpenFiles } from './open-input.ts'
import { indexRange } from './password-hash-index.ts'

const { path, from, to, fileBytes } = workerData as { path: string; from: number; to: number; fileBytes: number }
try {
  const range = await indexRange(path, new OpenFiles(), from, to, fileBytes)
  parentPort?.postMessage({ ok: true, range })
} catch (error) {
  parentPort?.postMessage({ ok: false, message: (error as Error).message })
}
