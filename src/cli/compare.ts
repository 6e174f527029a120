import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Temporal } from 'temporal-polyfill';
import { businessDate, parseIsoDate } from '../domain/calendar.ts';
import { InvalidInput } from '../domain/errors.ts';
import { closeServices, type Services } from '../jobs/services.ts';
import { compareMembers, type CompareDirection, type CompareOutcome } from '../compare/compare-members.ts';
import { recordCompareRun } from '../compare/compare-runs.ts';
import { parseDeclaredRules, type DeclaredRule } from '../compare/declared-rules.ts';
import { defaultReportDir, readEarlierReport, ReportWriter } from '../compare/report-files.ts';
import { reportFiles } from '../compare/report-format.ts';
import { killBillFacts } from '../compare/sources/killbill-facts.ts';
import { legacyFacts } from '../compare/sources/legacy-facts.ts';
import type { FactsWindow, LegacyFacts } from '../compare/sources/source-facts.ts';
import { openKillBillSource } from '../migration/sources/killbill-source.ts';
import { openLegacyTables } from '../migration/sources/legacy-source.ts';
import { parsePlanMapping, referenceLegacyPlans, type PlanMapping } from '../migration/plan-mapping.ts';
import { configFromEnv, logger, openServices } from '../wiring.ts';
import { jobProgress } from './progress.ts';
import { redactUrl } from '../store/engines.ts';

const usageLine = 'usage: tally compare --source legacy|killbill --from URL --country XX [--direction source-to-tally|tally-to-source] [--tenant T] [--members-from REPORT] [--rules FILE] [--out DIR] [--plans FILE] [--as-of D] [--horizon-months N] [--json]';

const text = (values: Record<string, unknown>, name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);

function readText(file: string, option: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidInput(option, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

interface MigrationWindow {
  /** The latest run's options: its plan mapping is the one compared with, its Kill Bill tenant the one read. */
  plans?: string;
  tenant?: number;
  /** The latest run's as-of day: the day the source's scheduled changes are read as of. */
  asOf?: string;
  /** Each run's first day of hot history (its as-of day less its horizon), by run id. */
  horizons: Map<number, string>;
  latest: string;
}

const horizonFrom = (asOf: string, months: number) => Temporal.PlainDate.from(asOf).subtract({ months }).toString();

/** What the country's migration runs ran with: the compare looks at each member's window and the plan mapping unless told otherwise. */
async function migrationOf(svc: Services, source: string, country: string, direction: CompareDirection = 'source-to-tally'): Promise<MigrationWindow> {
  const runs = await svc.store.db.selectFrom('migration_runs').select(['id', 'options']).where('source', '=', source).where('country', '=', country)
    .where('mode', '!=', 'clear').orderBy('id').execute();
  const migrated = await svc.memberStore.db.selectFrom('migrated_members').select('member_id').where('country', '=', country).where('source', '=', source).limit(1).executeTakeFirst();
  const held = await svc.memberStore.db.selectFrom('migration_quarantine').select('member_id').where('country', '=', country).where('source', '=', source).limit(1).executeTakeFirst();
  // Tally → source proves back-sync: a country whose members all signed up in Tally was never migrated, and needs no window of it.
  if (direction === 'tally-to-source' && !runs.length) return { horizons: new Map(), latest: horizonFrom(businessDate(Date.now(), configFromEnv().reportingTimeZone), 24) };
  if (!runs.length || (!migrated && !held)) throw new InvalidInput('--country', `${country} has not been migrated from ${source} yet (run tally migrate --source ${source} --country ${country} first)`, country);
  const horizons = new Map<number, string>();
  let plans: string | undefined;
  let tenant: number | undefined;
  let asOf: string | undefined;
  for (const run of runs) {
    const o = JSON.parse(run.options) as { asOf?: string; horizonMonths?: number; plans?: string; tenant?: number };
    if (o.asOf) horizons.set(Number(run.id), horizonFrom(o.asOf, o.horizonMonths ?? 24));
    plans = o.plans;
    tenant = o.tenant ?? tenant;
    asOf = o.asOf ?? asOf;
  }
  return { plans, tenant, asOf, horizons, latest: horizons.get(Number(runs.at(-1)!.id)) ?? [...horizons.values()].at(-1) ?? horizonFrom(businessDate(Date.now(), configFromEnv().reportingTimeZone), 24) };
}

function printSummary(summary: { source: string; country: string; seconds: number; membersPerSecond: number; reportDir: string; direction: CompareDirection }, outcome: CompareOutcome): void {
  const c = outcome.counts;
  const n = (v: number) => v.toLocaleString('en-US').padStart(9);
  const fields = Object.entries(c.fields).sort((a, b) => b[1] - a[1]).map(([f, k]) => `${f} ${k}`).join(', ');
  const back = summary.direction === 'tally-to-source';
  const lines = [
    `compare ${back ? `tally → ${summary.source}` : `${summary.source} → tally`}, ${summary.country}: ${c.checked.toLocaleString('en-US')} members in ${summary.seconds} s (${summary.membersPerSecond} members/s) — ${outcome.status.toUpperCase()}`,
    `  clean       ${n(c.clean)}`,
    `  differs     ${n(c.members.differs)}${fields ? `   fields: ${fields}` : ''}`,
    `  missing     ${n(c.members.missing)}   ${back ? 'in Tally, not in the source (not written back)' : 'in the source, not in Tally'}`,
    `  extra       ${n(c.members.extra)}   in Tally, no longer in the source`,
    `  stale       ${n(c.members.stale)}   changed in the source since migrated (tally migrate --since-last)`,
    `  quarantined ${n(c.members.quarantined)}   held back by the migration (tally migrate report --country ${summary.country})`,
    ...Object.entries(c.declared).map(([rule, d]) => `  declared    ${n(d.count)}   ${rule}: ${d.reason}`),
  ];
  const shown = Object.entries(outcome.examples).filter(([kind]) => kind !== 'quarantined');
  if (shown.length) lines.push('examples:');
  for (const [kind, rows] of shown) {
    for (const r of rows) lines.push(`  ${kind.padEnd(11)} ${r.member}  ${r.field ? `${r.field}: source ${r.source_value}, tally ${r.tally_value}` : r.detail ?? ''}`);
  }
  lines.push(`report: ${join(summary.reportDir, reportFiles.jsonl)} (also ${reportFiles.parquet}, ${reportFiles.summary})`);
  console.log(lines.join('\n'));
}

interface OpenedFacts {
  facts: LegacyFacts;
  /** What the run records of the source besides its URL. */
  recorded: Record<string, unknown>;
  close(): Promise<void>;
}

async function openLegacyFacts(from: string, window: FactsWindow): Promise<OpenedFacts> {
  const legacy = await openLegacyTables(from);
  return { facts: legacyFacts(legacy, window), recorded: {}, close: () => legacy.close() };
}

/** Kill Bill, checked and its tenant chosen the way `tally migrate` does (by default the tenant the migration read). */
async function openKillBillFacts(from: string, tenant: string | undefined, window: FactsWindow): Promise<OpenedFacts> {
  const source = await openKillBillSource(from, { tenant, asOf: window.horizons.latest });
  return { facts: killBillFacts(source.kb, source.tenant.recordId, window), recorded: { tenant: source.tenant.recordId }, close: () => source.close() };
}

export interface CompareRequest {
  source: 'legacy' | 'killbill';
  from: string;
  country: string;
  direction?: CompareDirection;
  tenant?: string;
  rulesFile?: string;
  /** Only these members (an earlier report's, or a cut-over cohort's). */
  members?: string[];
  /** Where `members` came from, recorded with the run. */
  membersFrom?: string;
  asOf?: string;
  horizonMonths?: number;
  plansFile?: string;
  out?: string;
  pageSize?: number;
}

/**
 * One country compared, source against Tally, recorded as a compare run with its report
 * files: what `tally compare` runs, and the cut-over's proof step. Each member is compared
 * over the window it was migrated with, unless `asOf`/`horizonMonths` say one for all.
 */
export async function compareCountry(svc: Services, req: CompareRequest) {
  const { source, from, country } = req;
  const direction = req.direction ?? 'source-to-tally';
  const rules: DeclaredRule[] = req.rulesFile ? parseDeclaredRules(readText(req.rulesFile, '--rules'), req.rulesFile) : [];
  const migrated = await migrationOf(svc, source, country, direction);
  const given = req.asOf || req.horizonMonths !== undefined
    ? horizonFrom(req.asOf ? parseIsoDate(req.asOf, '--as-of') : businessDate(Date.now(), configFromEnv().reportingTimeZone), req.horizonMonths ?? 24)
    : undefined;
  const horizonOf = (runId: number | null) => given ?? (runId !== null ? migrated.horizons.get(runId) : undefined) ?? migrated.latest;
  const all = given ? [given] : [...migrated.horizons.values(), migrated.latest];
  const horizons = { earliest: all.reduce((a, b) => (a < b ? a : b)), latest: all.reduce((a, b) => (a > b ? a : b)) };
  const plansFile = req.plansFile ?? (migrated.plans && migrated.plans !== '(reference mapping)' ? migrated.plans : undefined);
  if (source === 'killbill' && !plansFile) throw new InvalidInput('--plans', 'is required with --source killbill (the mapping the migration ran with)');
  const plans: PlanMapping = plansFile ? parsePlanMapping(readText(plansFile, '--plans'), plansFile.endsWith('.json') ? 'json' : 'yaml') : referenceLegacyPlans;
  // Kill Bill's scheduled changes (a cancellation, a trial's end) are read as of the day the migration read them, or --as-of.
  const asOf = req.asOf ? parseIsoDate(req.asOf, '--as-of') : migrated.asOf;
  const window = { horizons, plans, ...(asOf ? { asOf } : {}) };
  const opened = source === 'killbill'
    ? await openKillBillFacts(from, req.tenant ?? (migrated.tenant !== undefined ? String(migrated.tenant) : undefined), window)
    : await openLegacyFacts(from, window);
  try {
    const started = new Date();
    const report = new ReportWriter(req.out ?? defaultReportDir(country, started));
    const { facts } = opened;
    const options = { from: redactUrl(from), direction, ...opened.recorded, horizons, plans: plansFile ?? '(reference mapping)', rules: req.rulesFile ?? null, membersFrom: req.membersFrom ?? null };
    const log = logger(process.env.TALLY_LOG_LEVEL || 'info');
    const progress = jobProgress(log, 'compare', country, req.members?.length);
    const { outcome, summary, runId } = await recordCompareRun(svc.store.db, { mode: 'members', source, country, reportDir: report.dir, options }, async () => {
      const outcome = await compareMembers(svc, {
        source, country, facts, rules, report, horizonOf, direction, pageSize: req.pageSize ?? 2000, onProgress: progress.tick, ...(req.members ? { members: req.members } : {}),
      }).finally(progress.stop);
      const seconds = (Date.now() - started.getTime()) / 1000;
      const summary = {
        source, country, ...options, startedAt: started.toISOString(), finishedAt: new Date().toISOString(), seconds: Number(seconds.toFixed(3)),
        membersPerSecond: Math.round(outcome.counts.checked / Math.max(seconds, 0.001)), status: outcome.status, reportDir: report.dir, ...outcome.counts,
        examples: outcome.examples,
      };
      await report.finish(summary);
      return { outcome, summary, status: outcome.status, counts: outcome.counts };
    });
    log.info({ job: 'compare', country, runId, status: outcome.status, ...outcome.counts }, 'compare finished');
    return { outcome, summary, runId };
  } finally {
    await opened.close();
  }
}

/** `tally compare --source legacy|killbill …`: exit 0 clean, 1 differences (an error is 2, see runCli). */
export async function compareCommand(rest: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  if (rest.length) throw usageError(usageLine);
  const source = text(values, 'source');
  if (source !== 'legacy' && source !== 'killbill') throw usageError(source ? `--source must be legacy or killbill, got "${source}"` : `--source is required; ${usageLine}`);
  const from = text(values, 'from');
  if (!from) throw usageError(`--from is required (the source database URL); ${usageLine}`);
  const country = (text(values, 'country') ?? '').trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) throw usageError(country ? `--country takes one ISO 3166 alpha-2 code, got "${text(values, 'country')}"` : `--country is required; ${usageLine}`);
  const horizonText = text(values, 'horizon-months');
  if (horizonText !== undefined && (!/^\d+$/.test(horizonText) || Number(horizonText) > 1200)) throw usageError(`--horizon-months must be a whole number of months (0 to 1200), got "${horizonText}"`);
  const pageText = text(values, 'page-size') ?? '2000';
  if (!/^\d+$/.test(pageText) || Number(pageText) < 1 || Number(pageText) > 20_000) throw usageError(`--page-size must be a whole number of members from 1 to 20000, got "${pageText}"`);
  const rulesFile = text(values, 'rules');
  const membersFrom = text(values, 'members-from');
  const earlier = membersFrom ? await readEarlierReport(membersFrom) : undefined;
  if (earlier && earlier.source !== source) throw new InvalidInput('--members-from', `${membersFrom} is a report of source ${earlier.source}, not ${source}`);
  if (earlier && earlier.country !== country) throw new InvalidInput('--members-from', `${membersFrom} is a report of country ${earlier.country}, not ${country}`);

  const direction = (text(values, 'direction') ?? 'source-to-tally') as CompareDirection;
  if (direction !== 'source-to-tally' && direction !== 'tally-to-source') throw usageError(`--direction must be source-to-tally or tally-to-source, got "${direction}"`);

  const svc = await openServices(configFromEnv());
  try {
    const { outcome, summary, runId } = await compareCountry(svc, {
      source, from, country, direction, tenant: text(values, 'tenant'), rulesFile, members: earlier?.members, membersFrom, asOf: text(values, 'as-of'),
      horizonMonths: horizonText !== undefined ? Number(horizonText) : undefined, plansFile: text(values, 'plans'), out: text(values, 'out'), pageSize: Number(pageText),
    });
    if (values.json) console.log(JSON.stringify({ runId, ...summary }));
    else printSummary(summary, outcome);
    return outcome.status === 'clean' ? 0 : 1;
  } finally {
    await closeServices(svc);
  }
}
