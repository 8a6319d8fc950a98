import { z } from 'zod'

/** Groups of fields reconcile can compare; each can be switched off. */
export const FieldGroups = [
  'login_ids',
  'verified',
  'standard_attributes',
  'disabled',
  'roles',
  'groups',
  'custom_attributes',
  'account_valid_period',
  'mfa',
] as const
export type FieldGroup = (typeof FieldGroups)[number]

/** The `reconcile:` block. */
export const reconcileConfigSchema = z
  .strictObject({
    threshold: z
      .int()
      .min(0)
      .default(0)
      .describe('Most differences (users missing in Authgear + users only in Authgear + users with differing fields) that still pass. Above it `gearbridge reconcile` exits 4, so a migration can be gated in CI.'),
    fields: z
      .array(z.enum(FieldGroups))
      .min(1)
      .default([...FieldGroups])
      .describe('Field groups to compare. A field the mapping leaves out of a record is never compared; passwords cannot be (Authgear does not export hashes).'),
    report: z.string().min(1).optional().describe('NDJSON file with one line per difference; default `<state.dir>/<name>.reconcile.ndjson`.'),
    summary: z.string().min(1).optional().describe('Human summary with counts (also printed); default `<state.dir>/<name>.reconcile-summary.txt`.'),
    work_dir: z.string().min(1).optional().describe('Scratch directory for the export file (`<name>.authgear-export.ndjson`) and the sorted run files (in a `<name>.reconcile-*` directory of each run); default `<state.dir>/reconcile-work`. Needs roughly the export size plus the compared fields of both sides free. Only what the run created is removed at the end; the directory itself goes once empty.'),
    run_bytes: z
      .int()
      .min(1 << 20)
      .max(1 << 30)
      .default(16 << 20)
      .describe('Approximate bytes of entries sorted in memory before a run file is spilled to disk (16 MiB by default; one side at a time). Reconcile memory is set by this, not by the number of users; a smaller value makes more run files to merge.'),
    keep_export: z.boolean().default(false).describe('Keep the downloaded export file (`<name>.authgear-export.ndjson`) in work_dir instead of deleting it.'),
  })
  .describe('`gearbridge reconcile`: compare the source with what Authgear holds.')

export type ReconcileConfig = z.output<typeof reconcileConfigSchema>
