import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'

/**
 * A named pipe used as an output file of a short-lived command: the command's write blocks (on a
 * libuv thread; its event loop and `/metrics` keep answering) until `release()` reads the pipe.
 * It stands in for a slow destination, so a scraper sees the command's final metrics.
 */
export interface FifoGate {
  readonly path: string
  /** Reads what the command wrote; resolves once the command closed the pipe. */
  release(): Promise<string>
  /** Stops a pending `release()` (the command never wrote). */
  abort(): void
}

export async function fifoGate(path: string): Promise<FifoGate> {
  await promisify(execFile)('mkfifo', [path])
  let reader: ReturnType<typeof spawn> | undefined
  return {
    path,
    release() {
      // A child reader can be killed; a blocked open() in this process could not be cancelled.
      const child = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'ignore'] })
      reader = child
      let text = ''
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
      return new Promise((resolve, reject) => {
        child.once('error', reject)
        child.once('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`reading ${path} ended with ${code}`))))
      })
    },
    abort() {
      if (reader && reader.exitCode === null) reader.kill('SIGKILL')
    },
  }
}
