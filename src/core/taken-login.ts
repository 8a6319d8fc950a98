/** Record fields of Authgear's login ID types, as its errors name them (`LoginIDTypeIncoming`). */
const loginFields: Readonly<Record<string, string>> = { email: 'email', phone: 'phone_number', username: 'preferred_username' }

interface AuthgearError {
  readonly reason?: unknown
  readonly info?: { readonly cause?: { readonly kind?: unknown }; readonly LoginIDTypeIncoming?: unknown }
}

/** Whether Authgear refused a record because another user holds one of its login IDs (`InvariantViolated`, `DuplicatedIdentity`). */
export function isDuplicatedIdentity(error: unknown): boolean {
  const body = error as AuthgearError | undefined
  return body?.reason === 'InvariantViolated' && body.info?.cause?.kind === 'DuplicatedIdentity'
}

/**
 * The record field of the login ID another user holds, for an `InvariantViolated` error that
 * names its type; undefined otherwise.
 */
export function takenLoginField(error: unknown): string | undefined {
  const body = error as AuthgearError | undefined
  if (body?.reason !== 'InvariantViolated') return undefined
  const type = body.info?.LoginIDTypeIncoming
  return typeof type === 'string' && Object.hasOwn(loginFields, type) ? loginFields[type] : undefined
}
