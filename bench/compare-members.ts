/**
 * Member-mode `tally compare` on SQLite (legacy and Tally both embedded), for bench:compare:
 * a legacy of `members` seeded once and kept (var/bench-compare-legacy-N.db), its US members
 * migrated once and kept (var/bench-compare-tally-N.db), then compared, against a bound
 * measured in the same run: one plain aggregate pass over the rows the compare must look at
 * (the country's recent invoices and their payments on the legacy, its members, invoices
 * and payments in Tally), without deriving or comparing anything.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { pino } from 'pino';
import { Temporal } from 'temporal-polyfill';
import { compareMembers } from '../src/compare/compare-members.ts';
import { ReportWriter } from '../src/compare/report-files.ts';
import { legacyFacts } from '../src/compare/sources/legacy-facts.ts';
import { closeServices } from '../src/jobs/services.ts';
import { openLegacy, seedLegacy } from '../src/legacy/index.ts';
import { migrateCountry } from '../src/migration/migrate-country.ts';
import { referenceLegacyPlans } from '../src/migration/plan-mapping.ts';
import { legacyAdapter } from '../src/migration/sources/legacy-adapter.ts';
import { openLegacySource } from '../src/migration/sources/legacy-source.ts';
import { openServices } from '../src/wiring.ts';

const asOf = '2026-11-28';
const country = 'US';

export async function memberModeFigures(members: number): Promise<Record<string, unknown>> {
  const legacyFile = `var/bench-compare-legacy-${members}.db`;
  const tallyFile = `var/bench-compare-tally-${members}.db`;
  if (!existsSync(legacyFile)) {
    const t0 = performance.now();
    const legacy = await openLegacy(`sqlite:${legacyFile}`);
    await seedLegacy(legacy.db, { members, seed: 1, asOf, countries: [country] });
    await legacy.close();
    console.error(`seeded a legacy of ${members} members in ${((performance.now() - t0) / 1000).toFixed(1)} s (kept for the next run)`);
  }
  const svc = await openServices({ dbUrl: `sqlite:${tallyFile}`, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  try {
    const migrated = await svc.store.db.selectFrom('migrated_members').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (Number(migrated.n) === 0) {
      const t0 = performance.now();
      const source = await openLegacySource(`sqlite:${legacyFile}`);
      const adapter = legacyAdapter(source, { catalog: svc.billing.catalog, plans: referenceLegacyPlans, ...(await source.reference()), asOf, horizonMonths: 24 });
      await migrateCountry(svc, adapter, { country, asOf, mode: 'load', options: { asOf, horizonMonths: 24 }, pageSize: 1000 });
      await source.close();
      console.error(`migrated ${country} in ${((performance.now() - t0) / 1000).toFixed(1)} s (kept for the next run)`);
    }
    const horizon = Temporal.PlainDate.from(asOf).subtract({ months: 24 }).toString();
    const legacy = await openLegacy(`sqlite:${legacyFile}`);
    try {
      const t0 = performance.now();
      const report = new ReportWriter(`var/bench-compare-report-${members}`);
      const outcome = await compareMembers(svc, {
        source: 'legacy', country, facts: legacyFacts(legacy, { horizons: { earliest: horizon, latest: horizon }, plans: referenceLegacyPlans }),
        rules: [], report, horizonOf: () => horizon, pageSize: 2000,
      });
      await report.finish({ source: 'legacy', country });
      const seconds = (performance.now() - t0) / 1000;

      const b0 = performance.now();
      const since = `${Temporal.PlainDate.from(horizon).subtract({ days: 2 })} 00:00:00`;
      const spelled = sql`upper(trim(c.country_cd)) in ('US', 'USA')`;
      await sql`select c.cust_id, count(*), sum(h.total_amt), sum(h.tax_amt) from customer c join account a on a.cust_id = c.cust_id
        join invoice_header h on h.acct_id = a.acct_id where ${spelled} and h.inv_dt >= ${since} group by c.cust_id`.execute(legacy.db);
      await sql`select c.cust_id, count(*), sum(t.amount) from customer c join account a on a.cust_id = c.cust_id join invoice_header h on h.acct_id = a.acct_id
        join payment_txn t on t.inv_id = h.inv_id where ${spelled} and h.inv_dt >= ${since} group by c.cust_id`.execute(legacy.db);
      const rows = await svc.store.db.selectFrom('members').select(['id', 'data']).where('country', '=', country).execute();
      for (const r of rows) JSON.parse(r.data);
      await sql`select member_id, count(*), sum(total), sum(tax) from invoices group by member_id`.execute(svc.store.db);
      await sql`select member_id, count(*), sum(amount) from payments group by member_id`.execute(svc.store.db);
      const bound = (performance.now() - b0) / 1000;

      const rate = outcome.counts.checked / seconds;
      const boundRate = outcome.counts.checked / bound;
      console.log(`\nmember mode, SQLite → SQLite, ${outcome.counts.checked.toLocaleString('en-US')} members of ${country} (${outcome.status}: ${outcome.counts.clean} clean, ${outcome.counts.members.quarantined} quarantined)`);
      console.log(`  tally compare: ${seconds.toFixed(2)} s, ${Math.round(rate).toLocaleString('en-US')} members/s`);
      console.log(`  bound, one plain aggregate pass over the same rows: ${bound.toFixed(2)} s, ${Math.round(boundRate).toLocaleString('en-US')} members/s; ratio tally / bound ${(seconds / bound).toFixed(2)}`);
      return {
        engine: 'sqlite', members: outcome.counts.checked, status: outcome.status, seconds: Number(seconds.toFixed(3)), membersPerSecond: Math.round(rate),
        boundSeconds: Number(bound.toFixed(3)), boundMembersPerSecond: Math.round(boundRate), ratioToBound: Number((seconds / bound).toFixed(3)),
      };
    } finally {
      await legacy.close();
    }
  } finally {
    await closeServices(svc);
  }
}
