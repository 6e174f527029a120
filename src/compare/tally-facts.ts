import { sql, type Kysely } from 'kysely';
import type { Services } from '../jobs/services.ts';
import { loadMembers } from '../store/members.ts';
import type { Schema } from '../store/schema.ts';
import type { MemberFacts } from './member-facts.ts';

/** What Tally holds of a migrated member besides its facts: who it was in the source and when it was loaded. */
export interface TallyMember {
  facts: MemberFacts;
  /** The member's version now, and the version the migration wrote. */
  version: number;
  migratedVersion: number | null;
  /** The source's change mark when the member was migrated. */
  migratedMark: string | null;
  /** The migration run that last wrote it. */
  runId: number | null;
}

export interface MigratedEntry {
  memberId: string;
  sourceKey: string;
  mark: string;
  version: number;
}

const part = 2000;

async function inParts<R>(ids: string[], read: (some: string[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < ids.length; i += part) out.push(...(await read(ids.slice(i, i + part))));
  return out;
}

/** Count and sum of `amount` per member of a ledger table, as a map. */
async function sums(db: Kysely<Schema>, table: 'payments' | 'refunds' | 'chargebacks', ids: string[]): Promise<Map<string, { n: number; amount: number }>> {
  const rows = await inParts(ids, (some) => {
    let q = db.selectFrom(table).select((eb) => ['member_id', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('amount').as('amount')]).where('member_id', 'in', some);
    // A refund Tally has not settled yet (or that failed) moved no money.
    if (table === 'refunds') q = q.where('status', '=', 'succeeded');
    return q.groupBy('member_id').execute();
  });
  return new Map(rows.map((r) => [r.member_id, { n: Number(r.n), amount: Number(r.amount ?? 0) }]));
}

/**
 * Tally's side of the comparison for some members: their aggregates and ledger sums, read
 * set-based (one query per table for a page of members), and the migration's record of them.
 * Members Tally does not have are absent from the map.
 */
export async function tallyFacts(svc: Pick<Services, 'store' | 'memberStore'>, ids: string[]): Promise<Map<string, TallyMember>> {
  const ledger = svc.store.db;
  const [members, migrated, invoices, repaired, payments, declined, refunds, chargebacks] = await Promise.all([
    loadMembers(svc.memberStore.db, ids),
    inParts(ids, (some) => svc.memberStore.db.selectFrom('migrated_members').select(['member_id', 'source_mark', 'member_version', 'run_id']).where('member_id', 'in', some).execute()),
    inParts(ids, (some) => ledger.selectFrom('invoices')
      .select((eb) => ['member_id', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('total').as('total'), eb.fn.sum<number>('tax').as('tax'),
        eb.fn.sum<number>(sql<number>`case when status = 'void' then 1 else 0 end`).as('void'),
        eb.fn.sum<number>(sql<number>`case when status in ('open', 'past_due', 'uncollectible') then 1 else 0 end`).as('unpaid'),
        eb.fn.max('issued_on').as('last')])
      .where('member_id', 'in', some).groupBy('member_id').execute()),
    // The migration's repaired invoices: one line that says it carries the legacy header's amounts.
    inParts(ids, (some) => ledger.selectFrom('invoice_lines as l').innerJoin('invoices as i', 'i.id', 'l.invoice_id')
      .select((eb) => ['i.member_id', eb.fn.count<number>('l.invoice_id').distinct().as('n')])
      .where('i.member_id', 'in', some).where('l.description', 'like', 'as billed by the legacy (%').groupBy('i.member_id').execute()),
    sums(ledger, 'payments', ids),
    inParts(ids, (some) => ledger.selectFrom('payment_attempts').select((eb) => ['member_id', eb.fn.countAll<number>().as('n')])
      .where('member_id', 'in', some).where('status', '=', 'declined').groupBy('member_id').execute()),
    sums(ledger, 'refunds', ids),
    sums(ledger, 'chargebacks', ids),
  ]);
  const migratedOf = new Map(migrated.map((r) => [r.member_id, r]));
  const invoicesOf = new Map(invoices.map((r) => [r.member_id, r]));
  const declinedOf = new Map(declined.map((r) => [r.member_id, Number(r.n)]));
  const repairedOf = new Map(repaired.map((r) => [r.member_id, Number(r.n)]));
  const out = new Map<string, TallyMember>();
  for (const [id, m] of members) {
    const inv = invoicesOf.get(id);
    const record = migratedOf.get(id);
    const facts: MemberFacts = {
      member: id,
      email: m.email,
      currency: m.currency,
      timezone: m.timezone,
      paymentToken: m.paymentToken || null,
      giftCardBalance: m.giftCardBalance,
      creditBalance: m.creditBalance,
      invoicesAll: m.invoiceCount,
      invoices: Number(inv?.n ?? 0),
      invoicesTotal: Number(inv?.total ?? 0),
      invoicesTax: Number(inv?.tax ?? 0),
      invoicesRepaired: repairedOf.get(id) ?? 0,
      invoicesVoid: Number(inv?.void ?? 0),
      invoicesUnpaid: Number(inv?.unpaid ?? 0),
      lastIssuedOn: inv?.last ? String(inv.last).slice(0, 10) : null,
      payments: payments.get(id)?.n ?? 0,
      paymentsAmount: payments.get(id)?.amount ?? 0,
      declines: declinedOf.get(id) ?? 0,
      refunds: refunds.get(id)?.n ?? 0,
      refundsAmount: refunds.get(id)?.amount ?? 0,
      chargebacks: chargebacks.get(id)?.n ?? 0,
      chargebacksAmount: chargebacks.get(id)?.amount ?? 0,
      subscriptions: m.subscriptions.map((s) => ({
        plan: s.planId, status: s.status, paidThrough: s.status === 'cancelled' ? null : s.periodEnd, cancelAtPeriodEnd: s.cancelAtPeriodEnd,
        discountCyclesLeft: s.discount?.cyclesLeft ?? null,
      })),
    };
    out.set(id, { facts, version: m.version, migratedVersion: record ? Number(record.member_version) : null, migratedMark: record?.source_mark ?? null, runId: record ? Number(record.run_id) : null });
  }
  return out;
}

/** A country's migrated members from one source, a keyset page at a time (for the members the source no longer has). */
export async function migratedPage(db: Kysely<Schema>, source: string, country: string, after: string, limit: number): Promise<MigratedEntry[]> {
  const rows = await db.selectFrom('migrated_members').select(['member_id', 'source_key', 'source_mark', 'member_version'])
    .where('country', '=', country).where('source', '=', source).where('member_id', '>', after).orderBy('member_id').limit(limit).execute();
  return rows.map((r) => ({ memberId: r.member_id, sourceKey: r.source_key, mark: r.source_mark, version: Number(r.member_version) }));
}

/** Which of these members this source's migration wrote into Tally for the country. */
export async function migratedOf(db: Kysely<Schema>, source: string, country: string, ids: string[]): Promise<Set<string>> {
  const rows = await inParts(ids, (some) => db.selectFrom('migrated_members').select('member_id').where('source', '=', source).where('country', '=', country).where('member_id', 'in', some).execute());
  return new Set(rows.map((r) => r.member_id));
}

/** The country's quarantined source members: member id → reasons (one line). */
export async function quarantined(db: Kysely<Schema>, source: string, country: string, ids?: string[]): Promise<Map<string, string>> {
  const rows = ids
    ? await inParts(ids, (some) => db.selectFrom('migration_quarantine').select(['member_id', 'reasons']).where('source', '=', source).where('country', '=', country).where('member_id', 'in', some).execute())
    : await db.selectFrom('migration_quarantine').select(['member_id', 'reasons']).where('source', '=', source).where('country', '=', country).execute();
  return new Map(rows.map((r) => [r.member_id, (JSON.parse(r.reasons) as { reason: string; detail: string }[]).map((x) => `${x.reason}: ${x.detail}`).join('; ')]));
}
