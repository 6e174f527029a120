import { sql } from 'kysely';
import { LegacyError, legacyEngineOf, legacyTables, openLegacy, type LegacyDb, type LegacySchema } from '../../legacy/index.ts';
import type { MigrationSource, PageOptions } from '../source.ts';

type Row<T extends keyof LegacySchema> = LegacySchema[T];

/** One legacy member: a customer and every row that hangs off it, as the legacy holds them. */
export interface LegacyMember {
  /** The customer's account number: the member id on both sides of the migration. */
  key: string;
  custId: number;
  customer: Row<'customer'>;
  emails: Row<'customer_email'>[];
  addresses: Row<'customer_address'>[];
  accounts: Row<'account'>[];
  paymentMethods: Row<'payment_method'>[];
  subscriptions: Row<'subscription'>[];
  history: Row<'subscription_history'>[];
  redemptions: Row<'promotion_redemption'>[];
  invoices: Row<'invoice_header'>[];
  details: Row<'invoice_detail'>[];
  /** Payment transactions of the member's invoices, and any made with its cards on an invoice that does not exist (orphans). */
  payments: Row<'payment_txn'>[];
  giftCards: Row<'gift_card'>[];
  giftCardTxns: Row<'gift_card_txn'>[];
  creditMemos: Row<'credit_memo'>[];
  /** Invoices the extract left out as older than its history horizon (not open), counted, not read. */
  invoicesBefore?: number;
}

const chunk = 500;

/**
 * Read in one consistent snapshot: a repeatable-read transaction on the servers; on SQLite (WAL)
 * a transaction's first read fixes what it sees. Writers are never blocked by it.
 */
export async function inSnapshot<T>(db: LegacyDb['db'], read: (db: LegacyDb['db']) => Promise<T>): Promise<T> {
  const trx = legacyEngineOf(db) === 'sqlite' ? db.transaction() : db.transaction().setIsolationLevel('repeatable read');
  return trx.execute(read);
}

/**
 * Reads of one snapshot, one after another: a snapshot is one connection, which runs one
 * query at a time anyway (node-postgres warns of, and will refuse, queries queued on a busy
 * client).
 */
export async function inTurn<T extends readonly (() => Promise<unknown>)[]>(...reads: T): Promise<{ -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
  const out: unknown[] = [];
  for (const read of reads) out.push(await read());
  return out as { -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> };
}

/** Invoice status codes of invoices an open process still needs (open, failed in retry, uncollectible): read whatever their age. */
const stillOpenCodes = ['O', 'F', 'U'];

/** Read by a list of keys, `size` keys to a query (a server's bound on parameters, a sane IN list). */
export async function inChunks<T, R>(ids: T[], read: (part: T[]) => Promise<R[]>, size = chunk): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < ids.length; i += size) out.push(...(await read(ids.slice(i, i + size))));
  return out;
}

/** Rows by a numeric key (legacy ids come back as numbers or numeric text, by engine). */
export function groupBy<R>(rows: R[], key: (r: R) => unknown): Map<number, R[]> {
  const out = new Map<number, R[]>();
  for (const r of rows) {
    const k = Number(key(r));
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

/**
 * The reference legacy as a migration source. Members are customers in customer-key
 * order; a country's members are those whose country code, however the legacy wrote it
 * (lower case, three letters, spaces), names that country. A page reads its members' rows
 * with a dozen set-based queries, not a dozen per member.
 */
/** The legacy source, and the reference data its members' transform needs (promotions, price points). */
export interface LegacySource extends MigrationSource<LegacyMember> {
  reference(): Promise<{ promotions: Map<number, Row<'promotion'>>; pricePoints: Row<'price_point'>[] }>;
}

/** A customer's country code as the legacy's messy spellings are compared: trimmed, upper case. */
export const customerCountry = sql<string>`upper(trim(${sql.ref('customer.country_cd')}))`;

/** The legacy's 3-letter country codes, upper case, to their 2-letter codes (from its `country` table). */
export async function legacyAlpha3(db: LegacyDb['db']): Promise<Map<string, string>> {
  return new Map((await db.selectFrom('country').select(['country_cd', 'country_cd3']).execute()).map((c) => [c.country_cd3.toUpperCase(), c.country_cd.toUpperCase()]));
}

/** Every value of `customerCountry` that names a country: its 2-letter code and its 3-letter spellings. */
export function countrySpellings(alpha3: Map<string, string>, country: string): string[] {
  return [country, ...[...alpha3].filter(([, two]) => two === country).map(([three]) => three)];
}

export function legacySource(legacy: LegacyDb): LegacySource {
  const { db } = legacy;
  const normalized = customerCountry;
  let alpha3: Map<string, string> | undefined;
  const countryCodes = async () => {
    alpha3 ??= await legacyAlpha3(db);
    return alpha3;
  };

  const spellingsOf = async (country: string) => countrySpellings(await countryCodes(), country);

  /** Every row of these customers, read with a dozen set-based queries (not a dozen per member), inside the caller's snapshot. */
  async function membersOf(db: LegacyDb['db'], customers: Row<'customer'>[], opts: PageOptions): Promise<LegacyMember[]> {
    const custIds = customers.map((c) => Number(c.cust_id));
    const [emails, addresses, accounts] = await inTurn(
      () => inChunks(custIds, (ids) => db.selectFrom('customer_email').selectAll().where('cust_id', 'in', ids).orderBy('email_id').execute()),
      () => inChunks(custIds, (ids) => db.selectFrom('customer_address').selectAll().where('cust_id', 'in', ids).orderBy('addr_id').execute()),
      () => inChunks(custIds, (ids) => db.selectFrom('account').selectAll().where('cust_id', 'in', ids).orderBy('acct_id').execute()),
    );
    const acctIds = accounts.map((a) => Number(a.acct_id));
    const since = opts.historySince ? `${opts.historySince} 00:00:00` : null;
    const [methods, subs, invoices, giftCards, giftTxns, memos] = await inTurn(
      () => inChunks(acctIds, (ids) => db.selectFrom('payment_method').selectAll().where('acct_id', 'in', ids).orderBy('pm_id').execute()),
      () => inChunks(acctIds, (ids) => db.selectFrom('subscription').selectAll().where('acct_id', 'in', ids).orderBy('sub_id').execute()),
      () => inChunks(acctIds, (ids) => {
        let q = db.selectFrom('invoice_header').selectAll().where('acct_id', 'in', ids);
        if (since) q = q.where((eb) => eb.or([eb('inv_dt', '>=', since), eb('status_cd', 'in', stillOpenCodes)]));
        return q.orderBy('inv_id').execute();
      }),
      () => inChunks(acctIds, (ids) => db.selectFrom('gift_card').selectAll().where('redeemed_acct_id', 'in', ids).orderBy('gc_id').execute()),
      () => inChunks(acctIds, (ids) => db.selectFrom('gift_card_txn').selectAll().where('acct_id', 'in', ids).orderBy('gc_txn_id').execute()),
      () => inChunks(acctIds, (ids) => db.selectFrom('credit_memo').selectAll().where('acct_id', 'in', ids).orderBy('memo_id').execute()),
    );
    const subIds = subs.map((s) => Number(s.sub_id));
    const invIds = invoices.map((i) => Number(i.inv_id));
    const pmIds = methods.map((p) => Number(p.pm_id));
    const [history, redemptions, details, byInvoice, orphans, before] = await inTurn(
      () => inChunks(subIds, (ids) => db.selectFrom('subscription_history').selectAll().where('sub_id', 'in', ids).orderBy('sub_hist_id').execute()),
      () => inChunks(subIds, (ids) => db.selectFrom('promotion_redemption').selectAll().where('sub_id', 'in', ids).orderBy('redemption_id').execute()),
      () => inChunks(invIds, (ids) => db.selectFrom('invoice_detail').selectAll().where('inv_id', 'in', ids).orderBy('inv_det_id').execute()),
      () => inChunks(invIds, (ids) => db.selectFrom('payment_txn').selectAll().where('inv_id', 'in', ids).orderBy('txn_id').execute()),
      // A card's transactions on an invoice that does not exist are the member's orphans.
      () => inChunks(pmIds, (ids) => db.selectFrom('payment_txn').leftJoin('invoice_header', 'invoice_header.inv_id', 'payment_txn.inv_id').selectAll('payment_txn')
        .where('payment_txn.pm_id', 'in', ids).where('invoice_header.inv_id', 'is', null).orderBy('payment_txn.txn_id').execute()),
      () => since
        ? inChunks(acctIds, (ids) => db.selectFrom('invoice_header').select((eb) => ['acct_id', eb.fn.countAll<number>().as('n')])
          .where('acct_id', 'in', ids).where('inv_dt', '<', since).where('status_cd', 'not in', stillOpenCodes).groupBy('acct_id').execute())
        : Promise.resolve([]),
    );
    const payments = [...byInvoice, ...orphans];
    const acctOf = new Map(accounts.map((a) => [Number(a.acct_id), Number(a.cust_id)]));
    const subAcct = new Map(subs.map((s) => [Number(s.sub_id), Number(s.acct_id)]));
    const invAcct = new Map(invoices.map((i) => [Number(i.inv_id), Number(i.acct_id)]));
    const pmAcct = new Map(methods.map((p) => [Number(p.pm_id), Number(p.acct_id)]));
    const byCust = <R>(rows: R[], acct: (r: R) => number | undefined) => groupBy(rows, (r) => acctOf.get(acct(r) ?? -1) ?? -1);
    const g = {
      emails: groupBy(emails, (e) => e.cust_id), addresses: groupBy(addresses, (a) => a.cust_id), accounts: groupBy(accounts, (a) => a.cust_id),
      methods: byCust(methods, (p) => Number(p.acct_id)), subs: byCust(subs, (s) => Number(s.acct_id)), invoices: byCust(invoices, (i) => Number(i.acct_id)),
      giftCards: byCust(giftCards, (c) => Number(c.redeemed_acct_id)), giftTxns: byCust(giftTxns, (t) => Number(t.acct_id)), memos: byCust(memos, (m) => Number(m.acct_id)),
      history: byCust(history, (h) => subAcct.get(Number(h.sub_id))), redemptions: byCust(redemptions, (r) => subAcct.get(Number(r.sub_id))),
      before: byCust(before, (r) => Number(r.acct_id)),
      details: byCust(details, (d) => invAcct.get(Number(d.inv_id))), payments: byCust(payments, (t) => invAcct.get(Number(t.inv_id)) ?? pmAcct.get(Number(t.pm_id))),
    };
    const members = customers.map((customer): LegacyMember => {
      const id = Number(customer.cust_id);
      const of = <R>(m: Map<number, R[]>) => m.get(id) ?? [];
      return {
        key: customer.acct_no, custId: id, customer, emails: of(g.emails), addresses: of(g.addresses), accounts: of(g.accounts), paymentMethods: of(g.methods),
        subscriptions: of(g.subs), history: of(g.history), redemptions: of(g.redemptions), invoices: of(g.invoices), details: of(g.details),
        payments: of(g.payments), giftCards: of(g.giftCards), giftCardTxns: of(g.giftTxns), creditMemos: of(g.memos),
        ...(since ? { invoicesBefore: of(g.before).reduce((n, r) => n + Number(r.n), 0) } : {}),
      };
    });
    return members;
  }

  return {
    name: 'legacy',

    async countries() {
      const codes = await countryCodes();
      const rows = await db.selectFrom('customer').select((eb) => [normalized.as('cd'), eb.fn.countAll<number>().as('n')]).groupBy(normalized).execute();
      const counts = new Map<string, number>();
      for (const r of rows) {
        const cd = r.cd === null ? '??' : codes.get(r.cd) ?? r.cd;
        counts.set(cd, (counts.get(cd) ?? 0) + Number(r.n));
      }
      return [...counts].map(([country, members]) => ({ country, members })).sort((a, b) => (a.country < b.country ? -1 : 1));
    },

    async page(country, cursor, limit, opts = {}) {
      const spellings = await spellingsOf(country);
      const after = cursor === null ? -1 : Number(cursor);
      // One snapshot per page: a member the legacy changes while it is read is read wholly before or wholly after the change.
      return inSnapshot(legacy.db, async (db) => {
        const customers = await db.selectFrom('customer').selectAll().where(normalized, 'in', spellings).where('cust_id', '>', after).orderBy('cust_id').limit(limit).execute();
        if (!customers.length) return { members: [], cursor: null };
        return { members: await membersOf(db, customers, opts), cursor: customers.length < limit ? null : String(customers.at(-1)!.cust_id) };
      });
    },

    async members(country: string, ids: string[], opts: PageOptions = {}) {
      const spellings = await spellingsOf(country);
      return inSnapshot(legacy.db, async (db) => {
        const customers = await inChunks(ids, (some) => db.selectFrom('customer').selectAll().where(normalized, 'in', spellings).where('acct_no', 'in', some).orderBy('cust_id').execute());
        return customers.length ? membersOf(db, customers, opts) : [];
      });
    },

    async marks(country, cursor, limit) {
      const spellings = await spellingsOf(country);
      const after = cursor === null ? -1 : Number(cursor);
      return inSnapshot(legacy.db, async (db) => {
        const customers = await db.selectFrom('customer').select(['cust_id', 'acct_no', 'updated_dt']).where(normalized, 'in', spellings).where('cust_id', '>', after).orderBy('cust_id').limit(limit).execute();
        if (!customers.length) return { marks: [], cursor: null };
        const custIds = customers.map((c) => Number(c.cust_id));
        const accounts = await inChunks(custIds, (ids) => db.selectFrom('account').select(['acct_id', 'cust_id', 'updated_dt']).where('cust_id', 'in', ids).execute());
        const acctIds = accounts.map((a) => Number(a.acct_id));
        // The latest stamp of every row legacyMark looks at, and of a few it does not (invoices past the history horizon and
        // their payments): a mark never earlier than the one a member read whole gets, from a dozen grouped maxima a page.
        const byAccount = (rows: { k: unknown; m: unknown }[]) => rows.map((r) => ({ acct: Number(r.k), m: r.m }));
        const perAccount = await inTurn(
          () => inChunks(acctIds, async (ids) => byAccount(await db.selectFrom('subscription').select((eb) => ['acct_id as k', eb.fn.max('updated_dt').as('m')]).where('acct_id', 'in', ids).groupBy('acct_id').execute())),
          () => inChunks(acctIds, async (ids) => byAccount(await db.selectFrom('subscription_history as h').innerJoin('subscription as s', 's.sub_id', 'h.sub_id')
            .select((eb) => ['s.acct_id as k', eb.fn.max('h.event_dt').as('m')]).where('s.acct_id', 'in', ids).groupBy('s.acct_id').execute())),
          () => inChunks(acctIds, async (ids) => byAccount(await db.selectFrom('payment_method').select((eb) => ['acct_id as k', eb.fn.max('created_dt').as('m')]).where('acct_id', 'in', ids).groupBy('acct_id').execute())),
          () => inChunks(acctIds, async (ids) => byAccount(await db.selectFrom('invoice_header').select((eb) => ['acct_id as k', eb.fn.max('inv_dt').as('m')]).where('acct_id', 'in', ids).groupBy('acct_id').execute())),
          () => inChunks(acctIds, async (ids) => byAccount(await db.selectFrom('payment_txn as t').innerJoin('invoice_header as h', 'h.inv_id', 't.inv_id')
            .select((eb) => ['h.acct_id as k', eb.fn.max('t.txn_dt').as('m')]).where('h.acct_id', 'in', ids).groupBy('h.acct_id').execute())),
          () => inChunks(acctIds, async (ids) => byAccount(await db.selectFrom('payment_txn as t').innerJoin('payment_method as p', 'p.pm_id', 't.pm_id')
            .select((eb) => ['p.acct_id as k', eb.fn.max('t.txn_dt').as('m')]).where('p.acct_id', 'in', ids).groupBy('p.acct_id').execute())),
          () => inChunks(acctIds, async (ids) => byAccount(await db.selectFrom('gift_card_txn').select((eb) => ['acct_id as k', eb.fn.max('txn_dt').as('m')]).where('acct_id', 'in', ids).groupBy('acct_id').execute())),
          () => inChunks(acctIds, async (ids) => byAccount(await db.selectFrom('credit_memo').select((eb) => ['acct_id as k', eb.fn.max('issued_dt').as('m')]).where('acct_id', 'in', ids).groupBy('acct_id').execute())),
        );
        const emails = await inChunks(custIds, (ids) => db.selectFrom('customer_email').select((eb) => ['cust_id', eb.fn.max('created_dt').as('m')]).where('cust_id', 'in', ids).groupBy('cust_id').execute());
        const mark = new Map(customers.map((c) => [Number(c.cust_id), String(c.updated_dt)]));
        const later = (cust: number | undefined, m: unknown) => {
          if (cust === undefined || m === null || m === undefined) return;
          if (String(m) > (mark.get(cust) ?? '')) mark.set(cust, String(m));
        };
        const custOf = new Map(accounts.map((a) => [Number(a.acct_id), Number(a.cust_id)]));
        for (const a of accounts) later(Number(a.cust_id), a.updated_dt);
        for (const list of perAccount) for (const r of list) later(custOf.get(r.acct), r.m);
        for (const e of emails) later(Number(e.cust_id), e.m);
        return {
          marks: customers.map((c) => ({ memberId: c.acct_no, mark: mark.get(Number(c.cust_id))! })),
          cursor: customers.length < limit ? null : String(customers.at(-1)!.cust_id),
        };
      });
    },

    async plansInUse(country) {
      const codes = await countryCodes();
      const spellings = countrySpellings(codes, country);
      const rows = await db.selectFrom('subscription').innerJoin('account', 'account.acct_id', 'subscription.acct_id').innerJoin('customer', 'customer.cust_id', 'account.cust_id')
        .select('subscription.plan_cd').distinct().where(normalized, 'in', spellings).orderBy('subscription.plan_cd').execute();
      return rows.map((r) => r.plan_cd);
    },

    async reference() {
      const promotions = new Map((await db.selectFrom('promotion').selectAll().execute()).map((p) => [Number(p.promo_id), p]));
      return { promotions, pricePoints: await db.selectFrom('price_point').selectAll().execute() };
    },

    close: () => legacy.close(),
  };
}

/** Open the legacy at `url` for reading, refusing a database that is not the legacy's by naming what it lacks. */
export async function openLegacyTables(url: string): Promise<LegacyDb> {
  const legacy = await openLegacy(url, '--from', { mustExist: true });
  const present = new Set((await legacy.db.introspection.getTables()).map((t) => t.name));
  const missing = legacyTables.filter((t) => !present.has(t));
  if (missing.length) {
    await legacy.close();
    throw new LegacyError(`--from: the database is not the legacy schema: it has no table ${missing.join(', ')}`);
  }
  return legacy;
}

/** Open the legacy at `url` as a migration source. */
export async function openLegacySource(url: string): Promise<LegacySource> {
  return legacySource(await openLegacyTables(url));
}
