import { Temporal } from 'temporal-polyfill';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { InvalidInput } from '../domain/errors.ts';

/**
 * The retention policy as data: for each data class, how long its rows stay in the hot store,
 * and then either how long they are kept in total (archived to Parquet until then) or that
 * they are only purged. Pure: parsing, validating and turning a policy into cut-off moments.
 */

export const dataClasses = [
  'invoices', 'payments', 'refunds-chargebacks', 'journal', 'revenue-days', 'audit',
  'outbox', 'processed-events', 'idempotency-keys', 'job-runs', 'quarantine', 'legacy-history',
] as const;
export type DataClass = (typeof dataClasses)[number];

export type Unit = 'hours' | 'days' | 'months' | 'years';
export interface Duration {
  amount: number;
  unit: Unit;
}

export interface Retention {
  /** How long a row stays in the hot store, counted from its date. */
  hot: Duration;
  /** Archived: how long the row is kept in all, counted from its date; the archive file is dropped after. Absent when purge-only. */
  keep?: Duration;
  /** Purge-only: deleted once past `hot`, never archived. */
  purge: boolean;
}

export type Policy = Record<DataClass, Retention>;

const d = (amount: number, unit: Unit): Duration => ({ amount, unit });

/**
 * What a finance team would sign. Invoices, payments, refunds and chargebacks, the journal and
 * closed revenue days are bookkeeping records: 10 years is the longest the countries we bill
 * demand (Germany's §147 AO and §257 HGB, France's Code de commerce L123-22); US states ask 7.
 * The hot windows cover what customer service and dunning look at (two years of invoices) and
 * what reconciliation re-reads (three years of journal).
 */
export const defaultPolicy: Policy = {
  invoices: { hot: d(24, 'months'), keep: d(10, 'years'), purge: false },
  payments: { hot: d(24, 'months'), keep: d(10, 'years'), purge: false },
  'refunds-chargebacks': { hot: d(24, 'months'), keep: d(10, 'years'), purge: false },
  journal: { hot: d(36, 'months'), keep: d(10, 'years'), purge: false },
  'revenue-days': { hot: d(36, 'months'), keep: d(10, 'years'), purge: false },
  audit: { hot: d(24, 'months'), keep: d(7, 'years'), purge: false },
  outbox: { hot: d(30, 'days'), purge: true },
  'processed-events': { hot: d(30, 'days'), purge: true },
  'idempotency-keys': { hot: d(24, 'hours'), purge: true },
  'job-runs': { hot: d(13, 'months'), keep: d(5, 'years'), purge: false },
  quarantine: { hot: d(6, 'months'), keep: d(2, 'years'), purge: false },
  // The history a migration left in the source (older than its horizon): never hot in Tally, archived from the source.
  'legacy-history': { hot: d(0, 'days'), keep: d(10, 'years'), purge: false },
};

/** The shortest total retention the law allows: bookkeeping records are never purge-only and never kept less than this. */
export const legalMinimum: Partial<Record<DataClass, Duration>> = {
  invoices: d(10, 'years'),
  payments: d(10, 'years'),
  'refunds-chargebacks': d(10, 'years'),
  journal: d(10, 'years'),
  'revenue-days': d(10, 'years'),
  'legacy-history': d(10, 'years'),
};

/**
 * Purge-only classes must outlive what still reads them: the relay republishes only unpublished
 * events, a consumer's processed-event record must outlive any redelivery of that event, and a
 * client retries with the same idempotency key within minutes, not days.
 */
const shortestHot: Partial<Record<DataClass, Duration>> = {
  outbox: d(7, 'days'),
  'processed-events': d(7, 'days'),
  'idempotency-keys': d(1, 'hours'),
};

/** Roughly in hours, only to compare two durations. */
function approxHours(x: Duration): number {
  return x.amount * { hours: 1, days: 24, months: 24 * 30.44, years: 24 * 365.25 }[x.unit];
}

export function formatDuration(x: Duration): string {
  return `${x.amount} ${x.amount === 1 ? x.unit.slice(0, -1) : x.unit}`;
}

function parseDuration(text: unknown, field: string): Duration {
  const m = typeof text === 'string' ? /^\s*(\d{1,5})\s*(hours?|days?|months?|years?)\s*$/.exec(text) : null;
  if (typeof text === 'number' && Number.isInteger(text) && text >= 0) return d(text, 'days');
  if (!m) throw new InvalidInput(field, `must be a duration such as "30 days", "24 months" or "10 years", got ${JSON.stringify(text)}`, text);
  const unit = (m[2]!.endsWith('s') ? m[2] : `${m[2]}s`) as Unit;
  return d(Number(m[1]), unit);
}

function isDataClass(name: string): name is DataClass {
  return (dataClasses as readonly string[]).includes(name);
}

/**
 * A policy document (YAML or JSON): `classes: { <class>: { hot: "24 months", keep: "10 years" } }`
 * or `{ hot: "30 days", purge: true }`. A class left out keeps its default. Refuses, naming the
 * field, an unknown class, a malformed duration, and any retention the law or the system forbids.
 */
export function parsePolicy(text: string, base: Policy = defaultPolicy): Policy {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new InvalidInput('policy', `is not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new InvalidInput('policy', 'must be a mapping with a "classes" key');
  const unknownTop = Object.keys(doc).filter((k) => k !== 'classes');
  if (unknownTop.length) throw new InvalidInput(unknownTop[0]!, `is not a policy key (only "classes")`);
  const classes = (doc as { classes?: unknown }).classes;
  if (!classes || typeof classes !== 'object' || Array.isArray(classes)) throw new InvalidInput('classes', 'must map data classes to their retention');
  const policy: Policy = { ...base };
  for (const [name, value] of Object.entries(classes)) {
    if (!isDataClass(name)) throw new InvalidInput(`classes.${name}`, `is not a data class; the classes are ${dataClasses.join(', ')}`, name);
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new InvalidInput(`classes.${name}`, 'must be { hot, keep } or { hot, purge: true }');
    const v = value as Record<string, unknown>;
    const extra = Object.keys(v).filter((k) => !['hot', 'keep', 'purge'].includes(k));
    if (extra.length) throw new InvalidInput(`classes.${name}.${extra[0]}`, 'is not a retention key (hot, keep, purge)');
    if (v.purge !== undefined && typeof v.purge !== 'boolean') throw new InvalidInput(`classes.${name}.purge`, 'must be true or false', v.purge);
    const purge = v.purge === true;
    if (purge && v.keep !== undefined) throw new InvalidInput(`classes.${name}.keep`, 'a purge-only class keeps no archive; drop keep or purge');
    const hot = v.hot === undefined ? policy[name].hot : parseDuration(v.hot, `classes.${name}.hot`);
    const keep = purge ? undefined : v.keep === undefined ? (policy[name].keep ?? defaultPolicy[name].keep) : parseDuration(v.keep, `classes.${name}.keep`);
    policy[name] = purge ? { hot, purge } : { hot, keep, purge };
  }
  validatePolicy(policy);
  return policy;
}

export function validatePolicy(policy: Policy): void {
  for (const name of dataClasses) {
    const r = policy[name];
    const law = legalMinimum[name];
    if (law) {
      if (r.purge) throw new InvalidInput(`classes.${name}.purge`, `${name} are bookkeeping records: the law requires keeping them ${formatDuration(law)}, so they are archived, never only purged`);
      const total = r.keep ?? r.hot;
      if (approxHours(total) < approxHours(law)) {
        throw new InvalidInput(`classes.${name}.keep`, `${formatDuration(total)} is shorter than the ${formatDuration(law)} the law requires for ${name}`);
      }
    }
    const floor = shortestHot[name];
    if (floor && approxHours(r.hot) < approxHours(floor)) {
      throw new InvalidInput(`classes.${name}.hot`, `${formatDuration(r.hot)} is shorter than ${formatDuration(floor)}: ${name} are still read that long`);
    }
    if (r.hot.unit === 'hours' && name !== 'idempotency-keys' && r.hot.amount % 24 !== 0) {
      throw new InvalidInput(`classes.${name}.hot`, 'give whole days, months or years');
    }
    if (name === 'journal' && approxHours(r.hot) > approxHours(policy['revenue-days'].hot)) {
      // A day's journal leaves only once its closed revenue report is hot to answer for it (data-classes.ts).
      throw new InvalidInput('classes.revenue-days.hot', `must be at least the journal's hot window (${formatDuration(r.hot)}): a day's journal is archived only while its closed revenue day is hot`);
    }
    if (r.keep && approxHours(r.keep) < approxHours(r.hot)) {
      throw new InvalidInput(`classes.${name}.keep`, `${formatDuration(r.keep)} is shorter than its hot window ${formatDuration(r.hot)}; keep counts from the row's date`);
    }
  }
}

/** The policy as the document `policy set` takes (every class written out). */
export function policyDocument(policy: Policy): string {
  const classes: Record<string, Record<string, string | boolean>> = {};
  for (const name of dataClasses) {
    const r = policy[name];
    classes[name] = r.purge ? { hot: formatDuration(r.hot), purge: true } : { hot: formatDuration(r.hot), keep: formatDuration(r.keep!) };
  }
  return stringifyYaml({ classes });
}

/** `at` minus a duration, in UTC (months and years by the calendar: 24 months before 2026-02-28 is 2024-02-28). */
export function minus(at: Temporal.Instant, x: Duration): Temporal.Instant {
  if (x.unit === 'hours') return at.subtract({ hours: x.amount });
  return at.toZonedDateTimeISO('UTC').subtract({ [x.unit]: x.amount }).toInstant();
}

/**
 * Where each class cuts: rows dated before `hotBefore` leave the hot store; archived rows dated
 * before `keepBefore` are dropped from the archive. `before` (from `--before D`) only narrows:
 * a run never moves a row the policy keeps hot.
 */
export interface Cutoff {
  /** ISO date-time; compared as text against dates (YYYY-MM-DD) and timestamps alike. */
  hotBefore: string;
  keepBefore?: string;
}

export function cutoffs(policy: Policy, now: Temporal.Instant, before?: string): Record<DataClass, Cutoff> {
  const out = {} as Record<DataClass, Cutoff>;
  for (const name of dataClasses) {
    const r = policy[name];
    let hotBefore = minus(now, r.hot).toString();
    if (before && before < hotBefore) hotBefore = before;
    out[name] = { hotBefore, keepBefore: r.keep ? minus(now, r.keep).toString() : undefined };
  }
  return out;
}
