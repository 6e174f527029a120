import { hostname } from 'node:os';
import { join } from 'node:path';
import { businessDate, parseIsoDate } from '../domain/calendar.ts';
import { InvalidInput } from '../domain/errors.ts';
import type { Services } from '../jobs/services.ts';
import { openLegacy, resumeBillingCountry, resumeBillingMembers, stopBillingCountry, stopBillingMembers, type LegacyDb } from '../legacy/index.ts';
import { backsyncStatus, ensureBacksyncTables } from '../migration/backsync/index.ts';
import { abortCutover, cutoverHistory, runCutover, type CutoverWork } from '../migration/cutover/cutover.ts';
import { customerCountry, legacyAlpha3, countrySpellings, openLegacyTables } from '../migration/sources/legacy-source.ts';
import { liveProxies, readRoutes } from '../proxy/route-table.ts';
import { cohortOf, unrouted } from '../proxy/routing.ts';
import { redactUrl } from '../store/engines.ts';
import { configFromEnv } from '../wiring.ts';
import { compareCountry } from './compare.ts';
import { migrate } from './migrate.ts';

const usage = 'usage: tally cutover XX --from URL [--cohort P%] [--plans FILE] [--rules FILE] [--as-of D] [--dry-run | --abort | --status] [--json]';

/** The legacy members of a country in a canary cohort (cohort < P), by account number. */
async function cohortMembers(legacy: LegacyDb, country: string, percent: number): Promise<string[]> {
  const spellings = countrySpellings(await legacyAlpha3(legacy.db), country);
  const rows = await legacy.db.selectFrom('customer').select('acct_no').where(customerCountry, 'in', spellings).orderBy('acct_no').execute();
  return rows.map((r) => r.acct_no).filter((id) => cohortOf(id) < percent);
}

/**
 * The members a cut-over's compare must prove when the country was already compared clean, in
 * full, since its last full load: the ones the latest --since-last wrote (or quarantined).
 * Undefined when there is no such compare: then the whole country is compared.
 */
async function changedSinceCleanCompare(svc: Services, country: string): Promise<string[] | undefined> {
  const load = await svc.store.db.selectFrom('migration_runs').select(['id', 'started_at']).where('source', '=', 'legacy').where('country', '=', country).where('mode', '=', 'load')
    .orderBy('id', 'desc').executeTakeFirst();
  if (!load) return undefined;
  const compares = await svc.store.db.selectFrom('compare_runs').select(['options', 'started_at']).where('mode', '=', 'members').where('source', '=', 'legacy').where('country', '=', country)
    .where('status', '=', 'clean').where('started_at', '>', load.started_at).execute();
  const full = compares.some((c) => {
    const o = JSON.parse(c.options) as { membersFrom?: string | null; direction?: string };
    return !o.membersFrom && (o.direction ?? 'source-to-tally') === 'source-to-tally';
  });
  if (!full) return undefined;
  const sinceLast = await svc.store.db.selectFrom('migration_runs').select('id').where('source', '=', 'legacy').where('country', '=', country).where('mode', '=', 'since-last')
    .orderBy('id', 'desc').executeTakeFirst();
  if (!sinceLast) return [];
  const written = await svc.memberStore.db.selectFrom('migrated_members').select('member_id').where('run_id', '=', Number(sinceLast.id)).execute();
  return written.map((r) => r.member_id);
}

/** The real work of a cut-over from the reference legacy: Tally's migration and comparator, back-sync's lag, the legacy's billing switch. */
export function legacyWork(svc: Services, legacy: LegacyDb, opts: { from: string; plansFile?: string; rulesFile?: string; asOf: string; reportDir: (country: string) => string }): CutoverWork {
  const by = `${hostname()}:${process.pid} (tally cutover)`;
  // The cohort's members are read again by each step that needs them, on purpose: they are not the same list at each. The
  // compare reads them frozen; from the flip on the cohort signs up on Tally and back-sync writes those members into the
  // legacy, so legacy-stop (after the unfreeze) and legacy-resume (after an abort's drain) must see them too, or the legacy
  // would go on billing members Tally bills. Each step runs once per run (a resumed run skips the finished ones).
  const members = (country: string, cohort: number) => (cohort >= 100 ? Promise.resolve(undefined) : cohortMembers(legacy, country, cohort));
  return {
    async migrate(country) {
      const lines: Record<string, unknown>[] = [];
      await migrate(svc, { source: 'legacy', from: opts.from, countries: [country], plansFile: opts.plansFile, mode: 'since-last', asOf: opts.asOf, horizonMonths: 24 }, (line) => lines.push({ runId: line.runId, ...line.counts }));
      return lines[0] ?? {};
    },
    async compare(country, cohort) {
      // A quarantined member is in neither system once the country moves: the legacy stops billing it and Tally never had it.
      const held = await svc.memberStore.db.selectFrom('migration_quarantine').select('member_id').where('source', '=', 'legacy').where('country', '=', country).execute();
      const cohortIds = await members(country, cohort);
      const inCohort = cohortIds ? new Set(cohortIds) : null;
      const heldHere = inCohort ? held.filter((h) => inCohort.has(h.member_id)).length : held.length;
      if (heldHere) {
        return { clean: false, detail: { quarantined: heldHere }, reason: `${heldHere} member(s) of ${country}${cohortIds ? ' in the cohort' : ''} are quarantined by the migration (tally migrate report --country ${country}): fix them in the legacy first, or they would be left with neither system billing them` };
      }
      // The freeze lasts as long as this proof. A country compared clean in full since it was loaded needs proving again only
      // for the members the legacy changed since (those the --since-last step just wrote); otherwise all of it (or the cohort).
      const scope = cohortIds ?? (await changedSinceCleanCompare(svc, country));
      const { outcome, summary, runId } = await compareCountry(svc, {
        source: 'legacy', from: opts.from, country, rulesFile: opts.rulesFile, out: opts.reportDir(country), plansFile: opts.plansFile,
        ...(scope ? { members: scope, membersFrom: cohortIds ? `cohort ${cohort}%` : 'changed since the last clean compare' } : {}),
      });
      const c = outcome.counts;
      const detail = {
        compareRunId: runId, scope: scope ? (cohortIds ? `cohort ${cohort}%` : `${scope.length} member(s) changed since the last clean compare`) : 'the whole country',
        checked: c.checked, differences: c.differences, members: c.members, declared: Object.fromEntries(Object.entries(c.declared).map(([k, v]) => [k, v.count])), reportDir: summary.reportDir,
      };
      if (outcome.status === 'clean') return { clean: true, detail };
      const fields = Object.entries(c.fields).map(([f, n]) => `${f} ${n}`).join(', ');
      return { clean: false, detail, reason: `the compare found ${c.differences} undeclared difference(s) (${[fields, c.members.missing ? `missing ${c.members.missing}` : '', c.members.extra ? `extra ${c.members.extra}` : ''].filter(Boolean).join('; ')}); report ${summary.reportDir}` };
    },
    async backsyncFrom() {
      // Back-sync follows the route table: from the flip on, the country's events are written back. Where it starts:
      const last = await svc.store.db.selectFrom('outbox').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
      return { fromOutboxId: Number(last?.id ?? 0) };
    },
    async legacyStop(country, cohort) {
      if (cohort >= 100) {
        await stopBillingCountry(legacy.db, country, by, 'cut over to Tally');
        return { stopped: country };
      }
      const ids = (await members(country, cohort))!;
      return { stoppedMembers: await stopBillingMembers(legacy.db, ids, by, `cohort ${cohort}% of ${country} cut over to Tally`) };
    },
    async backsyncWaiting(country) {
      // A legacy back-sync never wrote to has no record of applied events yet: nothing of the country was ever sent.
      await ensureBacksyncTables(legacy.db);
      const [lag] = await backsyncStatus(svc, { countries: [country], legacy: legacy.db });
      return lag ? lag.waiting : 0;
    },
    async legacyResume(country, cohort) {
      if (cohort >= 100) await resumeBillingCountry(legacy.db, country);
      else await resumeBillingMembers(legacy.db, (await members(country, cohort))!);
      return { resumed: cohort >= 100 ? country : `${cohort}% of ${country}` };
    },
  };
}

function percent(text: string | undefined): number {
  if (text === undefined) return 100;
  const m = /^(\d{1,3})%?$/.exec(text.trim());
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 100) throw new InvalidInput('--cohort', `must be a share of the country's members from 1% to 100%, got "${text}"`, text);
  return Number(m[1]);
}

/** `tally cutover XX …`: run (or continue), check, abort or show a country's cut-over. */
export async function cutoverCommand(svc: Services, rest: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  if (rest.length !== 1) throw usageError(usage);
  const country = rest[0]!.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) throw new InvalidInput('country', `takes an ISO 3166 alpha-2 code, got "${rest[0]}"`, rest[0]);
  const modes = (['dry-run', 'abort', 'status'] as const).filter((m) => values[m]);
  if (modes.length > 1) throw usageError(`--${modes[0]} and --${modes[1]} cannot be used together; ${usage}`);
  const print = (out: unknown) => console.log(JSON.stringify(out, null, values.json ? undefined : 2));
  if (values.status) {
    print({ country, route: (await readRoutes(svc.store.db)).get(country) ?? unrouted, runs: await cutoverHistory(svc.store.db, country) });
    return 0;
  }
  const from = text('from') ?? process.env.TALLY_LEGACY_URL;
  if (!from) throw usageError(`--from is required (the legacy database URL; or TALLY_LEGACY_URL); ${usage}`);
  const cohort = percent(text('cohort'));
  const asOf = text('as-of') ? parseIsoDate(text('as-of'), '--as-of') : businessDate(Date.now(), configFromEnv().reportingTimeZone);
  const legacy = values['dry-run'] ? await openLegacyTables(from) : await openLegacy(from, '--from', { mustExist: true });
  try {
    if (values['dry-run']) {
      // What the run would start from and wait on; nothing is changed.
      const route = (await readRoutes(svc.store.db)).get(country) ?? unrouted;
      const proxies = await liveProxies(svc.store.db);
      const migratedRuns = await svc.store.db.selectFrom('migration_runs').select(['id', 'mode', 'status', 'finished_at']).where('source', '=', 'legacy').where('country', '=', country).orderBy('id', 'desc').limit(1).execute();
      const running = await svc.store.db.selectFrom('cutover_runs').select(['id', 'cohort_percent']).where('country', '=', country).where('status', '=', 'running').executeTakeFirst();
      const members = cohort < 100 ? (await cohortMembers(legacy, country, cohort)).length : null;
      print({
        country, cohortPercent: cohort, route, proxies: proxies.length, lastMigration: migratedRuns[0] ?? null, inProgress: running ?? null, cohortMembers: members,
        steps: ['freeze', 'drain', 'migrate', 'compare', 'route', 'unfreeze', 'backsync', 'legacy-stop'],
        warnings: [
          ...(migratedRuns.length ? [] : [`${country} was never migrated: the freeze would last a whole first load (run tally migrate --source legacy --country ${country} first)`]),
          ...(proxies.length ? [] : ['no proxy is running: nothing routes members by the route table']),
          ...(route.state === 'tally' ? [`${country} is already served by Tally`] : []),
        ],
      });
      return 0;
    }
    const work = legacyWork(svc, legacy, { from, plansFile: text('plans'), rulesFile: text('rules'), asOf, reportDir: (c) => join('var', 'cutover', `${c}-${Date.now()}`) });
    const result = values.abort
      ? await abortCutover(svc.store.db, work, { country })
      : await runCutover(svc.store.db, work, { country, cohortPercent: cohort, options: { from: redactUrl(from), cohort, plans: text('plans') ?? null, rules: text('rules') ?? null, asOf } });
    print(result);
    return result.status === 'stopped' ? 1 : 0;
  } finally {
    await legacy.close();
  }
}
