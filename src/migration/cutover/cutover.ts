import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import { InvalidInput } from '../../domain/errors.ts';
import { withLocks } from '../../jobs/job-lock.ts';
import { insertReturningId } from '../../store/bulk.ts';
import type { Schema } from '../../store/schema.ts';
import { liveProxies, readRoutes, setRoute } from '../../proxy/route-table.ts';
import { unrouted, type CountryRoute, type RouteState } from '../../proxy/routing.ts';

/**
 * The per-country cut-over, step by step, each step persisted with its start and end so a
 * run killed at any moment continues where it stopped when run again:
 *
 *   freeze → drain → migrate → compare → route → unfreeze → backsync → legacy-stop
 *
 * The freeze is the route table's `frozen` state: reads are still answered, writes are refused
 * with 503 and Retry-After by every proxy. `drain` waits until every live proxy has read the
 * freeze and has no write of the country still in flight; then the data moves (`migrate
 * --since-last`) and is proven (`compare`: clean, or only declared differences; otherwise the
 * run stops, the country goes back to the route it had, and the report says why). `route`
 * flips the country (or its canary cohort) to Tally, which ends the freeze; `unfreeze` waits
 * until every proxy has seen the flip: the freeze window is from the freeze to then. From
 * `backsync` on, Tally's changes of the country flow back to the legacy, and `legacy-stop`
 * ends the legacy's own billing of the country.
 */
export const cutoverSteps = ['freeze', 'drain', 'migrate', 'compare', 'route', 'unfreeze', 'backsync', 'legacy-stop'] as const;
export type CutoverStep = (typeof cutoverSteps)[number];

/** What a step found, recorded with it and shown by `tally cutover --status`. */
export type StepDetail = Record<string, unknown>;

/** The side effects outside the route table, supplied by the caller (the CLI wires the real ones; tests, their own). */
export interface CutoverWork {
  /** Move what changed in the legacy since the last migration (`tally migrate --since-last`). */
  migrate(country: string): Promise<StepDetail>;
  /** Prove the moved members (all of the country, or the cohort's): clean, or the reason it is not. */
  compare(country: string, cohortPercent: number): Promise<{ clean: boolean; detail: StepDetail; reason?: string }>;
  /** Where back-sync of the country starts (the outbox position at the flip). */
  backsyncFrom(country: string): Promise<StepDetail>;
  /** Stop the legacy's own billing of the country (or of the cohort's members). */
  legacyStop(country: string, cohortPercent: number): Promise<StepDetail>;
  /** Abort after the flip: events of the country not yet written back (wait for 0 before routing back). */
  backsyncWaiting(country: string): Promise<number>;
  /** Abort after the legacy stopped billing: let it bill the country again. */
  legacyResume(country: string, cohortPercent: number): Promise<StepDetail>;
}

export interface CutoverOptions {
  country: string;
  /** 100: the whole country; less: a canary cohort of it (by a hash of the member id). */
  cohortPercent: number;
  /** Recorded with the run, as the operator gave them. */
  options?: Record<string, unknown>;
  /** How long the drain and the flip wait for every proxy (ms). */
  waitMs?: number;
  /** A proxy whose heartbeat is older than this is gone, not waited for (ms). */
  aliveMs?: number;
  /** How long the drain waits for back-sync of the country to catch up (ms). */
  backsyncWaitMs?: number;
  /** Called between steps and inside them (tests crash here). */
  checkpoint?: (point: string) => void;
  now?: () => number;
}

export interface CutoverResult {
  runId: number;
  country: string;
  cohortPercent: number;
  status: 'finished' | 'stopped' | 'aborted';
  /** Steps taken by this invocation (a resumed run skips the ones done before). */
  steps: { step: CutoverStep; startedAt: string; finishedAt: string; seconds: number; detail: StepDetail }[];
  resumed: boolean;
  freezeSeconds: number | null;
  reason?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const owner = (what: string) => `${hostname()}:${process.pid} (tally cutover ${what})`;

/** Wait until back-sync has written every change Tally made to the country's members into the legacy. */
async function untilBacksyncDrained(work: CutoverWork, country: string, waitMs: number): Promise<StepDetail> {
  const started = Date.now();
  let waiting = await work.backsyncWaiting(country);
  while (waiting > 0) {
    if (Date.now() - started > waitMs) throw new Error(`back-sync of ${country} still has ${waiting} event(s) to write to the legacy after ${waitMs} ms; ${country} stays frozen: run the cut-over again once back-sync has drained (tally backsync status), or --abort`);
    await sleep(100);
    waiting = await work.backsyncWaiting(country);
  }
  return { waitedMs: Date.now() - started };
}

/** Wait until every live proxy read the route table after `since` (and, with `drain`, has no write of the country in flight). */
async function seenEverywhere(db: Kysely<Schema>, country: string, since: number, opts: { drain: boolean; waitMs: number; aliveMs: number }): Promise<StepDetail> {
  const started = Date.now();
  for (;;) {
    const proxies = await liveProxies(db, opts.aliveMs);
    const behind = proxies.filter((p) => p.routesReadAt < since || (opts.drain && (p.inFlight[country] ?? 0) > 0));
    if (!behind.length) return { proxies: proxies.length, waitedMs: Date.now() - started };
    if (Date.now() - started > opts.waitMs) {
      throw new Error(`${behind.length} of ${proxies.length} proxies have not ${opts.drain ? 'drained the writes of' : 'seen the route of'} ${country} within ${opts.waitMs} ms (${behind.map((p) => p.proxyId).join(', ')}); run the cut-over again to continue`);
    }
    await sleep(25);
  }
}

async function stepsOf(db: Kysely<Schema>, runId: number): Promise<Map<string, { started_at: string; finished_at: string | null; detail: string | null }>> {
  const rows = await db.selectFrom('cutover_steps').selectAll().where('run_id', '=', runId).execute();
  return new Map(rows.map((r) => [r.step, r]));
}

/**
 * Run (or continue) the cut-over of one country. Holds the country's cut-over lease: a second
 * `tally cutover XX` anywhere waits for none, it is refused (exit 75).
 */
export async function runCutover(db: Kysely<Schema>, work: CutoverWork, opts: CutoverOptions): Promise<CutoverResult> {
  const { country } = opts;
  return withLocks(db, [`cutover:${country}`], owner(country), async () => {
    const now = opts.now ?? Date.now;
    const routes = await readRoutes(db);
    const current = routes.get(country) ?? unrouted;
    let run = await db.selectFrom('cutover_runs').selectAll().where('country', '=', country).where('status', '=', 'running').orderBy('id', 'desc').executeTakeFirst();
    const resumed = run !== undefined;
    if (run && run.cohort_percent !== opts.cohortPercent) {
      throw new InvalidInput('--cohort', `a cut-over of ${country} to ${run.cohort_percent}% is in progress (run ${run.id}): run it again without a different --cohort, or --abort it`, String(opts.cohortPercent));
    }
    if (!run) {
      if (current.state === 'tally') throw new InvalidInput('country', `${country} is already served by Tally`, country);
      if (current.state === 'frozen') throw new InvalidInput('country', `${country} is frozen by hand (tally proxy route ${country} legacy to thaw it), not by a cut-over`, country);
      if (opts.cohortPercent < 100 && opts.cohortPercent <= current.canaryPercent) {
        throw new InvalidInput('--cohort', `${country} already sends ${current.canaryPercent}% of its members to Tally: a cohort cut-over only widens it`, String(opts.cohortPercent));
      }
      const id = await insertReturningId(db, 'cutover_runs', {
        country, cohort_percent: opts.cohortPercent, status: 'running', from_state: current.state, from_canary_percent: current.canaryPercent,
        options: JSON.stringify(opts.options ?? {}), started_at: new Date(now()).toISOString(), finished_at: null, freeze_seconds: null, outcome: null,
      });
      run = await db.selectFrom('cutover_runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    }
    const runId = Number(run.id);
    const from: CountryRoute = { state: run.from_state as RouteState, canaryPercent: Number(run.from_canary_percent) };
    const cohort = opts.cohortPercent;
    const waits = { waitMs: opts.waitMs ?? 30_000, aliveMs: opts.aliveMs ?? 5000 };
    const done = await stepsOf(db, runId);
    const result: CutoverResult = { runId, country, cohortPercent: cohort, status: 'finished', steps: [], resumed, freezeSeconds: null };
    const by = owner(country);

    const step = async (name: CutoverStep, act: (startedAt: number) => Promise<StepDetail>) => {
      const before = done.get(name);
      if (before?.finished_at) return;
      opts.checkpoint?.(`${name}:before`);
      // A step begun before a crash keeps its first start: the freeze window counts from the first freeze.
      const startedAt = before ? Date.parse(before.started_at) : now();
      if (!before) await db.insertInto('cutover_steps').values({ run_id: runId, step: name, started_at: new Date(startedAt).toISOString(), finished_at: null, detail: null }).execute();
      const detail = await act(startedAt);
      opts.checkpoint?.(`${name}:acted`);
      const finishedAt = now();
      await db.updateTable('cutover_steps').set({ finished_at: new Date(finishedAt).toISOString(), detail: JSON.stringify(detail) }).where('run_id', '=', runId).where('step', '=', name).execute();
      done.set(name, { started_at: new Date(startedAt).toISOString(), finished_at: new Date(finishedAt).toISOString(), detail: JSON.stringify(detail) });
      result.steps.push({ step: name, startedAt: new Date(startedAt).toISOString(), finishedAt: new Date(finishedAt).toISOString(), seconds: (finishedAt - startedAt) / 1000, detail });
    };

    await step('freeze', async () => {
      await setRoute(db, country, { state: 'frozen', canaryPercent: from.canaryPercent }, by, `cut-over run ${runId}: freeze`);
      return { route: 'frozen' };
    });
    // A proxy's read that began after the freeze committed has seen it (heartbeats are stamped before the read).
    const frozenAt = Date.parse(done.get('freeze')!.started_at);
    await step('drain', async () => {
      const proxies = await seenEverywhere(db, country, Date.parse(done.get('freeze')!.finished_at!), { drain: true, ...waits });
      // A canary cohort already on Tally has changes back-sync is still writing into the legacy: the data to move is the
      // legacy's only once they are in (else --since-last would read the cohort's members as they were).
      const backsync = await untilBacksyncDrained(work, country, opts.backsyncWaitMs ?? 120_000);
      return { ...proxies, backsync };
    });
    await step('migrate', () => work.migrate(country));
    let stopped: string | undefined;
    await step('compare', async () => {
      const proof = await work.compare(country, cohort);
      if (!proof.clean) stopped = proof.reason ?? 'the compare found differences';
      return { ...proof.detail, clean: proof.clean };
    });
    if (stopped) {
      // Nothing was flipped: the country goes back to where it was, its writes flowing again.
      await setRoute(db, country, from, by, `cut-over run ${runId} stopped: ${stopped}`.slice(0, 500));
      await db.updateTable('cutover_runs').set({ status: 'stopped', finished_at: new Date(now()).toISOString(), outcome: JSON.stringify({ reason: stopped }) }).where('id', '=', runId).execute();
      return { ...result, status: 'stopped', reason: stopped };
    }
    await step('route', async () => {
      const to: CountryRoute = cohort >= 100 ? { state: 'tally', canaryPercent: 0 } : { state: 'legacy', canaryPercent: cohort };
      await setRoute(db, country, to, by, `cut-over run ${runId}: ${cohort >= 100 ? 'to Tally' : `cohort of ${cohort}% to Tally`}`);
      return { route: to };
    });
    const flippedAt = Date.parse(done.get('route')!.finished_at!);
    await step('unfreeze', () => seenEverywhere(db, country, flippedAt, { drain: false, ...waits }));
    const freezeSeconds = (Date.parse(done.get('unfreeze')!.finished_at!) - frozenAt) / 1000;
    await step('backsync', () => work.backsyncFrom(country));
    await step('legacy-stop', () => work.legacyStop(country, cohort));
    await db.updateTable('cutover_runs').set({ status: 'finished', finished_at: new Date(now()).toISOString(), freeze_seconds: freezeSeconds }).where('id', '=', runId).execute();
    return { ...result, freezeSeconds };
  });
}

/**
 * `tally cutover XX --abort`. Before the flip: the country goes back to its route, its writes
 * flowing again. After it: the country is frozen again, back-sync is let drain (every change
 * Tally made is in the legacy), the legacy bills it again, and it is routed back: nothing lost,
 * and from then on Tally bills none of it (see billing-side.ts).
 */
export async function abortCutover(db: Kysely<Schema>, work: CutoverWork, opts: Pick<CutoverOptions, 'country' | 'waitMs' | 'aliveMs' | 'now'> & { backsyncWaitMs?: number }): Promise<CutoverResult> {
  const { country } = opts;
  return withLocks(db, [`cutover:${country}`], owner(`--abort ${country}`), async () => {
    const now = opts.now ?? Date.now;
    const run = await db.selectFrom('cutover_runs').selectAll().where('country', '=', country).where('status', 'in', ['running', 'finished']).orderBy('id', 'desc').executeTakeFirst();
    if (!run) throw new InvalidInput('country', `${country} has no cut-over to abort`, country);
    const runId = Number(run.id);
    const from: CountryRoute = { state: run.from_state as RouteState, canaryPercent: Number(run.from_canary_percent) };
    const steps = await stepsOf(db, runId);
    const by = owner(`--abort ${country}`);
    const waits = { waitMs: opts.waitMs ?? 30_000, aliveMs: opts.aliveMs ?? 5000 };
    const detail: StepDetail = {};
    if (steps.has('route')) {
      // Tally may have changed members since the flip: freeze, let every change reach the legacy, then hand the country back.
      const frozeAt = now();
      await setRoute(db, country, { state: 'frozen', canaryPercent: from.canaryPercent }, by, `cut-over run ${runId} aborted: freeze`);
      detail.drain = await seenEverywhere(db, country, frozeAt, { drain: true, ...waits });
      detail.backsync = await untilBacksyncDrained(work, country, opts.backsyncWaitMs ?? 120_000);
      if (steps.has('legacy-stop')) detail.legacy = await work.legacyResume(country, run.cohort_percent);
    }
    await setRoute(db, country, from, by, `cut-over run ${runId} aborted`);
    await db.updateTable('cutover_runs').set({ status: 'aborted', finished_at: new Date(now()).toISOString(), outcome: JSON.stringify({ aborted: true, afterFlip: steps.has('route'), ...detail }) }).where('id', '=', runId).execute();
    return { runId, country, cohortPercent: run.cohort_percent, status: 'aborted', steps: [], resumed: false, freezeSeconds: null };
  });
}

/** The runs of a country, newest first, each with its steps (for `tally cutover XX --status` and the console). */
export async function cutoverHistory(db: Kysely<Schema>, country: string, limit = 10) {
  const runs = await db.selectFrom('cutover_runs').selectAll().where('country', '=', country).orderBy('id', 'desc').limit(limit).execute();
  const out = [];
  for (const r of runs) {
    const steps = [...(await stepsOf(db, Number(r.id)))].map(([step, s]) => ({ step, startedAt: s.started_at, finishedAt: s.finished_at, detail: s.detail ? JSON.parse(s.detail) as StepDetail : null }))
      .sort((a, b) => cutoverSteps.indexOf(a.step as CutoverStep) - cutoverSteps.indexOf(b.step as CutoverStep));
    out.push({ runId: Number(r.id), cohortPercent: r.cohort_percent, status: r.status, from: { state: r.from_state, canaryPercent: r.from_canary_percent }, startedAt: r.started_at, finishedAt: r.finished_at, freezeSeconds: r.freeze_seconds, outcome: r.outcome ? JSON.parse(r.outcome) as unknown : null, steps });
  }
  return out;
}

