import { z } from 'zod'

/**
 * A setting that takes one string or a non-empty list of them. A bare union would answer a missing
 * or mistyped value with zod's "Invalid input"; this says what is expected, `what` naming one item.
 */
export function oneOrMany(what: string) {
  return z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
    error: (issue) => (issue.input === undefined ? `required: ${what}, or a list of them` : `expected ${what}, or a non-empty list of them`),
  })
}
