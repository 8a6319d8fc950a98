/** A thrown value as text, whatever it is: it may not be an `Error`, nor even turn into text (`Object.create(null)`, a throwing `toString`). */
export function thrownText(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error)
  } catch {
    return 'a thrown value that cannot be shown as text'
  }
}
