/** A command line the command cannot run as given (a bad flag value): exit 2, with what to change. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}
