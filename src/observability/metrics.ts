import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { OutcomeKinds } from '../core/outcome.ts'
import { LabelTally } from './label-tally.ts'

/**
 * Every metric gearbridge exports, in one registry. Labels are bounded: outcome kinds, stable
 * error codes, hash algorithm names, route names. Never a user id, email or message.
 */
export class Metrics {
  readonly registry = new Registry()

  readonly info = new Gauge({ name: 'gearbridge_info', help: 'Build and run information (value is always 1).', labelNames: ['version', 'command', 'source'], registers: [this.registry] })
  readonly sourceRecords = new Counter({ name: 'gearbridge_source_records_total', help: 'Records read from the source, readable or not.', labelNames: ['source'], registers: [this.registry] })
  readonly sourceReadBytes = new Gauge({ name: 'gearbridge_source_read_bytes', help: 'Byte offset reached in the source input (files only): it counts from the start of the input, so a resumed run starts at its resume point.', labelNames: ['source'], registers: [this.registry] })
  readonly sourceSizeBytes = new Gauge({ name: 'gearbridge_source_size_bytes', help: 'Total size of the source input when known up front (files only).', labelNames: ['source'], registers: [this.registry] })
  readonly records: Counter<'outcome'> = new Counter({ name: 'gearbridge_records_total', help: 'Records by terminal outcome: inserted, updated, skipped, failed, rejected, superseded, deleted, disabled, published.', labelNames: ['outcome'], registers: [this.registry], collect: (): void => this.outcomes.flush() })
  readonly deadLetters = new Counter({ name: 'gearbridge_dead_letters_total', help: 'Records written to the dead-letter file, by stage and stable reason code.', labelNames: ['stage', 'reason'], registers: [this.registry] })
  readonly passwords: Counter<'algorithm' | 'lane'> = new Counter({ name: 'gearbridge_password_lanes_total', help: 'Mapped records by recognized password hash algorithm and lane (imported, reset, rejected, none).', labelNames: ['algorithm', 'lane'], registers: [this.registry], collect: (): void => this.passwordLanes.flush() })
  readonly passwordNotApplied = new Counter({ name: 'gearbridge_password_not_applied_total', help: 'Updated users whose record carried a password that Authgear ignores on upsert.', registers: [this.registry] })
  readonly passwordNotAppliedUnchanged = new Counter({ name: 'gearbridge_password_not_applied_unchanged_total', help: 'Of gearbridge_password_not_applied_total: Debezium updates whose before image carried the same password and MFA secrets (lost only if the earlier version never reached Authgear with them).', registers: [this.registry] })
  readonly jobs = new Counter({ name: 'gearbridge_import_jobs_total', help: 'Import jobs by result: completed, crashed (top-level error), expired (404 while polling), split (413), quota_split (429 UsageLimitExceeded, halved to fit what is left of the quota), crash_split (records whose chunk crashed twice, halved to find the one that crashes it).', labelNames: ['result'], registers: [this.registry] })
  readonly jobsInFlight = new Gauge({ name: 'gearbridge_import_jobs_in_flight', help: 'Import jobs submitted and not yet completed.', registers: [this.registry] })
  readonly jobDuration = new Histogram({ name: 'gearbridge_import_job_duration_seconds', help: 'Time from job submission to completed status.', buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300], registers: [this.registry] })
  readonly requests = new Counter({ name: 'gearbridge_http_requests_total', help: 'Admin API requests by route and HTTP status (or network_error).', labelNames: ['route', 'status'], registers: [this.registry] })
  readonly requestDuration = new Histogram({ name: 'gearbridge_http_request_duration_seconds', help: 'Admin API request latency by route.', labelNames: ['route'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60], registers: [this.registry] })
  readonly retries = new Counter({ name: 'gearbridge_retries_total', help: 'Retried Admin API requests by reason: network, timeout, 5xx, 429.', labelNames: ['reason'], registers: [this.registry] })
  readonly resends = new Counter({ name: 'gearbridge_records_resent_total', help: 'Records sent in another job: after one that may have imported them: expired, crashed (their job ended before reporting them), ambiguous_submit (a POST retried after a failure that may have created a job), raced (found inserted at the same moment by that job); and handover (a table row refused for a login ID another row held, sent again once that row gave it up).', labelNames: ['reason'], registers: [this.registry] })
  readonly batchRecords = new Histogram({ name: 'gearbridge_batch_records', help: 'Records per import request.', buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000], registers: [this.registry] })
  readonly batchBytes = new Histogram({ name: 'gearbridge_batch_size_bytes', help: 'Serialized import request body size (the cap is 500,000 bytes).', buckets: [1e3, 1e4, 5e4, 1e5, 2e5, 3e5, 4e5, 4.5e5, 5e5], registers: [this.registry] })
  readonly quotaExhausted = new Gauge({ name: 'gearbridge_quota_exhausted', help: '1 while Authgear reports the import usage quota exhausted for the period.', labelNames: ['period'], registers: [this.registry] })
  readonly authFailures = new Counter({ name: 'gearbridge_auth_failures_total', help: 'Admin API requests refused with 403 (JWT not accepted).', registers: [this.registry] })
  readonly checkpointTimestamp = new Gauge({ name: 'gearbridge_checkpoint_timestamp_seconds', help: 'Unix time of the last committed checkpoint.', registers: [this.registry] })
  readonly checkpointCommits = new Counter({ name: 'gearbridge_checkpoint_commits_total', help: 'Checkpoint commits written.', registers: [this.registry] })
  readonly mappingWorkers = new Gauge({ name: 'gearbridge_mapping_workers', help: 'Mapping worker threads running; 0 while records are mapped on the main thread. That is so with `mapping.workers: 0`, for SQL, Kafka, gzipped, CSV and JSON-array sources, and under `auto` for exports under 32 MiB; under `auto` it starts at 1 and rises when another worker starts.', registers: [this.registry] })
  readonly pendingRecords = new Gauge({ name: 'gearbridge_pending_records', help: 'Records read but without a terminal outcome yet.', registers: [this.registry] })
  readonly kafkaLag = new Gauge({ name: 'gearbridge_kafka_consumer_lag', help: 'Messages between the last committed offset (before any commit, where the group starts) and the high watermark, per assigned partition.', labelNames: ['topic', 'partition'], registers: [this.registry] })
  readonly kafkaGroupMember = new Gauge({ name: 'gearbridge_kafka_group_member', help: '1 while this replica is a member of its consumer group (has an assignment, possibly empty).', registers: [this.registry] })
  readonly kafkaAssignedPartitions = new Gauge({ name: 'gearbridge_kafka_assigned_partitions', help: 'Partitions assigned to this replica.', registers: [this.registry] })
  readonly kafkaRebalances = new Counter({ name: 'gearbridge_kafka_rebalances_total', help: 'Consumer group rebalance events by kind: assign, revoke.', labelNames: ['kind'], registers: [this.registry] })
  readonly kafkaCommits = new Counter({ name: 'gearbridge_kafka_offset_commits_total', help: 'Partition offsets committed, by result: ok, error.', labelNames: ['result'], registers: [this.registry] })
  readonly deletes = new Counter({ name: 'gearbridge_deletes_total', help: 'Source deletes by action (ignore, disable, delete) and result (done, skipped, not_found, ambiguous, conflict, paused, failed).', labelNames: ['action', 'result'], registers: [this.registry] })
  readonly loginChanges = new Counter({ name: 'gearbridge_login_id_changes_total', help: 'Records whose identifier is a login ID their user was not imported with (a Debezium update, by its before image; a SQL row, by the login ledger), by result: followed (matched by an unchanged login ID, which updates the changed one), refused (dead-lettered as identifier_changed), conflict (a Debezium change followed, but the user found by that login ID may be another row\'s: not sent, dead-lettered as change_conflict).', labelNames: ['result'], registers: [this.registry] })
  readonly deletesPaused = new Gauge({ name: 'gearbridge_deletes_paused', help: '1 once the delete safety limit tripped: deletes are dead-lettered, not applied, until restart.', registers: [this.registry] })
  readonly exportDownloads = new Counter({ name: 'gearbridge_export_downloads_total', help: 'Export file downloads by result: ok, renewed (URL refused or broken off; a new URL was requested).', labelNames: ['result'], registers: [this.registry] })
  readonly exportBytes = new Counter({ name: 'gearbridge_export_bytes_total', help: 'Bytes of export files downloaded.', registers: [this.registry] })
  readonly reconcileUsers = new Counter({ name: 'gearbridge_reconcile_users_total', help: 'Users read by reconcile, by side: authgear (export) or source (mapped records, last version per identifier).', labelNames: ['side'], registers: [this.registry] })
  readonly reconcileMatched = new Counter({ name: 'gearbridge_reconcile_matched_users_total', help: 'Source users found in Authgear by normalized identifier.', registers: [this.registry] })
  readonly reconcileDifferences = new Counter({ name: 'gearbridge_reconcile_differences_total', help: 'Reconcile findings by kind: missing_in_authgear, merged_in_authgear, extra_in_authgear, field_mismatch (users), not_importable (merged_in_authgear and not_importable are not counted as differences against the threshold).', labelNames: ['kind'], registers: [this.registry] })
  readonly reconcileFieldDifferences = new Counter({ name: 'gearbridge_reconcile_field_differences_total', help: 'Differing fields of matched users, by field group.', labelNames: ['field'], registers: [this.registry] })
  readonly reconcilePasswordNotVerifiable = new Counter({ name: 'gearbridge_reconcile_password_not_verifiable_total', help: 'Matched users whose mapped record carried a password: Authgear does not export hashes, so it cannot be checked.', registers: [this.registry] })
  readonly reconcilePassed = new Gauge({ name: 'gearbridge_reconcile_passed', help: '1 when the last reconcile stayed within its threshold, 0 otherwise.', registers: [this.registry] })
  /** Per-record counts of `records` (by outcome) and `passwords` (by algorithm, lane), flushed on read. */
  readonly outcomes: LabelTally<'outcome'> = new LabelTally(this.records, 'outcome')
  readonly passwordLanes: LabelTally<'algorithm' | 'lane'> = new LabelTally(this.passwords, 'algorithm', 'lane')
  readonly runState = new Gauge({ name: 'gearbridge_run_state', help: '1 for the current state of the run: starting, running, draining, finished, stopped, failed.', labelNames: ['state'], registers: [this.registry] })

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry })
    // Pre-initialise bounded label sets so series exist (at 0) before the first event.
    for (const kind of OutcomeKinds) this.records.inc({ outcome: kind }, 0)
    for (const reason of ['network', 'timeout', '5xx', '429']) this.retries.inc({ reason }, 0)
    for (const result of ['completed', 'crashed', 'expired', 'split', 'quota_split', 'crash_split']) this.jobs.inc({ result }, 0)
    for (const period of ['day', 'month']) this.quotaExhausted.set({ period }, 0)
    this.authFailures.inc(0)
    this.passwordNotApplied.inc(0)
    this.passwordNotAppliedUnchanged.inc(0)
    for (const result of ['followed', 'refused', 'conflict']) this.loginChanges.inc({ result }, 0)
  }

  setRunState(state: 'starting' | 'running' | 'draining' | 'finished' | 'stopped' | 'failed'): void {
    for (const s of ['starting', 'running', 'draining', 'finished', 'stopped', 'failed']) this.runState.set({ state: s }, s === state ? 1 : 0)
  }
}
