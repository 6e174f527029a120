/**
 * The compare report's rows, as written to report.jsonl and report.parquet (one column per
 * field, the same names) and read back by `--members-from` and `tally export`.
 *
 * Kinds are relative to the direction compared, so the same report proves the way back
 * (Tally → legacy after back-sync): `missing` is in the source of truth but not in the
 * target, `extra` in the target but not in the source; `differs` names a field with both
 * values; `stale` is a member the source changed after it was migrated (not a defect:
 * `tally migrate --since-last` brings it up); `quarantined` a member the migration held
 * back with its reasons (known, listed by `tally migrate report`).
 */
export type DifferenceKind = 'missing' | 'extra' | 'differs' | 'stale' | 'quarantined';

export interface Difference {
  source: string;
  country: string;
  /** The member id (in Tally, the legacy's account number). */
  member: string;
  kind: DifferenceKind;
  /** The field that differs (`differs`), else null. */
  field: string | null;
  /** Both sides' values as JSON text, null where a side has none. */
  source_value: string | null;
  tally_value: string | null;
  /** The declared rule (`--rules`) this difference is accepted under: counted apart, never a failure. */
  rule: string | null;
  detail: string | null;
}

export const reportFiles = { jsonl: 'report.jsonl', parquet: 'report.parquet', summary: 'summary.json' } as const;
