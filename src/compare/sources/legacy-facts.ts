import { sql, type Expression, type SqlBool } from 'kysely';
import { Temporal } from 'temporal-polyfill';
import { legacyCountries, type LegacyDb, type LegacySchema } from '../../legacy/index.ts';
import { groupBy as byKey, inChunks, inSnapshot, inTurn } from '../../migration/sources/legacy-source.ts';

/** Keys per query: a page's accounts in one IN list, within every engine's bound on parameters. */
const chunked = <T, R>(ids: T[], read: (part: T[]) => Promise<R[]>) => inChunks(ids, read, 2000);
import type { MemberFacts, SubscriptionFacts } from '../member-facts.ts';
import type { FactsWindow, LegacyFacts, SourceMember } from './source-facts.ts';

// The comparator's source interface lives in source-facts.ts; these names stay importable from here.
export type { FactsWindow, LegacyFacts, SourceFacts, SourceMember } from './source-facts.ts';

type Db = LegacyDb['db'];

// The legacy's code tables, read the legacy's way: subscription status numbers and invoice letters.
const subscriptionStatus: Record<number, string> = { 1: 'active', 2: 'on_hold', 3: 'cancelled', 4: 'trial', 5: 'past_due' };
const openInvoiceCodes = ['O', 'F', 'U'];
const countryZone = new Map(legacyCountries.map((c) => [c.cd, c.tz]));

const day = (ts: unknown): string | null => (ts === null || ts === undefined ? null : String(ts).slice(0, 10));
const later = (a: string, b: unknown): string => (b !== null && b !== undefined && String(b) > a ? String(b) : a);
const num = (v: unknown): number => Number(v ?? 0);

/** Ten-thousandths (as the database summed them) → minor units of a currency with `digits` decimals; a remainder stays a decimal text. */
function minor(tenThousandths: unknown, digits: number): number | string {
  const v = Math.round(Number(tenThousandths ?? 0));
  const factor = 10 ** (4 - digits);
  return v % factor === 0 ? v / factor : (v / 10_000).toFixed(4);
}

// Minutes from the legacy's wall clock to a zone's, by zone and hour: offsets change on the hour, so one
// Temporal conversion an hour serves every timestamp in it (a country's history is millions of them).
const shifts = new Map<string, number>();

/** The calendar date in `zone` of a legacy timestamp (Los Angeles wall-clock time, no zone stored). */
function dateIn(timestamp: string, zone: string): string {
  const hour = `${zone}|${timestamp.slice(0, 13)}`;
  let shift = shifts.get(hour);
  if (shift === undefined) {
    const at = Temporal.PlainDateTime.from(`${timestamp.slice(0, 13).replace(' ', 'T')}:00`).toZonedDateTime('America/Los_Angeles', { disambiguation: 'compatible' });
    shift = (at.withTimeZone(zone).offsetNanoseconds - at.offsetNanoseconds) / 60e9;
    shifts.set(hour, shift);
  }
  const minutes = Number(timestamp.slice(11, 13) || 0) * 60 + Number(timestamp.slice(14, 16) || 0) + shift;
  const midnight = Date.UTC(Number(timestamp.slice(0, 4)), Number(timestamp.slice(5, 7)) - 1, Number(timestamp.slice(8, 10)));
  return new Date(midnight + Math.floor(minutes / 1440) * 86_400_000).toISOString().slice(0, 10);
}

/**
 * The reference legacy's members as the comparator sees them: each derived from the legacy
 * tables by set-based SQL aggregates per account (counts and sums computed in the database
 * in exact ten-thousandths), not by the migration's extract or transform. The rules it
 * applies are the legacy's, written down here a second time on purpose: where this reading
 * and the migration's disagree, one of them is wrong, and the report says where.
 */
export function legacyFacts(legacy: LegacyDb, window: FactsWindow): LegacyFacts {
  const { db } = legacy;
  const earliest = Temporal.PlainDate.from(window.horizons.earliest);
  const latest = Temporal.PlainDate.from(window.horizons.latest);
  // An invoice stamped (Los Angeles) a day or more after the latest horizon is inside every member's window in
  // every zone, one stamped before the day ahead of the earliest outside; those between are decided invoice by
  // invoice, in the member's zone against the member's horizon.
  const inside = `${latest.add({ days: 1 }).toString()} 00:00:00`;
  const outside = `${earliest.subtract({ days: 1 }).toString()} 00:00:00`;
  // What a migration's extract reads of the history (two days' margin): the rows its change mark is taken over.
  const read = `${earliest.subtract({ days: 2 }).toString()} 00:00:00`;
  const country = sql<string>`upper(trim(${sql.ref('customer.country_cd')}))`;
  let codes: Map<string, { cd3: string; digits: number }> | undefined;
  const reference = async () => {
    codes ??= new Map((await db.selectFrom('country').select(['country_cd', 'country_cd3', 'currency_digits']).execute())
      .map((c) => [c.country_cd.trim().toUpperCase(), { cd3: c.country_cd3.trim().toUpperCase(), digits: Number(c.currency_digits) }]));
    return codes;
  };
  const bucket = (h: string) => sql<string>`case when ${sql.ref(`${h}.status_cd`)} in (${sql.join(openInvoiceCodes.map((c) => sql.lit(c)))}) or ${sql.ref(`${h}.inv_dt`)} >= ${sql.lit(inside)} then 'in'
    when ${sql.ref(`${h}.inv_dt`)} < ${sql.lit(read)} then 'out' when ${sql.ref(`${h}.inv_dt`)} < ${sql.lit(outside)} then 'near' else 'edge' end`;
  const edgeId = (h: string) => sql<number>`case when ${sql.ref(`${h}.status_cd`)} in (${sql.join(openInvoiceCodes.map((c) => sql.lit(c)))}) or ${sql.ref(`${h}.inv_dt`)} >= ${sql.lit(inside)} or ${sql.ref(`${h}.inv_dt`)} < ${sql.lit(outside)} then 0 else ${sql.ref(`${h}.inv_id`)} end`;
  const tenK = (col: string) => sql<number>`round(${sql.ref(col)} * 10000)`;
  // The history a migration reads, in two parts: the recent (a range of each account's date index) and the older
  // invoices an open process still needs, found once per page (few, often none). One OR of the two would read
  // every invoice of every account in each query.
  const recent = sql<SqlBool>`h.inv_dt >= ${sql.lit(read)}`;
  const inWindow = async <R>(ids: number[], olderOpen: number[], read: (some: number[], part: Expression<SqlBool>) => Promise<R[]>): Promise<R[]> => {
    const out = await chunked(ids, (some) => read(some, recent));
    if (olderOpen.length) out.push(...(await chunked(ids, (some) => read(some, sql<SqlBool>`h.inv_id in (${sql.join(olderOpen)})`))));
    return out;
  };
  async function members(which: (db: Db, spellings: string[]) => Promise<LegacySchema['customer'][]>, countryCode: string): Promise<SourceMember[]> {
    const ref = await reference();
    const spellings = [countryCode, ...(ref.get(countryCode) ? [ref.get(countryCode)!.cd3] : [])];
    const digits = ref.get(countryCode)?.digits ?? 2;
    return inSnapshot(db, async (db) => {
      const customers = await which(db, spellings);
      if (!customers.length) return [];
      const custIds = customers.map((c) => Number(c.cust_id));
      const [emails, accounts] = await inTurn(
        () => chunked(custIds, (ids) => db.selectFrom('customer_email').select(['cust_id', 'email_id', 'email_addr', 'primary_flg', 'deleted_flg', 'created_dt']).where('cust_id', 'in', ids).orderBy('email_id').execute()),
        () => chunked(custIds, (ids) => db.selectFrom('account').select(['acct_id', 'cust_id', 'currency_cd', 'tz_nm', 'updated_dt']).where('cust_id', 'in', ids).orderBy('acct_id').execute()),
      );
      const acctIds = accounts.map((a) => Number(a.acct_id));
      const olderOpen = (await chunked(acctIds, (ids) => db.selectFrom('invoice_header as h').select('h.inv_id').where('h.acct_id', 'in', ids)
        .where(sql<SqlBool>`h.inv_dt < ${sql.lit(read)}`).where('h.status_cd', 'in', openInvoiceCodes).execute())).map((r) => Number(r.inv_id));
      const [methods, subs, history, invoiceCounts, invoices, payments, lastBilled, redemptions, gifts, memos] = await inTurn(
        () => chunked(acctIds, (ids) => db.selectFrom('payment_method').select(['acct_id', 'pm_id', 'token', 'status_cd', 'deleted_flg', 'created_dt']).where('acct_id', 'in', ids).orderBy('pm_id').execute()),
        () => chunked(acctIds, (ids) => db.selectFrom('subscription').select(['acct_id', 'sub_id', 'plan_cd', 'status_cd', 'start_dt', 'paid_thru_dt', 'next_bill_dt', 'cancel_eop_flg', 'updated_dt'])
          .where('acct_id', 'in', ids).orderBy('sub_id').execute()),
        () => chunked(acctIds, (ids) => db.selectFrom('subscription_history as h').innerJoin('subscription as s', 's.sub_id', 'h.sub_id')
          .select((eb) => ['s.acct_id', eb.fn.max('h.event_dt').as('last')]).where('s.acct_id', 'in', ids).groupBy('s.acct_id').execute()),
        () => chunked(acctIds, (ids) => db.selectFrom('invoice_header').select((eb) => ['acct_id', eb.fn.countAll<number>().as('n')]).where('acct_id', 'in', ids).groupBy('acct_id').execute()),
        () => inWindow(acctIds, olderOpen, (ids, part) => db.selectFrom('invoice_header as h').where(part)
          .select((eb) => ['h.acct_id', bucket('h').as('bucket'), edgeId('h').as('edge'), eb.fn.countAll<number>().as('n'), eb.fn.sum(tenK('h.total_amt')).as('total'),
            eb.fn.sum(tenK('h.tax_amt')).as('tax'), eb.fn.max('h.inv_dt').as('last'),
            eb.fn.sum(sql<number>`case when h.status_cd = 'V' then 1 else 0 end`).as('void'),
            eb.fn.sum(sql<number>`case when h.status_cd in (${sql.join(openInvoiceCodes.map((c) => sql.lit(c)))}) then 1 else 0 end`).as('unpaid'),
            // Detail lines missing, or not adding up to the header: the invoice is carried over repaired.
            eb.fn.sum(sql<number>`case when (select sum(round(d.amount * 10000)) from invoice_detail d where d.inv_id = h.inv_id) = round(h.subtotal_amt * 10000)
              and (select sum(round(d.discount_amt * 10000)) from invoice_detail d where d.inv_id = h.inv_id) = round(h.discount_amt * 10000) then 0 else 1 end`).as('repaired')])
          .where('h.acct_id', 'in', ids).groupBy(['h.acct_id', bucket('h'), edgeId('h')]).execute()),
        () => inWindow(acctIds, olderOpen, (ids, part) => {
          const approved = (type: string) => sql<number>`case when t.txn_type = ${type} and t.resp_cd = '00' then 1 else 0 end`;
          const approvedAmount = (type: string) => sql<number>`case when t.txn_type = ${type} and t.resp_cd = '00' then round(t.amount * 10000) else 0 end`;
          return db.selectFrom('payment_txn as t').innerJoin('invoice_header as h', 'h.inv_id', 't.inv_id').where(part)
            .select((eb) => ['h.acct_id', bucket('h').as('bucket'), edgeId('h').as('edge'),
              eb.fn.sum(approved('CAP')).as('cap_n'), eb.fn.sum(approvedAmount('CAP')).as('cap'),
              eb.fn.sum(sql<number>`case when t.txn_type = 'CAP' and t.resp_cd <> '00' then 1 else 0 end`).as('declined'),
              eb.fn.sum(approved('REF')).as('ref_n'), eb.fn.sum(approvedAmount('REF')).as('ref'),
              eb.fn.sum(approved('CHB')).as('chb_n'), eb.fn.sum(approvedAmount('CHB')).as('chb'), eb.fn.max('t.txn_dt').as('last')])
            .where('h.acct_id', 'in', ids).groupBy(['h.acct_id', bucket('h'), edgeId('h')]).execute();
        }),
        // The last invoice billed for each plan (its lines name the plan), and the last without lines, in one pass.
        () => inWindow(acctIds, olderOpen, (ids, part) => {
          const lineless = sql<number>`case when d.inv_id is null then 1 else 0 end`;
          return db.selectFrom('invoice_header as h').leftJoin('invoice_detail as d', 'd.inv_id', 'h.inv_id').where(part)
            .select((eb) => ['h.acct_id', 'd.plan_cd', lineless.as('lineless'), eb.fn.max('h.inv_id').as('inv_id')])
            .where('h.acct_id', 'in', ids).where('h.status_cd', '<>', 'V').groupBy(['h.acct_id', 'd.plan_cd', lineless]).execute();
        }),
        // A running promotion: the subscription's first redemption with cycles left, if its promotion takes anything off.
        () => chunked(acctIds, (ids) => db.selectFrom('promotion_redemption as r').innerJoin('subscription as s', 's.sub_id', 'r.sub_id')
          .leftJoin('promotion as p', 'p.promo_id', 'r.promo_id').select(['s.acct_id', 'r.sub_id', 'r.cycles_left', 'p.pct_off', 'p.amt_off'])
          .where('s.acct_id', 'in', ids).where('r.cycles_left', '>', 0).orderBy('r.redemption_id').execute()),
        () => chunked(acctIds, (ids) => db.selectFrom('gift_card_txn')
          .select((eb) => ['acct_id', eb.fn.sum(sql<number>`case when txn_type = 'RDM' then round(amount * 10000) else -round(amount * 10000) end`).as('balance'), eb.fn.max('txn_dt').as('last')])
          .where('acct_id', 'in', ids).groupBy('acct_id').execute()),
        () => chunked(acctIds, (ids) => db.selectFrom('credit_memo')
          .select((eb) => ['acct_id', eb.fn.sum(sql<number>`round(amount * 10000) - round(applied_amt * 10000)`).as('balance'), eb.fn.max('issued_dt').as('last')])
          .where('acct_id', 'in', ids).groupBy('acct_id').execute()),
      );
      const billedIds = [...new Set(lastBilled.map((r) => Number(r.inv_id)))];
      const periodTo = new Map((await chunked(billedIds, (ids) => db.selectFrom('invoice_header').select(['inv_id', 'period_to_dt']).where('inv_id', 'in', ids).execute()))
        .map((r) => [Number(r.inv_id), day(r.period_to_dt)]));

      const emailsOf = byKey(emails, (e) => e.cust_id);
      const accountsOf = byKey(accounts, (a) => a.cust_id);
      const per = <R extends { acct_id: unknown }>(rows: R[]) => byKey(rows, (r) => r.acct_id);
      const g = { methods: per(methods), subs: per(subs), history: per(history), invoiceCounts: per(invoiceCounts), invoices: per(invoices), payments: per(payments),
        lastBilled: per(lastBilled), redemptions: per(redemptions), gifts: per(gifts), memos: per(memos) };
      return customers.map((c): SourceMember => {
        const accts = accountsOf.get(Number(c.cust_id)) ?? [];
        const all = <R>(m: Map<number, R[]>) => accts.flatMap((a) => m.get(Number(a.acct_id)) ?? []);
        const account = accts[0];
        const zone = account?.tz_nm ?? countryZone.get(countryCode) ?? '';
        const emailRows = emailsOf.get(Number(c.cust_id)) ?? [];
        const email = emailRows.find((e) => e.primary_flg === 'Y' && e.deleted_flg !== 'Y') ?? emailRows[0];
        const cards = all(g.methods);
        const card = cards.filter((p) => p.deleted_flg !== 'Y' && p.status_cd === 'A').at(-1) ?? cards.at(-1);
        let mark = String(c.updated_dt);
        for (const a of accts) mark = later(mark, a.updated_dt);
        for (const e of emailRows) mark = later(mark, e.created_dt);
        for (const p of cards) mark = later(mark, p.created_dt);
        for (const r of [...all(g.subs).map((s) => s.updated_dt), ...all(g.history).map((h) => h.last), ...all(g.gifts).map((x) => x.last), ...all(g.memos).map((x) => x.last)]) mark = later(mark, r);

        // Invoices in the window: the 'in' bucket whole, an 'edge' invoice when its date in the member's zone is on or after the horizon.
        const invoicesAll = all(g.invoiceCounts).reduce((n, r) => n + num(r.n), 0);
        const base = { n: 0, total: 0, tax: 0, repaired: 0, void: 0, unpaid: 0, cap_n: 0, cap: 0, declined: 0, ref_n: 0, ref: 0, chb_n: 0, chb: 0 };
        const edges = new Map<number, typeof base & { on: string | null }>();
        const edge = (id: unknown) => {
          let e = edges.get(Number(id));
          if (!e) edges.set(Number(id), (e = { ...base, on: null }));
          return e;
        };
        const into = (target: typeof base, from: Record<string, unknown>, keys: (keyof typeof base)[]) => {
          for (const k of keys) target[k] += num(from[k]);
        };
        const sums = { ...base };
        let inLast: string | null = null;
        for (const b of all(g.invoices)) {
          if (b.bucket !== 'out') mark = later(mark, b.last);
          if (b.bucket === 'in') {
            into(sums, b, ['n', 'total', 'tax', 'repaired', 'void', 'unpaid']);
            if (!inLast || String(b.last) > inLast) inLast = String(b.last);
          }
          if (b.bucket === 'edge') {
            const e = edge(b.edge);
            into(e, b, ['n', 'total', 'tax', 'repaired', 'void', 'unpaid']);
            e.on = zone ? dateIn(String(b.last), zone) : null;
          }
        }
        const paidKeys = ['cap_n', 'cap', 'declined', 'ref_n', 'ref', 'chb_n', 'chb'] as const;
        for (const b of all(g.payments)) {
          if (b.bucket !== 'out') mark = later(mark, b.last);
          if (b.bucket === 'in') into(sums, b, [...paidKeys]);
          if (b.bucket === 'edge') into(edge(b.edge), b, [...paidKeys]);
        }
        const single = all(g.subs).length === 1;
        const subscriptions = all(g.subs).map((s): SubscriptionFacts => {
          const status = subscriptionStatus[Number(s.status_cd)] ?? 'cancelled';
          let through = day(s.paid_thru_dt) ?? day(s.start_dt);
          if (status === 'active' || status === 'trial' || status === 'past_due') through = [through, day(s.next_bill_dt)].filter(Boolean).sort().at(-1) ?? null;
          const lastInvoice = Math.max(0, ...all(g.lastBilled).filter((r) => (Number(r.lineless) === 1 ? single : r.plan_cd === s.plan_cd)).map((r) => Number(r.inv_id)));
          const billedTo = periodTo.get(lastInvoice) ?? null;
          if (billedTo && through && billedTo > through) through = billedTo;
          const redemption = all(g.redemptions).find((r) => Number(r.sub_id) === Number(s.sub_id));
          const discountCyclesLeft = redemption && (redemption.pct_off !== null || redemption.amt_off !== null) ? Number(redemption.cycles_left) : null;
          return { plan: window.plans.get(s.plan_cd) ?? `(unmapped ${s.plan_cd})`, status, paidThrough: status === 'cancelled' ? null : through, cancelAtPeriodEnd: s.cancel_eop_flg === 'Y', discountCyclesLeft };
        });
        const since = (horizon: string): MemberFacts => {
          const t = { ...sums };
          let lastIssuedOn = inLast && zone ? dateIn(inLast, zone) : null;
          for (const e of edges.values()) {
            if (e.on === null || e.on < horizon) continue;
            into(t, e, Object.keys(base) as (keyof typeof base)[]);
            if (!lastIssuedOn || e.on > lastIssuedOn) lastIssuedOn = e.on;
          }
          return {
            member: c.acct_no,
            email: (email?.email_addr ?? '').trim().toLowerCase() || null,
            currency: account?.currency_cd ?? '',
            timezone: zone,
            paymentToken: card?.token ?? null,
            giftCardBalance: minor(all(g.gifts).reduce((s, x) => s + num(x.balance), 0), digits),
            creditBalance: minor(all(g.memos).reduce((s, x) => s + num(x.balance), 0), digits),
            invoicesAll, invoices: t.n, invoicesTotal: minor(t.total, digits), invoicesTax: minor(t.tax, digits), invoicesRepaired: t.repaired, invoicesVoid: t.void, invoicesUnpaid: t.unpaid, lastIssuedOn,
            payments: t.cap_n, paymentsAmount: minor(t.cap, digits), declines: t.declined,
            refunds: t.ref_n, refundsAmount: minor(t.ref, digits), chargebacks: t.chb_n, chargebacksAmount: minor(t.chb, digits),
            subscriptions,
          };
        };
        const facts = since(window.horizons.latest);
        return { facts, since, sourceKey: String(c.cust_id), mark };
      });
    });
  }

  return {
    async page(countryCode, cursor, limit) {
      const after = cursor === null ? -1 : Number(cursor);
      const found = await members((db, spellings) => db.selectFrom('customer').selectAll().where(country, 'in', spellings).where('cust_id', '>', after).orderBy('cust_id').limit(limit).execute(), countryCode);
      return { members: found, cursor: found.length < limit ? null : found.at(-1)!.sourceKey };
    },
    byMembers(countryCode, keys) {
      return members((db, spellings) => chunked(keys, (some) => db.selectFrom('customer').selectAll().where(country, 'in', spellings).where('acct_no', 'in', some).orderBy('cust_id').execute()), countryCode);
    },
    async countries() {
      const ref = await reference();
      const three = new Map([...ref].map(([cd, r]) => [r.cd3, cd]));
      const rows = await db.selectFrom('customer').select(country.as('cd')).distinct().execute();
      return [...new Set(rows.map((r) => three.get(r.cd) ?? r.cd))].sort();
    },
  };
}
