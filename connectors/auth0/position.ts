import { z } from 'zod'

/**
 * Where an Auth0 source resumes. `file` is relative to the config directory, as in origins.
 * `line` counts what was consumed in that file: lines for NDJSON, the last physical line of the
 * last row for CSV, elements for JSON arrays. `offset` (plain NDJSON only) is the byte offset
 * just after the last consumed line, so a resume seeks instead of re-reading. `done` marks a file
 * read to its end (or to an unrecoverable error), so a resume moves on to the next file.
 * `size` and `head` (see `IdentifiedFile`) identify the file as it was: a resume refuses a file that was
 * replaced under the same name, and reads on where a plain NDJSON file was only appended to.
 * `earlier` and a stop's `digest` widen that to the files before it and to the whole file.
 */
export const auth0PositionSchema = z.strictObject({
  file: z.string().min(1),
  line: z.int().min(0),
  offset: z.int().min(0).optional(),
  done: z.boolean().optional(),
  size: z.int().min(0).optional(),
  head: z.string().min(1).optional(),
  /** Digest of the names, sizes and heads of the files sorting before `file`: a file added before it is not passed over unread. */
  earlier: z.string().min(1).optional(),
  /** Digest of the file's `size` bytes, saved by a stop: a file edited anywhere is refused, not only in its head. */
  digest: z.string().min(1).optional(),
})

export type Auth0Position = z.output<typeof auth0PositionSchema>
