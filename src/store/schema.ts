import type { Generated } from 'kysely';

/** Table shapes as the query builder sees them; amounts are integer minor units, dates ISO 'YYYY-MM-DD'. */
export interface Schema {
  members: MemberRow;
  invoices: InvoiceRow;
  invoice_lines: InvoiceLineRow;
  billing_history: BillingHistoryRow;
  payment_attempts: PaymentAttemptRow;
  payments: PaymentRow;
  refunds: RefundRow;
  chargebacks: ChargebackRow;
  gift_cards: GiftCardRow;
  credits: CreditRow;
  journal: JournalRow;
  outbox: OutboxRow;
  job_runs: JobRunRow;
  revenue_days: RevenueDayRow;
  processor_charges: ProcessorChargeRow;
  api_keys: ApiKeyRow;
  idempotency_keys: IdempotencyKeyRow;
  audit_log: AuditRow;
  job_locks: JobLockRow;
  ledger_postings: LedgerPostingRow;
  processed_events: ProcessedEventRow;
  dead_letters: DeadLetterRow;
  member_claims: MemberClaimRow;
  applied_postings: AppliedPostingRow;
  migration_runs: MigrationRunRow;
  migrated_members: MigratedMemberRow;
  migration_quarantine: MigrationQuarantineRow;
  catalog_versions: CatalogVersionRow;
  compare_runs: CompareRunRow;
  proxy_routes: ProxyRouteRow;
  proxy_route_changes: ProxyRouteChangeRow;
  member_directory: MemberDirectoryRow;
  cutover_runs: CutoverRunRow;
  cutover_steps: CutoverStepRow;
  proxy_heartbeats: ProxyHeartbeatRow;
  archive_policy: ArchivePolicyRow;
  archive_files: ArchiveFileRow;
  forgotten_members: ForgottenMemberRow;
  legacy_history_archived: LegacyHistoryArchivedRow;
}

/** One `tally compare` run (see migrations/0009-compare.ts). */
export interface CompareRunRow {
  id: Generated<number>;
  /** `members`, `tables` or `shadow` (tally shadow). */
  mode: string;
  source: string;
  /** '' for table mode. */
  country: string;
  /** `running`, `clean`, `differences`, `failed`, `interrupted`. */
  status: string;
  started_at: string;
  finished_at: string | null;
  /** The folder holding report.jsonl, report.parquet and summary.json. */
  report_dir: string | null;
  options: string;
  counts: string;
  error: string | null;
}

/** One catalog version, whole and never changed (see migrations/0008-catalog.ts). */
export interface CatalogVersionRow {
  version: number;
  created_at: string;
  created_by: string;
  reason: string;
  /** SHA-256 (hex) of the normalized document: an import of the same content makes no new version. */
  content_hash: string;
  plans: number;
  prices: number;
  /** JSON of the catalog document. */
  document: string;
}

/** One run of `tally migrate` for one country; `cursor` is committed with each loaded chunk. */
export interface MigrationRunRow {
  id: Generated<number>;
  source: string;
  country: string;
  /** `load`, `since-last`, `resume` or `clear`. */
  mode: string;
  /** `running`, `finished`, `finished_with_errors`, `interrupted`, `failed`. */
  status: string;
  started_at: string;
  finished_at: string | null;
  /** The source's keyset cursor after the last committed chunk. */
  cursor: string | null;
  options: string;
  counts: string;
  errors: string;
}

/** A source member loaded into Tally, and what is needed to load it again only when it changed. */
export interface MigratedMemberRow {
  member_id: string;
  source: string;
  country: string;
  source_key: string;
  /** The latest change time among the member's source rows (the source's clock, as the source writes it). */
  source_mark: string;
  /** Hash of everything loaded for the member: equal means a re-run has nothing to write. */
  content_hash: string;
  /** The member's version as the migration wrote it: a higher one means Tally has changed the member since. */
  member_version: number;
  /** Invoices older than the horizon, kept out of the hot store (the archive's to take). */
  invoices_left_out: number;
  run_id: number;
  migrated_at: string;
}

/** A source member that could not be carried over exactly, and why; nothing of it is loaded. */
export interface MigrationQuarantineRow {
  source: string;
  source_key: string;
  member_id: string;
  country: string;
  run_id: number;
  /** JSON array of { reason, detail, source: [{ table, key }] }. */
  reasons: string;
  quarantined_at: string;
}

/** A split-store posting the ledger has applied (by its key), so a second applier skips it. */
export interface AppliedPostingRow {
  posting_key: string;
  applied_at: string;
}

/** A value unique across members (scope `gift-card`: a code), held by the member whose commit claimed it. */
export interface MemberClaimRow {
  scope: string;
  claim: string;
  member_id: string;
  claimed_at: string;
}

export interface LedgerPostingRow {
  id: Generated<number>;
  created_at: string;
  /** JSON of the LedgerPosting to apply. */
  body: string;
}

export interface MemberRow {
  id: string;
  version: number;
  country: string;
  status: string;
  /** Earliest date renewal has work for this member: the due index, so renewal costs what is due, not what exists. */
  next_due: string | null;
  email: string | null;
  data: string;
}

export interface InvoiceRow {
  id: string;
  member_id: string;
  number: number;
  subscription_id: string;
  kind: string;
  idem_key: string;
  country: string;
  region: string | null;
  currency: string;
  period_start: string;
  period_end: string;
  issued_on: string;
  subtotal: number;
  discount: number;
  tax: number;
  total: number;
  gift_card_applied: number;
  credit_applied: number;
  amount_due: number;
  charged: number;
  refunded: number;
  status: string;
  attempt_count: number;
  first_failed_on: string | null;
  /** The collection index: the day the next charge attempt is due, null when none is scheduled. */
  next_attempt_on: string | null;
  /** The catalog version the invoice was billed with: 0 the built-in catalog, null unknown (issued before versions, or migrated). */
  catalog_version?: number | null;
}

export interface InvoiceLineRow {
  invoice_id: string;
  line_no: number;
  kind: string;
  description: string;
  plan_id: string;
  period_start: string;
  period_end: string;
  amount: number;
  discount: number;
  net: number;
  tax: number;
  total: number;
  tax_rate_ppm: number;
  tax_name: string;
}

/**
 * The member's billing history as the API serves it: one row per invoice, keyed by
 * member and number so a page is one range read, holding the invoice's public JSON.
 * Derived from invoices and invoice_lines and written in the same transaction.
 */
export interface BillingHistoryRow {
  member_id: string;
  number: number;
  /** JSON of every field but the lines; rewritten whenever the invoice changes. */
  invoice: string;
  /** JSON array of the lines, written when the invoice is issued. */
  lines: string;
}

export interface PaymentAttemptRow {
  idem_key: string;
  invoice_id: string;
  member_id: string;
  attempt_no: number;
  amount: number;
  currency: string;
  status: string;
  decline_code: string | null;
  attempted_on: string;
  reference: string | null;
}

export interface PaymentRow {
  id: string;
  invoice_id: string;
  member_id: string;
  amount: number;
  currency: string;
  reference: string;
  paid_on: string;
}

export interface RefundRow {
  id: string;
  invoice_id: string;
  member_id: string;
  amount: number;
  tax: number;
  currency: string;
  reason: string;
  refunded_on: string;
  /** The gateway's refund reference; empty while pending. */
  reference: string;
  /** `pending`: the intent, committed before the gateway is called; then `succeeded` or `failed`. */
  status: string;
}

export interface ChargebackRow {
  id: string;
  invoice_id: string;
  member_id: string;
  amount: number;
  fee: number;
  currency: string;
  received_on: string;
}

export interface GiftCardRow {
  code: string;
  amount: number;
  currency: string;
  sold_on: string;
  member_id: string | null;
  redeemed_on: string | null;
}

export interface CreditRow {
  id: string;
  member_id: string;
  amount: number;
  currency: string;
  reason: string;
  granted_on: string;
}

export interface JournalRow {
  id: Generated<number>;
  entry_key: string;
  business_date: string;
  member_id: string;
  country: string;
  currency: string;
  kind: string;
  account: string;
  debit: number;
  credit: number;
}

export interface OutboxRow {
  id: Generated<number>;
  event_id: string;
  member_id: string;
  type: string;
  occurred_on: string;
  payload: string;
  created_at: string;
  published_at: string | null;
}

export interface JobRunRow {
  id: Generated<number>;
  job: string;
  business_date: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  counts: string;
  errors: string;
}

export interface RevenueDayRow {
  business_date: string;
  closed_at: string;
  report: string;
}

/** The simulated card processor's own records: an external system's state, committed independently of ours. */
export interface ProcessorChargeRow {
  idem_key: string;
  kind: string;
  token: string;
  amount: number;
  currency: string;
  status: string;
  code: string | null;
  reference: string;
  calls: number;
}

export interface ApiKeyRow {
  id: string;
  name: string;
  role: string;
  secret_hash: string;
  created_at: string;
  revoked_at: string | null;
}

export interface IdempotencyKeyRow {
  api_key_id: string;
  idem_key: string;
  request_hash: string;
  /** Null while the first request with this key is still being handled. */
  status_code: number | null;
  response: string | null;
  created_at: string;
}

/**
 * Append-only for the service: only the archive deletes an audit row (once a verified file holds it), and
 * only forgetting a member rewrites one (its personal data scrubbed from request, before and after).
 */
export interface AuditRow {
  id: Generated<number>;
  at: string;
  actor: string;
  action: string;
  member_id: string;
  reason: string;
  request: string;
  before: string | null;
  after: string | null;
}

export interface JobLockRow {
  job: string;
  owner: string;
  expires_at: number;
  /** When the current holder took the lease (kept while it renews it). */
  acquired_at: string | null;
}

export interface ProcessedEventRow {
  consumer: string;
  event_id: string;
  processed_at: string;
}

export interface DeadLetterRow {
  id: Generated<number>;
  consumer: string;
  /** The dead-letter queue the consumer names; the consumer is who replays it. */
  destination: string;
  event_id: string;
  type: string;
  /** The message as published (JSON), so a replay delivers exactly what failed. */
  message: string;
  error: string;
  attempts: number;
  failed_at: string;
}

/** Where a country's member calls go (see migrations/0010-proxy.ts). */
export interface ProxyRouteRow {
  country: string;
  /** `legacy`, `frozen` or `tally`. */
  state: string;
  /** 0–100: the members (by a hash of their id) sent to Tally whatever the state. */
  canary_percent: number;
  updated_at: string;
  updated_by: string;
}

export interface ProxyRouteChangeRow {
  id: Generated<number>;
  country: string;
  from_state: string | null;
  to_state: string;
  canary_percent: number;
  changed_at: string;
  changed_by: string;
  reason: string | null;
}

/** Member id → country, for routing a call that names only the member. */
export interface MemberDirectoryRow {
  member_id: string;
  country: string;
  /** Where the country was learnt: `legacy`, `tally` or `signup`. */
  seen_in: string;
  updated_at: string;
}

/** One `tally cutover XX` (see migrations/0012-cutover.ts). */
export interface CutoverRunRow {
  id: Generated<number>;
  country: string;
  /** 100 for the whole country; less for a canary cohort. */
  cohort_percent: number;
  /** `running`, `finished`, `stopped` (a check failed; the route is back where it was), `aborted`. */
  status: string;
  /** The route the run started from: where an abort returns. */
  from_state: string;
  from_canary_percent: number;
  options: string;
  started_at: string;
  finished_at: string | null;
  /** From the freeze to the moment every proxy had seen the flip. */
  freeze_seconds: number | null;
  /** Why it stopped, or what it did (JSON). */
  outcome: string | null;
}

export interface CutoverStepRow {
  run_id: number;
  step: string;
  started_at: string;
  finished_at: string | null;
  detail: string | null;
}

export interface ProxyHeartbeatRow {
  proxy_id: string;
  routes_read_at: string;
  /** JSON: country → writes forwarded and not yet answered. */
  in_flight: string;
}

/** One retention policy set with `tally archive policy set` (see migrations/0013-archive.ts). */
export interface ArchivePolicyRow {
  version: number;
  set_at: string;
  set_by: string;
  document: string;
}

/** The archive's manifest: one Parquet file. */
export interface ArchiveFileRow {
  id: Generated<number>;
  /** The files whose hot rows are deleted together (an invoice file and its lines file). */
  batch: string;
  class: string;
  table_name: string;
  /** ISO country, or `_` for rows of no country (job runs, revenue days). */
  country: string;
  year: number;
  path: string;
  /** `writing`, `written`, `verified`, `archived`; `rejected`, `expired`, `superseded`. */
  state: string;
  row_count: number;
  bytes: number;
  /** Of the hot rows as read, compared with the same checksum of the rows read back from the file. */
  checksum: string;
  /** SHA-256 of the file's bytes as written: a byte changed on disk since is found even where DuckDB would not notice (statistics, padding). */
  file_digest: string;
  min_date: string | null;
  max_date: string | null;
  run_id: number;
  created_at: string;
  updated_at: string;
  error: string | null;
}

export interface ForgottenMemberRow {
  member_id: string;
  forgotten_at: string;
  forgotten_by: string;
  reason: string;
  files_rewritten: number;
}

/** A migrated member whose source history older than the migration's horizon is in the archive. */
export interface LegacyHistoryArchivedRow {
  member_id: string;
  /** The archive batch (archive_files.batch) holding it. */
  batch: string;
  invoices: number;
  archived_at: string;
}
