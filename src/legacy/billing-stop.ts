import { sql, type Kysely } from 'kysely';
import { legacyEngineOf } from './connect.ts';
import type { LegacySchema } from './schema.ts';

/**
 * The switch a country's cut-over throws last: the legacy's nightly run stops billing and
 * retrying the members of a country whose billing moved to another system (their changes
 * still arrive here, written back, so the legacy's other jobs see them). Kept in the legacy's
 * own table, country_billing_stop, created if missing; without a row the run bills every
 * country, as it always did.
 */
const laStamp = new Intl.DateTimeFormat('sv-SE', { timeZone: 'America/Los_Angeles', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

type StopTable = 'country_billing_stop' | 'customer_billing_stop';

async function hasTable(db: Kysely<LegacySchema>, table: StopTable = 'country_billing_stop'): Promise<boolean> {
  const engine = legacyEngineOf(db);
  const row = engine === 'sqlite'
    ? await sql<{ n: number }>`select count(*) as n from sqlite_master where type = 'table' and name = ${table}`.execute(db)
    : await sql<{ n: number }>`select count(*) as n from information_schema.tables where table_name = ${table} and table_schema = ${engine === 'mysql' ? sql`database()` : sql`current_schema()`}`.execute(db);
  return Number(row.rows[0]?.n ?? 0) > 0;
}

async function ensureTable(db: Kysely<LegacySchema>, table: StopTable = 'country_billing_stop'): Promise<void> {
  const ts = sql.raw(legacyEngineOf(db) === 'mysql' ? 'datetime' : legacyEngineOf(db) === 'postgres' ? 'timestamp' : 'text');
  const key = table === 'country_billing_stop' ? ['country_cd', 'char(2)'] : ['acct_no', 'varchar(20)'];
  await db.schema.createTable(table).ifNotExists().addColumn(key[0]!, sql.raw(key[1]!), (c) => c.primaryKey()).addColumn('stopped_dt', ts, (c) => c.notNull())
    .addColumn('stopped_by', sql.raw('varchar(120)'), (c) => c.notNull()).addColumn('reason_txt', sql.raw('varchar(200)')).execute();
}

/** Stop billing a country (again: no change). */
export async function stopBillingCountry(db: Kysely<LegacySchema>, country: string, by: string, reason: string | null = null, now = Date.now()): Promise<void> {
  await ensureTable(db);
  const held = await db.selectFrom('country_billing_stop').select('country_cd').where('country_cd', '=', country).executeTakeFirst();
  if (held) return;
  await db.insertInto('country_billing_stop').values({ country_cd: country, stopped_dt: laStamp.format(new Date(now)), stopped_by: by.slice(0, 120), reason_txt: reason?.slice(0, 200) ?? null }).execute();
}

/**
 * Bill a country again (a cut-over rolled back): its own switch, and the members stopped one by
 * one in it (those who signed up on Tally meanwhile, written back stopped): the route goes back
 * to the legacy for all of them, and Tally stops billing all of them.
 */
export async function resumeBillingCountry(db: Kysely<LegacySchema>, country: string): Promise<void> {
  if (await hasTable(db)) await db.deleteFrom('country_billing_stop').where('country_cd', '=', country).execute();
  if (!(await hasTable(db, 'customer_billing_stop'))) return;
  const accounts = [...(await accountsOfCountries(db, [country]))];
  for (let i = 0; i < accounts.length; i += 500) {
    const stopped = await db.selectFrom('customer_billing_stop as s').innerJoin('customer as c', 'c.acct_no', 's.acct_no').innerJoin('account as a', 'a.cust_id', 'c.cust_id')
      .select('s.acct_no').where('a.acct_id', 'in', accounts.slice(i, i + 500)).execute();
    await resumeBillingMembers(db, stopped.map((r) => r.acct_no));
  }
}

/** The countries the nightly run leaves alone; none on a legacy that never had one stopped. */
export async function billingStoppedCountries(db: Kysely<LegacySchema>): Promise<string[]> {
  if (!(await hasTable(db))) return [];
  return (await db.selectFrom('country_billing_stop').select('country_cd').orderBy('country_cd').execute()).map((r) => r.country_cd.trim().toUpperCase());
}

/**
 * The accounts of customers in those countries, however the customer's country was written
 * (lower case, three letters, spaces: the legacy's warts), and by the billing address where the
 * customer has none.
 */
export async function accountsOfCountries(db: Kysely<LegacySchema>, countries: string[]): Promise<Set<number>> {
  if (!countries.length) return new Set();
  const cd3 = (await db.selectFrom('country').select(['country_cd', 'country_cd3']).where('country_cd', 'in', countries).execute()).map((c) => c.country_cd3.trim().toUpperCase());
  const spellings = [...countries, ...cd3];
  const byCustomer = await db.selectFrom('account as a').innerJoin('customer as c', 'c.cust_id', 'a.cust_id').select('a.acct_id')
    .where(sql<string>`upper(trim(c.country_cd))`, 'in', spellings).execute();
  const byAddress = await db.selectFrom('account as a').innerJoin('customer as c', 'c.cust_id', 'a.cust_id').innerJoin('customer_address as ad', 'ad.cust_id', 'c.cust_id').select('a.acct_id')
    .where('c.country_cd', 'is', null).where('ad.deleted_flg', '=', 'N').where(sql<string>`upper(trim(ad.country_cd))`, 'in', spellings).execute();
  return new Set([...byCustomer, ...byAddress].map((r) => Number(r.acct_id)));
}

/** The per-member switch's table, made ahead by a writer that stops members inside its own transactions (DDL there would commit them on MySQL). */
export async function ensureMemberBillingStopTable(db: Kysely<LegacySchema>): Promise<void> {
  await ensureTable(db, 'customer_billing_stop');
}

/** A member's switch row, as stopBillingMembers writes it: the legacy's wall clock (Los Angeles), who and why. */
export function memberBillingStopRow(acctNo: string, by: string, reason: string | null, now = Date.now()): LegacySchema['customer_billing_stop'] {
  return { acct_no: acctNo, stopped_dt: laStamp.format(new Date(now)), stopped_by: by.slice(0, 120), reason_txt: reason?.slice(0, 200) ?? null };
}

/**
 * The same switch for some members of a country (a canary cohort cut over ahead of the rest),
 * by their account numbers, in customer_billing_stop.
 */
export async function stopBillingMembers(db: Kysely<LegacySchema>, acctNos: string[], by: string, reason: string | null = null, now = Date.now()): Promise<number> {
  await ensureTable(db, 'customer_billing_stop');
  let added = 0;
  for (let i = 0; i < acctNos.length; i += 500) {
    const part = acctNos.slice(i, i + 500);
    const held = new Set((await db.selectFrom('customer_billing_stop').select('acct_no').where('acct_no', 'in', part).execute()).map((r) => r.acct_no));
    const fresh = part.filter((a) => !held.has(a));
    if (fresh.length) await db.insertInto('customer_billing_stop').values(fresh.map((acctNo) => memberBillingStopRow(acctNo, by, reason, now))).execute();
    added += fresh.length;
  }
  return added;
}

/** Bill these members again (a cohort's cut-over rolled back). */
export async function resumeBillingMembers(db: Kysely<LegacySchema>, acctNos: string[]): Promise<void> {
  if (!(await hasTable(db, 'customer_billing_stop'))) return;
  for (let i = 0; i < acctNos.length; i += 500) await db.deleteFrom('customer_billing_stop').where('acct_no', 'in', acctNos.slice(i, i + 500)).execute();
}

/** The accounts the nightly run leaves alone: those of stopped countries and of stopped members. */
export async function accountsBilledElsewhere(db: Kysely<LegacySchema>): Promise<Set<number>> {
  const out = await accountsOfCountries(db, await billingStoppedCountries(db));
  if (await hasTable(db, 'customer_billing_stop')) {
    const rows = await db.selectFrom('customer_billing_stop as s').innerJoin('customer as c', 'c.acct_no', 's.acct_no').innerJoin('account as a', 'a.cust_id', 'c.cust_id').select('a.acct_id').execute();
    for (const r of rows) out.add(Number(r.acct_id));
  }
  return out;
}
