import type { StoredUser, UserStore } from './user-store.ts'

/**
 * The emulator's stand-in for the database transaction Authgear wraps around each GraphQL request:
 * mutations register how to undo themselves, and `rollback` undoes them newest first. Execution is
 * synchronous, so no import worker can interleave between a change and its rollback.
 */
export class Transaction {
  readonly #undo: (() => void)[] = []
  readonly #snapshotted = new Set<StoredUser>()
  readonly #store: UserStore

  constructor(store: UserStore) {
    this.#store = store
  }

  /** Call before changing `user` in place: its current fields are restored on rollback. */
  touch(user: StoredUser): void {
    if (this.#snapshotted.has(user)) return
    this.#snapshotted.add(user)
    const saved = structuredClone(user)
    this.#undo.push(() => {
      const target = user as unknown as Record<string, unknown>
      for (const key of Object.keys(target)) if (!(key in saved)) delete target[key]
      Object.assign(target, saved)
    })
  }

  /** Deletes `user` from the store; a rollback puts it back with its identities. */
  delete(user: StoredUser): void {
    if (this.#store.delete(user)) this.#undo.push(() => this.#store.restore(user))
  }

  rollback(): void {
    while (this.#undo.length > 0) this.#undo.pop()!()
    this.#snapshotted.clear()
  }
}
