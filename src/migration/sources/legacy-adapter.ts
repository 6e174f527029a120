import { Temporal } from 'temporal-polyfill';
import type { IsoDate } from '../../domain/calendar.ts';
import type { CatalogIndex } from '../../domain/catalog.ts';
import type { LegacySchema } from '../../legacy/index.ts';
import type { TransformOutcome } from '../load.ts';
import type { SourceAdapter } from '../migrate-country.ts';
import type { PlanMapping } from '../plan-mapping.ts';
import { transformLegacyHistory } from '../transform/legacy-history.ts';
import { transformLegacyMember } from '../transform/legacy-member.ts';
import type { LegacyMember, LegacySource } from './legacy-source.ts';

export interface LegacyContext {
  catalog: CatalogIndex;
  plans: PlanMapping;
  promotions: ReadonlyMap<number, LegacySchema['promotion']>;
  pricePoints: readonly LegacySchema['price_point'][];
  asOf: IsoDate;
  horizonMonths: number;
}

/**
 * The latest change time among a legacy member's rows, in the legacy's own clock and
 * format ('YYYY-MM-DD HH:MM:SS' text compares in time order): rows with an update stamp
 * give it, rows the legacy only ever inserts give their creation time.
 */
export function legacyMark(m: LegacyMember): string {
  let mark = String(m.customer.updated_dt);
  const later = (ts: string | null | undefined) => {
    if (ts && String(ts) > mark) mark = String(ts);
  };
  for (const a of m.accounts) later(a.updated_dt);
  for (const s of m.subscriptions) later(s.updated_dt);
  for (const e of m.emails) later(e.created_dt);
  for (const p of m.paymentMethods) later(p.created_dt);
  for (const h of m.history) later(h.event_dt);
  for (const i of m.invoices) later(i.inv_dt);
  for (const t of m.payments) later(t.txn_dt);
  for (const t of m.giftCardTxns) later(t.txn_dt);
  for (const c of m.creditMemos) later(c.issued_dt);
  return mark;
}

/** One legacy member whole: its aggregate, then its history, or every reason it cannot be carried over. */
export function transformLegacy(m: LegacyMember, ctx: LegacyContext): TransformOutcome {
  const who = { sourceKey: String(m.custId), memberId: m.key, mark: legacyMark(m) };
  const aggregate = transformLegacyMember(m, ctx);
  if (aggregate.quarantine) return { ...who, reasons: aggregate.quarantine };
  const history = transformLegacyHistory(m, aggregate.member, ctx);
  if (history.quarantine) return { ...who, reasons: history.quarantine };
  return { ...who, member: { ...aggregate.member, invoiceCount: history.history.invoiceCount }, history: history.history };
}

export function legacyAdapter(source: LegacySource, ctx: LegacyContext): SourceAdapter<LegacyMember> {
  return {
    source,
    identify: (m) => ({ sourceKey: String(m.custId), memberId: m.key, mark: legacyMark(m) }),
    transform: (m) => transformLegacy(m, ctx),
    // Two days' margin: a legacy (Los Angeles) timestamp is at most a day off the member's date.
    historySince: Temporal.PlainDate.from(ctx.asOf).subtract({ months: ctx.horizonMonths, days: 2 }).toString(),
  };
}
