/**
 * Why `JSON.parse` refused its input, without the input. V8 quotes the text around the error
 * (`Unexpected token 'h', ..."password":hunter2sec"... is not valid JSON`), which can hold a
 * password or a secret; dead letters, reports and logs get the reason alone.
 */
export function jsonErrorReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message
    .replace(/ '[^']*',? ?(?:\.\.\.)?"[\s\S]*$/, '')
    .replace(/,? ?(?:\.\.\.)?"[\s\S]*$/, '')
    .replace(/ in JSON at position \d+.*$/, '')
    .slice(0, 80)
}
