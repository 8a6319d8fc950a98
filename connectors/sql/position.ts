import { z } from 'zod'

const keyValue = z.union([z.string(), z.number()]).describe('A key value as the driver returned it: a number, or a string (text, UUID, bigint).')

/**
 * Where a SQL source resumes.
 * - `start`: nothing passed yet (a cursor read whose rows are all inside the safety lag).
 * - `snapshot`: keyset order on the key column; `key` is the last key whose records all have
 *   outcomes (every row with a greater key is still to be read).
 *   With `updated_at` configured, `changes_since` is the server time the snapshot started at,
 *   minus the safety lag: what changed from then on is read by cursor once the snapshot ends.
 * - `changes`: the snapshot is complete; every row with updated_at at or after `updated_at` is
 *   still to be read by cursor (so a `sync` after a `backfill` continues instead of starting over).
 * - `cursor`: (updated_at, key) order; `updated_at` is the column value as the server prints it
 *   (full precision, no JS Date rounding), and every row after (updated_at, key) is still to be read.
 *
 * `sent` (cursor reading): the rows after the position, inside the safety lag, whose version has
 * outcomes already, as key → digest of the row. A restart reads them again (the position cannot
 * pass them yet) and leaves out those still of that version, as the run that sent them would have.
 */
const sent = z.record(z.string(), z.string()).optional().describe('Rows inside the safety lag already sent, key → digest of the row.')

export const sqlPositionSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('start'), sent }),
  z.strictObject({ mode: z.literal('snapshot'), key: keyValue, changes_since: z.string().min(1).optional() }),
  z.strictObject({ mode: z.literal('changes'), updated_at: z.string().min(1), sent }),
  z.strictObject({ mode: z.literal('cursor'), updated_at: z.string().min(1), key: keyValue, sent }),
])

export type SqlPosition = z.output<typeof sqlPositionSchema>
export type SqlKey = string | number
