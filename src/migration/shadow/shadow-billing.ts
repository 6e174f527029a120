import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kysely, sql } from 'kysely';
import { recordCompareRun } from '../../compare/compare-runs.ts';
import { parseDeclaredRules, type DeclaredRule } from '../../compare/declared-rules.ts';
import { ReportWriter } from '../../compare/report-files.ts';
import type { Difference } from '../../compare/report-format.ts';
import { parseIsoDate, type IsoDate } from '../../domain/calendar.ts';
import { InvalidInput } from '../../domain/errors.ts';
import { currencyExponent } from '../../domain/money.ts';
import { runRenewal } from '../../jobs/renew.ts';
import { closeServices, type Services } from '../../jobs/services.ts';
import { dec4, type LegacyDb } from '../../legacy/index.ts';
import type { PaymentGateway } from '../../payments/gateway.ts';
import { setRoute } from '../../proxy/route-table.ts';
import { dialectFor, parseStoreUrl, redactUrl, StoreError } from '../../store/engines.ts';
import { openServices } from '../../wiring.ts';
import { checkSourceCountry } from '../dry-run.ts';
import { migrateCountry, type CountryMigration } from '../migrate-country.ts';
import { parsePlanMapping, referenceLegacyPlans, type PlanMapping } from '../plan-mapping.ts';
import { legacyAdapter, transformLegacy } from '../sources/legacy-adapter.ts';
import type { TransformOutcome } from '../load.ts';
import { countrySpellings, customerCountry, inChunks, legacyAlpha3, legacySource, openLegacyTables, type LegacyMember, type LegacySource } from '../sources/legacy-source.ts';
import { rewindLegacyMember } from './rewind.ts';
import { compareDayInvoices, legacyMinorUnits, type DayInvoice } from './shadow-compare.ts';

/**
 * Shadow billing (`tally shadow --country XX --date D`): before a country is cut over, Tally
 * bills a copy of its members for day D in a throwaway store of its own, charging nobody, and
 * its invoices are compared with those the legacy's own night issued on D, member by member.
 *
 * 1. The shadow store: a fresh SQLite file under var/shadow/XX-D/ (or an empty database given);
 *    never the Tally store, whose catalog in force and tax rules are billed with, and which
 *    records the run (compare_runs, mode `shadow`) and nothing else.
 * 2. The country migrated into it with the migration's own adapter, as of D, each member
 *    rewound to the start of D (rewind.ts): the legacy's night of D has usually run already.
 * 3. The country routed to Tally there (else Tally's renewal leaves migrated members to the
 *    source), then Tally's renewal for D. Its gateway refuses every call: renewal issues
 *    invoices, it charges nothing, and collection is never run.
 * 4. The legacy's invoices issued on D (its own: not rows back-sync wrote) against the shadow's
 *    renewal invoices issued on D (shadow-compare.ts); declared differences (the comparator's
 *    rules file) counted apart; quarantined members counted, not compared.
 */
export interface ShadowRequest {
  from: string;
  country: string;
  date: string;
  plansFile?: string;
  rulesFile?: string;
  /** A server or SQLite database for the shadow store: must be empty. Default a fresh SQLite file under var/shadow/XX-D/. */
  shadowDb?: string;
  /** Report folder; default var/shadow/XX-D/. */
  out?: string;
  /** History carried into the shadow store (default shadowHorizonMonths). */
  horizonMonths?: number;
  pageSize?: number;
  onProgress?: (done: number) => void;
}

export interface ShadowCounts {
  /** The country's members in the legacy, and those it did not have yet at the start of D (left out). */
  members: number;
  notYet: number;
  /** Members not due on the day by their own billing dates (Tally's transform says so): not loaded, since the day bills none of them. */
  notDue: number;
  /** Members loaded into the shadow store: those due on the day. */
  loaded: number;
  quarantined: number;
  /** Members billed on D, and their invoices, by each side (quarantined members left out). */
  billed: { legacy: number; tally: number };
  invoices: { legacy: number; tally: number };
  /** Legacy invoices of D of quarantined members: not compared. */
  quarantinedBilled: number;
  /** Members billed on D by either side, compared. */
  compared: number;
  /** Compared members without an undeclared difference. */
  clean: number;
  /** Members with an undeclared difference of each kind. */
  kinds: { missing: number; extra: number; differs: number };
  /** Undeclared differences by field. */
  fields: Record<string, number>;
  /** Declared differences by rule. */
  declared: Record<string, { count: number; reason: string }>;
  /** Undeclared differences (rows): the run fails with any. */
  differences: number;
}

export interface ShadowOutcome {
  status: 'clean' | 'differences';
  counts: ShadowCounts;
  examples: Record<string, Difference[]>;
}

export interface ShadowSummary extends ShadowCounts {
  source: 'legacy';
  country: string;
  date: string;
  status: 'clean' | 'differences';
  shadowStore: string;
  reportDir: string;
  seconds: number;
  phases: { migrate: number; renew: number; compare: number };
  membersPerSecond: number;
  examples: Record<string, Difference[]>;
}

const exampleCount = 5;

/**
 * The history a shadow carries, in months: what billing needs (each subscription's last invoice,
 * a year back for an annual plan) and not the migration's 24, which only costs time in a
 * throwaway store. Members held back by an older wart are then compared too.
 */
export const shadowHorizonMonths = 13;

function readText(file: string, option: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidInput(option, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/**
 * The legacy source whose members are each rewound to the start of `day`; a member it did not
 * have yet is left out, and so is one `keep` says no to (both counted).
 */
export function rewoundSource(source: LegacySource, day: IsoDate, left: { notYet: number; notDue: number }, keep: (m: LegacyMember) => boolean = () => true): LegacySource {
  const rewind = (members: LegacyMember[]) => members.flatMap((m) => {
    const before = rewindLegacyMember(m, day);
    if (!before) left.notYet++;
    else if (!keep(before)) left.notDue++;
    return before && keep(before) ? [before] : [];
  });
  return {
    ...source,
    page: async (country, cursor, limit, opts) => {
      const page = await source.page(country, cursor, limit, opts);
      return { ...page, members: rewind(page.members) };
    },
    members: async (country, ids, opts) => rewind(await source.members(country, ids, opts)),
  };
}

/** Would Tally's renewal bill this member on `day` (or does the migration hold it back: kept to be counted)? */
function dueBy(outcome: TransformOutcome, day: IsoDate): boolean {
  if (!outcome.member) return true;
  return outcome.member.subscriptions.some((s) => s.status !== 'cancelled' && s.status !== 'on_hold' && s.nextBillingDate <= day);
}

/** A gateway that refuses every call: shadow billing charges nobody, and this makes it so rather than hoping. */
export const noGateway: PaymentGateway = {
  charge: () => Promise.reject(new Error('shadow billing charges nobody: no payment gateway')),
  lookup: () => Promise.reject(new Error('shadow billing charges nobody: no payment gateway')),
  refund: () => Promise.reject(new Error('shadow billing charges nobody: no payment gateway')),
  knowsToken: () => true,
};

/** Refuse a --shadow-db that holds any table (a Tally store, the legacy, anything): shadow billing writes only into an empty database. */
async function assertEmptyDatabase(url: string, tally: Services): Promise<void> {
  if ([tally.store.url, tally.memberStore.url].includes(url)) throw new InvalidInput('--shadow-db', 'is the Tally store: shadow billing never writes there; give an empty database');
  const address = parseStoreUrl(url, '--shadow-db');
  if (address.engine === 'sqlite' && (address.target === ':memory:' || !existsSync(address.target))) return;
  const db = new Kysely<unknown>({ dialect: dialectFor(address, 1) });
  try {
    let tables: string[];
    try {
      tables = (await db.introspection.getTables({ withInternalKyselyTables: true })).map((t) => t.name);
    } catch (err) {
      throw new StoreError(`--shadow-db: cannot reach ${redactUrl(url)}: ${(err as Error).message}`);
    }
    if (tables.length) {
      throw new InvalidInput('--shadow-db', `${redactUrl(url)} is not empty (it has ${tables.length} table(s): ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''}); give an empty database`);
    }
  } finally {
    await db.destroy();
  }
}

/**
 * The default shadow store, var/shadow/XX-D/store.db: made fresh. One left by an earlier shadow
 * of the same day (its shadow.json beside it says so) is replaced; any other file there is refused.
 */
function defaultShadowStore(dir: string, country: string, day: string): string {
  const file = join(dir, 'store.db');
  const marker = join(dir, 'shadow.json');
  if (existsSync(file)) {
    let ours: boolean;
    try {
      const m = JSON.parse(readFileSync(marker, 'utf8')) as { store?: unknown; country?: unknown; date?: unknown };
      ours = m.store === 'store.db' && m.country === country && m.date === day;
    } catch {
      ours = false;
    }
    if (!ours) throw new InvalidInput('--shadow-db', `${file} exists and is not a shadow store of ${country} ${day} (no shadow.json naming it); remove it or give --shadow-db`);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(marker, `${JSON.stringify({ country, date: day, store: 'store.db', createdAt: new Date().toISOString() })}\n`);
  return `sqlite:${file}`;
}

interface Opened {
  legacy: LegacyDb;
  source: LegacySource;
  plans: PlanMapping;
  rules: DeclaredRule[];
}

/** Everything checked before anything is written: the date, the rules, the mapping, the legacy, the country and its plans. */
async function openChecked(tally: Services, req: ShadowRequest): Promise<Opened> {
  parseIsoDate(req.date, '--date');
  const rules = req.rulesFile ? parseDeclaredRules(readText(req.rulesFile, '--rules'), req.rulesFile) : [];
  const plans = req.plansFile ? parsePlanMapping(readText(req.plansFile, '--plans'), req.plansFile.endsWith('.json') ? 'json' : 'yaml') : referenceLegacyPlans;
  const legacy = await openLegacyTables(req.from);
  try {
    const source = legacySource(legacy);
    await checkSourceCountry(source, await source.countries(), req.country, { catalog: tally.billing.catalog, plans });
    return { legacy, source, plans, rules };
  } catch (err) {
    await legacy.close();
    throw err;
  }
}

/** The legacy's own invoices issued on `day` (Los Angeles calendar day) to the country's members: not rows back-sync wrote. */
async function legacyDayInvoices(legacy: LegacyDb, country: string, day: string, plans: PlanMapping): Promise<DayInvoice[]> {
  const { db } = legacy;
  const spellings = countrySpellings(await legacyAlpha3(db), country);
  const tables = new Set((await db.introspection.getTables()).map((t) => t.name));
  let q = db.selectFrom('invoice_header as h').innerJoin('account as a', 'a.acct_id', 'h.acct_id').innerJoin('customer', 'customer.cust_id', 'a.cust_id')
    .select(['customer.acct_no', 'h.inv_id', 'h.inv_no', 'h.period_from_dt', 'h.period_to_dt', 'h.total_amt', 'h.tax_amt', 'h.currency_cd'])
    .where(customerCountry, 'in', spellings).where('h.inv_dt', '>=', `${day} 00:00:00`).where('h.inv_dt', '<=', `${day} 23:59:59`);
  if (tables.has('tally_backsync_keys')) {
    q = q.where('h.inv_id', 'not in', sql<number>`(select legacy_id from tally_backsync_keys where kind = 'invoice')`);
  }
  const headers = await q.orderBy('h.inv_id').execute();
  const lines = await inChunks(headers.map((h) => Number(h.inv_id)), (ids) => db.selectFrom('invoice_detail').select(['inv_id', 'line_no', 'plan_cd'])
    .where('inv_id', 'in', ids).where('plan_cd', 'is not', null).orderBy('inv_id').orderBy('line_no').execute());
  const planOf = new Map<number, string>();
  for (const l of lines) if (!planOf.has(Number(l.inv_id))) planOf.set(Number(l.inv_id), String(l.plan_cd));
  return headers.map((h) => {
    const code = planOf.get(Number(h.inv_id));
    const digits = currencyExponent(String(h.currency_cd));
    return {
      member: String(h.acct_no), ref: String(h.inv_no), plan: code === undefined ? null : plans.get(code) ?? `legacy:${code}`,
      periodStart: String(h.period_from_dt).slice(0, 10), periodEnd: String(h.period_to_dt).slice(0, 10),
      total: legacyMinorUnits(dec4(h.total_amt), digits), tax: legacyMinorUnits(dec4(h.tax_amt), digits),
    };
  });
}

/** The shadow's renewal invoices issued on `day` (not the history the migration carried over). */
async function shadowDayInvoices(shadow: Services, day: string): Promise<DayInvoice[]> {
  const db = shadow.store.db;
  const rows = await db.selectFrom('invoices').select(['id', 'member_id', 'period_start', 'period_end', 'total', 'tax'])
    .where('kind', '=', 'renewal').where('issued_on', '=', day).where('idem_key', 'like', 'renewal:%').orderBy('id').execute();
  const lines = await inChunks(rows.map((r) => r.id), (ids) => db.selectFrom('invoice_lines').select(['invoice_id', 'line_no', 'plan_id']).where('invoice_id', 'in', ids).orderBy('invoice_id').orderBy('line_no').execute());
  const planOf = new Map<string, string>();
  for (const l of lines) if (l.plan_id && !planOf.has(l.invoice_id)) planOf.set(l.invoice_id, l.plan_id);
  return rows.map((r) => ({
    member: r.member_id, ref: r.id, plan: planOf.get(r.id) ?? null, periodStart: r.period_start, periodEnd: r.period_end, total: Number(r.total), tax: Number(r.tax),
  }));
}

const groupByMember = (invoices: DayInvoice[]) => {
  const out = new Map<string, DayInvoice[]>();
  for (const i of invoices) out.set(i.member, [...(out.get(i.member) ?? []), i]);
  return out;
};

/** Compare the two days' invoices, member by member, into the report; the counts and examples. */
export async function compareDay(legacyInvoices: DayInvoice[], tallyInvoices: DayInvoice[], quarantined: Map<string, string>, rules: DeclaredRule[], base: { source: string; country: string }, report: { write(rows: Difference[]): Promise<void> }, counts: ShadowCounts): Promise<Record<string, Difference[]>> {
  const examples: Record<string, Difference[]> = {};
  const legacyBy = groupByMember(legacyInvoices.filter((i) => !quarantined.has(i.member)));
  const tallyBy = groupByMember(tallyInvoices);
  counts.quarantinedBilled = legacyInvoices.filter((i) => quarantined.has(i.member)).length;
  counts.billed = { legacy: legacyBy.size, tally: tallyBy.size };
  counts.invoices = { legacy: legacyInvoices.length - counts.quarantinedBilled, tally: tallyInvoices.length };
  const members = [...new Set([...legacyBy.keys(), ...tallyBy.keys()])].sort();
  counts.compared = members.length;
  for (const member of members) {
    const rows = compareDayInvoices(member, legacyBy.get(member) ?? [], tallyBy.get(member) ?? [], rules, base);
    const open = rows.filter((r) => !r.rule);
    if (!open.length) counts.clean++;
    for (const kind of ['missing', 'extra', 'differs'] as const) if (open.some((r) => r.kind === kind)) counts.kinds[kind]++;
    for (const r of rows) {
      if (r.rule) {
        const rule = rules.find((x) => x.name === r.rule)!;
        (counts.declared[r.rule] ??= { count: 0, reason: rule.reason }).count++;
      } else {
        counts.differences++;
        if (r.kind === 'differs') counts.fields[r.field!] = (counts.fields[r.field!] ?? 0) + 1;
      }
      const key = r.rule ? `declared:${r.rule}` : r.kind;
      const list = (examples[key] ??= []);
      if (list.length < exampleCount) list.push(r);
    }
    await report.write(rows);
  }
  const held = [...quarantined].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([member, reasons]): Difference => ({
    ...base, member, kind: 'quarantined', field: null, source_value: null, tally_value: null, rule: null, detail: reasons,
  }));
  await report.write(held);
  if (held.length) examples.quarantined = held.slice(0, exampleCount);
  return examples;
}

export function noShadowCounts(): ShadowCounts {
  return {
    members: 0, notYet: 0, notDue: 0, loaded: 0, quarantined: 0, billed: { legacy: 0, tally: 0 }, invoices: { legacy: 0, tally: 0 }, quarantinedBilled: 0,
    compared: 0, clean: 0, kinds: { missing: 0, extra: 0, differs: 0 }, fields: {}, declared: {}, differences: 0,
  };
}

/**
 * Shadow-bill one country for one day; `tally` is the Tally store (its catalog and tax rules are
 * billed with; it records the run and nothing else). Bad input is refused before anything is
 * written: the date, the rules, the mapping, the legacy, the country, the shadow database.
 */
export async function shadowCountry(tally: Services, req: ShadowRequest): Promise<{ summary: ShadowSummary; outcome: ShadowOutcome; runId: number }> {
  const { country } = req;
  const day = parseIsoDate(req.date, '--date');
  const opened = await openChecked(tally, req);
  try {
    const folder = join('var', 'shadow', `${country}-${day}`);
    if (req.shadowDb) await assertEmptyDatabase(req.shadowDb, tally);
    const shadowUrl = req.shadowDb ?? defaultShadowStore(folder, country, day);
    const started = Date.now();
    const shadow = await openServices({ dbUrl: shadowUrl, reportingTimeZone: tally.reportingTimeZone, logLevel: 'silent' }, { log: tally.log.child({ shadow: `${country} ${day}` }) });
    // Bill with the Tally store's catalog in force and tax rules; charge nobody.
    shadow.billing = tally.billing;
    shadow.gateway = noGateway;
    try {
      const report = new ReportWriter(req.out ?? folder);
      const options = {
        from: redactUrl(req.from), date: day, plans: req.plansFile ?? '(reference mapping)', rules: req.rulesFile ?? null,
        shadowDb: req.shadowDb ? redactUrl(req.shadowDb) : resolve(shadowUrl.slice('sqlite:'.length)), horizonMonths: req.horizonMonths ?? shadowHorizonMonths,
      };
      const run = await recordCompareRun(tally.store.db, { mode: 'shadow', source: 'legacy', country, reportDir: report.dir, options }, async () => {
        const counts = noShadowCounts();
        const left = { notYet: 0, notDue: 0 };
        const { promotions, pricePoints } = await opened.source.reference();
        const ctx = { catalog: tally.billing.catalog, plans: opened.plans, promotions, pricePoints, asOf: day, horizonMonths: req.horizonMonths ?? shadowHorizonMonths };
        // Only members Tally's renewal would bill on the day are loaded (and those the migration holds back, to count them):
        // the transform says who is due, and loading the others would change nothing the day bills.
        const adapter = legacyAdapter(rewoundSource(opened.source, day, left, (m) => dueBy(transformLegacy(m, ctx), day)), ctx);
        await setRoute(shadow.store.db, country, { state: 'tally', canaryPercent: 0 }, 'tally shadow', `shadow billing of ${day}`);
        const migration: CountryMigration = await migrateCountry(shadow, adapter, {
          country, asOf: day, mode: 'load', pageSize: req.pageSize ?? 1000, onProgress: req.onProgress, options: { ...options, shadow: true },
        });
        const migrated = Date.now();
        const renewal = await runRenewal(shadow, day);
        if (renewal.errors.length) shadow.log.warn({ job: 'shadow', country, day, errors: renewal.errors.slice(0, 5) }, 'renewal left members out');
        const renewed = Date.now();
        counts.members = migration.counts.members + left.notYet + left.notDue;
        counts.notYet = left.notYet;
        counts.notDue = left.notDue;
        counts.loaded = migration.counts.loaded;
        counts.quarantined = migration.counts.quarantined;
        const quarantine = await shadow.memberStore.db.selectFrom('migration_quarantine').select(['member_id', 'reasons']).where('country', '=', country).execute();
        const quarantined = new Map(quarantine.map((q) => [q.member_id, (JSON.parse(q.reasons) as { reason: string; detail: string }[]).map((r) => `${r.reason}: ${r.detail}`).join('; ')]));
        const examples = await compareDay(await legacyDayInvoices(opened.legacy, country, day, opened.plans), await shadowDayInvoices(shadow, day), quarantined, opened.rules, { source: 'legacy', country }, report, counts);
        const done = Date.now();
        const seconds = (done - started) / 1000;
        const status = counts.differences ? 'differences' as const : 'clean' as const;
        const summary: ShadowSummary = {
          source: 'legacy', country, date: day, status, shadowStore: options.shadowDb, reportDir: report.dir, seconds: Number(seconds.toFixed(3)),
          phases: { migrate: (migrated - started) / 1000, renew: (renewed - migrated) / 1000, compare: (done - renewed) / 1000 },
          membersPerSecond: Math.round(counts.members / Math.max(seconds, 0.001)), ...counts, examples,
        };
        await report.finish({ ...summary, options, renewal: renewal.counts });
        return { status, counts, summary, outcome: { status, counts, examples } };
      });
      return { summary: run.summary, outcome: run.outcome, runId: run.runId };
    } finally {
      await closeServices(shadow);
    }
  } finally {
    await opened.legacy.close();
  }
}
