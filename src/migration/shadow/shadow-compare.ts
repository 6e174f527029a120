import { declaredBy, type DeclaredRule } from '../../compare/declared-rules.ts';
import type { Difference } from '../../compare/report-format.ts';

/**
 * One invoice of day D as shadow billing compares it, from either side: the legacy's
 * `invoice_header` (amounts converted exactly to minor units, its plan through the plan
 * mapping) or Tally's shadow `invoices` row.
 */
export interface DayInvoice {
  member: string;
  /** The side's own name for it: the legacy's invoice number, Tally's invoice id. */
  ref: string;
  /** Tally's plan id (the legacy's plan code through the mapping); null when it has no plan line. */
  plan: string | null;
  periodStart: string;
  periodEnd: string;
  /** Minor units of the currency; a legacy amount with digits the currency has not keeps them as a fraction. */
  total: number;
  tax: number;
}

/** The fields compared, as a report and a rules file name them. */
export const shadowFields = ['shadow.plan', 'shadow.period_start', 'shadow.period_end', 'shadow.total', 'shadow.tax'] as const;
/** The field of a `missing` or `extra` invoice: its other side's value is null (declare one with `tally: null` or `source: null`). */
export const shadowInvoiceField = 'shadow.invoice';

const described = (i: DayInvoice) => JSON.stringify({ ref: i.ref, plan: i.plan, period_start: i.periodStart, period_end: i.periodEnd, total: i.total, tax: i.tax });

/**
 * Pair a member's invoices of day D, the legacy's against Tally's: first those of the same
 * plan and period start, then of the same plan, then what is left in order of period start;
 * an invoice left without a partner is `missing` (the legacy billed it, Tally would not) or
 * `extra` (Tally would bill it, the legacy did not). A pair's fields that differ are
 * `differs` rows. A declared rule that covers a row names it (counted apart, never a failure).
 */
export function compareDayInvoices(member: string, legacy: DayInvoice[], tally: DayInvoice[], rules: readonly DeclaredRule[], base: { source: string; country: string }): Difference[] {
  const left = [...legacy].sort(byPeriod);
  const right = [...tally].sort(byPeriod);
  const pairs: [DayInvoice, DayInvoice][] = [];
  const take = (match: (a: DayInvoice, b: DayInvoice) => boolean) => {
    for (let i = 0; i < left.length; i++) {
      const j = right.findIndex((b) => match(left[i]!, b));
      if (j < 0) continue;
      pairs.push([left[i]!, right[j]!]);
      left.splice(i--, 1);
      right.splice(j, 1);
    }
  };
  take((a, b) => a.plan === b.plan && a.periodStart === b.periodStart);
  take((a, b) => a.plan === b.plan);
  take(() => true);

  const out: Difference[] = [];
  const row = (kind: Difference['kind'], field: string, source: string | null, tallyValue: string | null, detail: string): Difference => {
    const rule = declaredBy(rules, { field, source_value: source, tally_value: tallyValue }, 1);
    return { ...base, member, kind, field, source_value: source, tally_value: tallyValue, rule: rule?.name ?? null, detail };
  };
  for (const [a, b] of pairs.sort((x, y) => byPeriod(x[0], y[0]))) {
    const detail = `legacy ${a.ref}, tally ${b.ref}`;
    const values: [string, unknown, unknown][] = [
      ['shadow.plan', a.plan, b.plan], ['shadow.period_start', a.periodStart, b.periodStart], ['shadow.period_end', a.periodEnd, b.periodEnd],
      ['shadow.total', a.total, b.total], ['shadow.tax', a.tax, b.tax],
    ];
    for (const [field, x, y] of values) if (x !== y) out.push(row('differs', field, JSON.stringify(x), JSON.stringify(y), detail));
  }
  for (const a of left) out.push(row('missing', shadowInvoiceField, described(a), null, `the legacy billed ${a.ref} on the day, Tally would not`));
  for (const b of right) out.push(row('extra', shadowInvoiceField, null, described(b), `Tally would bill ${b.ref} on the day, the legacy did not`));
  return out;
}

function byPeriod(a: DayInvoice, b: DayInvoice): number {
  return a.periodStart === b.periodStart ? (String(a.plan) < String(b.plan) ? -1 : String(a.plan) > String(b.plan) ? 1 : 0) : a.periodStart < b.periodStart ? -1 : 1;
}

/** A legacy DECIMAL(12,4) in minor units of a currency of `digits` decimals, exactly (a sub-unit amount keeps its fraction). */
export function legacyMinorUnits(ten4: bigint, digits: number): number {
  const step = 10n ** BigInt(4 - digits);
  if (ten4 % step === 0n) return Number(ten4 / step);
  return Number(ten4) / Number(step);
}
