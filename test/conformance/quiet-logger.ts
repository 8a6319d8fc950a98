import type { Logger } from '../../src/core/run-context.ts'

/** A logger that drops everything; set GB_TEST_LOG=1 to print to stderr instead. */
export const quietLogger: Logger = {
  debug: (obj, msg) => log('debug', obj, msg),
  info: (obj, msg) => log('info', obj, msg),
  warn: (obj, msg) => log('warn', obj, msg),
  error: (obj, msg) => log('error', obj, msg),
  child: () => quietLogger,
}

function log(level: string, obj: object, msg?: string): void {
  if (process.env['GB_TEST_LOG'] === '1') process.stderr.write(`${level} ${msg ?? ''} ${JSON.stringify(obj)}\n`)
}
