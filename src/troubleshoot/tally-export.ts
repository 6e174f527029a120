import type { Kysely } from 'kysely';
import type { Member } from '../domain/member.ts';
import type { Services } from '../jobs/services.ts';
import type {
  ChargebackRow, CreditRow, GiftCardRow, InvoiceLineRow, InvoiceRow, JournalRow, MigratedMemberRow, MigrationQuarantineRow, PaymentAttemptRow, PaymentRow, RefundRow, Schema,
} from '../store/schema.ts';
import type { ExportedFile } from './legacy-export.ts';
import { tokenFingerprint } from './legacy-export.ts';
import type { Columns, ColumnType, ParquetTable, ParquetWriter } from './parquet-writer.ts';

const text: ColumnType = 'VARCHAR';
const minor: ColumnType = 'BIGINT';
const int: ColumnType = 'INTEGER';
const date: ColumnType = 'DATE';
/** Tally's instants are ISO text in UTC; DuckDB reads the Z and keeps them as UTC TIMESTAMPs. */
const instant: ColumnType = 'TIMESTAMP';

/** A member row as exported: the aggregate whole (`data`) and the columns a join wants without json_extract. */
interface MemberOut {
  id: string; version: number; country: string; status: string; next_due: string | null; email: string | null; currency: string; region: string | null;
  timezone: string; payment_token: string | null; gift_card_balance: number; credit_balance: number; invoice_count: number; subscriptions: number; data: string;
}

/** One of a member's subscriptions, out of the aggregate into rows of its own. */
interface SubscriptionOut {
  member_id: string; id: string; product: string; plan_id: string; status: string; currency: string; anchor: string; cycle: number; next_billing_date: string;
  period_start: string | null; period_end: string | null; since: string; cancel_at_period_end: boolean; pending_plan_id: string | null;
  discount_kind: string | null; discount_percent_off: number | null; discount_amount_off: number | null; discount_cycles_left: number | null; kept_price: number | null;
}

const memberColumns: Columns<MemberOut> = {
  id: text, version: int, country: text, status: text, next_due: date, email: text, currency: text, region: text, timezone: text, payment_token: text,
  gift_card_balance: minor, credit_balance: minor, invoice_count: int, subscriptions: int, data: 'JSON',
};
const subscriptionColumns: Columns<SubscriptionOut> = {
  member_id: text, id: text, product: text, plan_id: text, status: text, currency: text, anchor: date, cycle: int, next_billing_date: date,
  period_start: date, period_end: date, since: date, cancel_at_period_end: 'BOOLEAN', pending_plan_id: text,
  discount_kind: text, discount_percent_off: 'DECIMAL(9,4)', discount_amount_off: minor, discount_cycles_left: int, kept_price: minor,
};

/** Tally's ledger tables by member, amounts in integer minor units as stored. */
const ledgerColumns = {
  invoices: {
    id: text, member_id: text, number: int, subscription_id: text, kind: text, idem_key: text, country: text, region: text, currency: text,
    period_start: date, period_end: date, issued_on: date, subtotal: minor, discount: minor, tax: minor, total: minor, gift_card_applied: minor,
    credit_applied: minor, amount_due: minor, charged: minor, refunded: minor, status: text, attempt_count: int, first_failed_on: date, next_attempt_on: date,
    catalog_version: int,
  } satisfies Columns<Required<InvoiceRow>>,
  invoice_lines: {
    invoice_id: text, line_no: int, kind: text, description: text, plan_id: text, period_start: date, period_end: date, amount: minor, discount: minor,
    net: minor, tax: minor, total: minor, tax_rate_ppm: int, tax_name: text,
  } satisfies Columns<InvoiceLineRow>,
  payment_attempts: {
    idem_key: text, invoice_id: text, member_id: text, attempt_no: int, amount: minor, currency: text, status: text, decline_code: text, attempted_on: date, reference: text,
  } satisfies Columns<PaymentAttemptRow>,
  payments: { id: text, invoice_id: text, member_id: text, amount: minor, currency: text, reference: text, paid_on: date } satisfies Columns<PaymentRow>,
  refunds: {
    id: text, invoice_id: text, member_id: text, amount: minor, tax: minor, currency: text, reason: text, refunded_on: date, reference: text, status: text,
  } satisfies Columns<RefundRow>,
  chargebacks: { id: text, invoice_id: text, member_id: text, amount: minor, fee: minor, currency: text, received_on: date } satisfies Columns<ChargebackRow>,
  credits: { id: text, member_id: text, amount: minor, currency: text, reason: text, granted_on: date } satisfies Columns<CreditRow>,
  gift_cards: { code: text, amount: minor, currency: text, sold_on: date, member_id: text, redeemed_on: date } satisfies Columns<GiftCardRow>,
  journal: {
    id: 'BIGINT', entry_key: text, business_date: date, member_id: text, country: text, currency: text, kind: text, account: text, debit: minor, credit: minor,
  } satisfies Columns<JournalRow>,
};
type LedgerTable = keyof typeof ledgerColumns;

const migratedColumns = {
  member_id: text, source: text, country: text, source_key: text, source_mark: text, content_hash: text, member_version: int, invoices_left_out: int,
  run_id: int, migrated_at: instant,
} satisfies Columns<MigratedMemberRow>;
const quarantineColumns = {
  source: text, source_key: text, member_id: text, country: text, run_id: int, reasons: 'JSON', quarantined_at: instant,
} satisfies Columns<MigrationQuarantineRow>;

/** The rows of a page of members, each by the column it hangs off (invoice lines by their invoice). */
function ledgerRows(db: Kysely<Schema>, table: LedgerTable, ids: string[]): Promise<Record<string, unknown>[]> {
  switch (table) {
    case 'invoice_lines':
      return db.selectFrom('invoice_lines').innerJoin('invoices as i', 'i.id', 'invoice_lines.invoice_id').selectAll('invoice_lines')
        .where('i.member_id', 'in', ids).orderBy('invoice_lines.invoice_id').orderBy('invoice_lines.line_no').execute();
    case 'invoices':
      return db.selectFrom('invoices').selectAll().where('member_id', 'in', ids).orderBy('member_id').orderBy('number').execute();
    case 'payment_attempts':
      return db.selectFrom('payment_attempts').selectAll().where('member_id', 'in', ids).orderBy('idem_key').execute();
    case 'gift_cards':
      return db.selectFrom('gift_cards').selectAll().where('member_id', 'in', ids).orderBy('code').execute();
    case 'journal':
      return db.selectFrom('journal').selectAll().where('member_id', 'in', ids).orderBy('id').execute();
    default:
      return db.selectFrom(table).selectAll().where('member_id', 'in', ids).orderBy('id').execute();
  }
}

function flatten(row: Schema['members'], member: Member): { member: MemberOut; subscriptions: SubscriptionOut[] } {
  const shown = { ...member, paymentToken: tokenFingerprint(member.paymentToken) };
  return {
    member: {
      id: row.id, version: row.version, country: row.country, status: row.status, next_due: row.next_due, email: row.email, currency: member.currency,
      region: member.region, timezone: member.timezone, payment_token: shown.paymentToken, gift_card_balance: member.giftCardBalance, credit_balance: member.creditBalance,
      invoice_count: member.invoiceCount, subscriptions: member.subscriptions.length, data: JSON.stringify(shown),
    },
    subscriptions: member.subscriptions.map((s) => ({
      member_id: row.id, id: s.id, product: s.product, plan_id: s.planId, status: s.status, currency: member.currency, anchor: s.anchor, cycle: s.cycle,
      next_billing_date: s.nextBillingDate, period_start: s.periodStart, period_end: s.periodEnd, since: s.since, cancel_at_period_end: s.cancelAtPeriodEnd,
      pending_plan_id: s.pendingPlanId, discount_kind: s.discount?.kind ?? null, discount_percent_off: s.discount?.kind === 'percent' ? s.discount.percentOff : null,
      discount_amount_off: s.discount?.kind === 'amount' ? s.discount.amountOff : null, discount_cycles_left: s.discount?.cyclesLeft ?? null, kept_price: s.keptPrice ?? null,
    })),
  };
}

/** The number of Tally members of a country. */
export async function tallyMemberCount(svc: Services, country: string): Promise<number> {
  const row = await svc.memberStore.db.selectFrom('members').select((eb) => eb.fn.countAll<number>().as('n')).where('country', '=', country).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Write `tally_<table>.parquet`: the country's members (from the member store, which may be
 * split from the ledger), their subscriptions out of the aggregate, their ledger rows (from
 * the ledger store, by the page's member ids: the two stores cannot be joined in SQL), and the
 * country's migrated_members and migration_quarantine rows. One page of members in memory.
 */
export async function exportTallyCountry(svc: Services, country: string, writer: ParquetWriter, opts: { pageSize?: number; onMembers?: (done: number) => void } = {}): Promise<ExportedFile[]> {
  const pageSize = opts.pageSize ?? 500;
  const mdb = svc.memberStore.db;
  const members = await writer.table('tally_members.parquet', memberColumns);
  const subscriptions = await writer.table('tally_subscriptions.parquet', subscriptionColumns);
  const ledger = new Map<LedgerTable, ParquetTable>();
  for (const table of Object.keys(ledgerColumns) as LedgerTable[]) ledger.set(table, await writer.table(`tally_${table}.parquet`, ledgerColumns[table]));
  let after = '';
  let done = 0;
  for (;;) {
    const page = await mdb.selectFrom('members').selectAll().where('country', '=', country).where('id', '>', after).orderBy('id').limit(pageSize).execute();
    if (!page.length) break;
    for (const row of page) {
      const flat = flatten(row, JSON.parse(row.data) as Member);
      members.append([flat.member as unknown as Record<string, unknown>]);
      subscriptions.append(flat.subscriptions as unknown as Record<string, unknown>[]);
    }
    const ids = page.map((m) => m.id);
    for (const [table, file] of ledger) file.append(await ledgerRows(svc.store.db, table, ids));
    after = ids.at(-1)!;
    done += page.length;
    opts.onMembers?.(done);
    if (page.length < pageSize) break;
  }
  const out: ExportedFile[] = [
    { file: 'tally_members.parquet', rows: await members.finish(), from: `Tally member store: members where country = '${country}'` },
    { file: 'tally_subscriptions.parquet', rows: await subscriptions.finish(), from: "Tally member store: the members' aggregates (data.subscriptions), one row each" },
  ];
  for (const [table, file] of ledger) out.push({ file: `tally_${table}.parquet`, rows: await file.finish(), from: `Tally ledger store: ${table} of the country's members` });
  out.push(await byCountry(mdb, 'migrated_members', migratedColumns, country, writer, pageSize));
  out.push(await byCountry(mdb, 'migration_quarantine', quarantineColumns, country, writer, pageSize));
  return out;
}

async function byCountry(
  db: Kysely<Schema>, table: 'migrated_members' | 'migration_quarantine', columns: Record<string, ColumnType>, country: string, writer: ParquetWriter, pageSize: number,
): Promise<ExportedFile> {
  const file = await writer.table(`tally_${table}.parquet`, columns);
  // Keyset on the table's key: member_id, or the quarantine's (source, source_key).
  let after: { source: string; key: string } | null = null;
  for (;;) {
    const at = after;
    const page: { source: string; source_key: string; member_id: string }[] = table === 'migrated_members'
      ? await db.selectFrom('migrated_members').selectAll().where('country', '=', country).where('member_id', '>', at?.key ?? '').orderBy('member_id').limit(pageSize).execute()
      : await db.selectFrom('migration_quarantine').selectAll().where('country', '=', country)
        .where((eb) => (at ? eb.or([eb('source', '>', at.source), eb.and([eb('source', '=', at.source), eb('source_key', '>', at.key)])]) : eb.lit(true)))
        .orderBy('source').orderBy('source_key').limit(pageSize).execute();
    file.append(page as unknown as Record<string, unknown>[]);
    if (page.length < pageSize) break;
    const last = page.at(-1)!;
    after = { source: last.source, key: table === 'migrated_members' ? last.member_id : last.source_key };
  }
  return { file: `tally_${table}.parquet`, rows: await file.finish(), from: `Tally member store: ${table} where country = '${country}'` };
}
