import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeServices, type Services } from '../../src/jobs/services.ts';
import { abortCutover, cutoverHistory, cutoverSteps, runCutover, type CutoverWork } from '../../src/migration/cutover/cutover.ts';
import { readRoutes, RouteCache, setRoute } from '../../src/proxy/route-table.ts';
import { openTestServices } from '../support/engine.ts';

/** The work outside the route table, recorded: what a real cut-over would migrate, compare, stop and resume. */
function fakeWork(opts: { clean?: boolean; waiting?: number[] } = {}) {
  const calls: string[] = [];
  const waiting = [...(opts.waiting ?? [0])];
  const work: CutoverWork = {
    async migrate(country) { calls.push(`migrate ${country}`); return { replaced: 3 }; },
    async compare(country, cohort) {
      calls.push(`compare ${country} ${cohort}`);
      return opts.clean === false ? { clean: false, detail: { differences: 2 }, reason: '2 members differ (report var/compare/x)' } : { clean: true, detail: { checked: 10 } };
    },
    async backsyncFrom(country) { calls.push(`backsync ${country}`); return { fromOutboxId: 42 }; },
    async legacyStop(country, cohort) { calls.push(`legacy-stop ${country} ${cohort}`); return { stopped: true }; },
    async backsyncWaiting(country) { calls.push(`waiting ${country}`); return waiting.length > 1 ? waiting.shift()! : waiting[0]!; },
    async legacyResume(country, cohort) { calls.push(`legacy-resume ${country} ${cohort}`); return { resumed: true }; },
  };
  return { work, calls, waiting };
}

/** A proxy process's heartbeat on the same store, as `tally proxy` keeps it. */
async function proxyOn(svc: Services, inFlight: () => Record<string, number> = () => ({})) {
  const routes = new RouteCache(svc.store.db, 20, () => {}, { proxyId: 'test-proxy', inFlight });
  await routes.start();
  return routes;
}

const waits = { waitMs: 3000, aliveMs: 2000 };

test('a cut-over takes its steps in order, each recorded; the freeze window is measured to when every proxy saw the flip', async () => {
  const svc = await openTestServices();
  const proxy = await proxyOn(svc);
  try {
    const { work, calls } = fakeWork();
    const r = await runCutover(svc.store.db, work, { country: 'DE', cohortPercent: 100, ...waits });
    assert.equal(r.status, 'finished');
    assert.deepEqual(r.steps.map((s) => s.step), [...cutoverSteps]);
    assert.deepEqual(calls, ['waiting DE', 'migrate DE', 'compare DE 100', 'backsync DE', 'legacy-stop DE 100']);
    assert.deepEqual((await readRoutes(svc.store.db)).get('DE'), { state: 'tally', canaryPercent: 0 });
    assert.equal(r.steps.find((s) => s.step === 'drain')!.detail.proxies, 1);
    assert.ok(r.freezeSeconds !== null && r.freezeSeconds > 0 && r.freezeSeconds < 3, String(r.freezeSeconds));
    const [history] = await cutoverHistory(svc.store.db, 'DE');
    assert.equal(history!.status, 'finished');
    assert.deepEqual(history!.steps.map((s) => s.step), [...cutoverSteps]);
    assert.ok(history!.steps.every((s) => s.startedAt <= s.finishedAt!));
    const changes = await svc.store.db.selectFrom('proxy_route_changes').select(['from_state', 'to_state']).where('country', '=', 'DE').orderBy('id').execute();
    assert.deepEqual(changes.map((c) => `${c.from_state ?? '-'}→${c.to_state}`), ['-→frozen', 'frozen→tally']);
    await assert.rejects(runCutover(svc.store.db, work, { country: 'DE', cohortPercent: 100, ...waits }), /DE is already served by Tally/);
  } finally {
    await proxy.stop();
    await closeServices(svc);
  }
});

test('the drain waits for the writes a proxy let in before the freeze', async () => {
  const svc = await openTestServices();
  let inFlight = 1;
  const proxy = await proxyOn(svc, () => ({ US: inFlight }));
  try {
    setTimeout(() => { inFlight = 0; }, 300);
    const r = await runCutover(svc.store.db, fakeWork().work, { country: 'US', cohortPercent: 100, ...waits });
    assert.ok(Number(r.steps.find((s) => s.step === 'drain')!.detail.waitedMs) >= 200);
  } finally {
    await proxy.stop();
    await closeServices(svc);
  }
});

test('killed at any step, the same command continues where it stopped and ends like an uninterrupted run', async () => {
  const points = cutoverSteps.flatMap((s) => [`${s}:before`, `${s}:acted`]);
  for (const point of points) {
    const svc = await openTestServices();
    try {
      const { work, calls } = fakeWork();
      const crash = (p: string) => { if (p === point) throw new Error(`killed at ${p}`); };
      await assert.rejects(runCutover(svc.store.db, work, { country: 'FR', cohortPercent: 100, ...waits, aliveMs: 0, checkpoint: crash }), /killed at/);
      const again = await runCutover(svc.store.db, work, { country: 'FR', cohortPercent: 100, ...waits, aliveMs: 0 });
      assert.equal(again.status, 'finished', point);
      assert.equal(again.resumed, true, point);
      assert.deepEqual((await readRoutes(svc.store.db)).get('FR'), { state: 'tally', canaryPercent: 0 }, point);
      const [h] = await cutoverHistory(svc.store.db, 'FR');
      assert.deepEqual(h!.steps.map((s) => s.step), [...cutoverSteps], point);
      assert.ok(h!.steps.every((s) => s.finishedAt), point);
      // Each side effect ran to its end once; a step killed after acting acts again (each is idempotent).
      for (const c of ['backsync FR', 'legacy-stop FR 100']) assert.ok(calls.filter((x) => x === c).length >= 1 && calls.filter((x) => x === c).length <= 2, `${point}: ${calls.join(', ')}`);
      assert.equal((await svc.store.db.selectFrom('cutover_runs').selectAll().execute()).length, 1, point);
    } finally {
      await closeServices(svc);
    }
  }
});

test('a compare that is not clean stops the run and gives the country its route back', async () => {
  const svc = await openTestServices();
  try {
    await setRoute(svc.store.db, 'JP', { state: 'legacy', canaryPercent: 10 }, 'test');
    const { work, calls } = fakeWork({ clean: false });
    const r = await runCutover(svc.store.db, work, { country: 'JP', cohortPercent: 100, ...waits });
    assert.deepEqual([r.status, r.reason], ['stopped', '2 members differ (report var/compare/x)']);
    assert.deepEqual(calls, ['waiting JP', 'migrate JP', 'compare JP 100']);
    assert.deepEqual((await readRoutes(svc.store.db)).get('JP'), { state: 'legacy', canaryPercent: 10 });
    // Fixed, run again: a new run from the route it has.
    const again = await runCutover(svc.store.db, fakeWork().work, { country: 'JP', cohortPercent: 100, ...waits });
    assert.equal(again.status, 'finished');
    assert.deepEqual((await cutoverHistory(svc.store.db, 'JP')).map((h) => h.status), ['finished', 'stopped']);
  } finally {
    await closeServices(svc);
  }
});

test('--abort before the flip thaws the country; after it, back-sync drains first, the legacy bills again, and the route goes back', async () => {
  const svc = await openTestServices();
  try {
    const { work } = fakeWork();
    await assert.rejects(runCutover(svc.store.db, work, { country: 'GB', cohortPercent: 100, ...waits, checkpoint: (p) => { if (p === 'compare:before') throw new Error('killed'); } }));
    assert.equal((await readRoutes(svc.store.db)).get('GB')!.state, 'frozen');
    const before = await abortCutover(svc.store.db, work, { country: 'GB', ...waits });
    assert.equal(before.status, 'aborted');
    assert.deepEqual((await readRoutes(svc.store.db)).get('GB'), { state: 'legacy', canaryPercent: 0 });

    const after = fakeWork();
    await runCutover(svc.store.db, after.work, { country: 'GB', cohortPercent: 100, ...waits });
    // Tally changed members since the flip: three events still to write back, then one, then none.
    after.waiting.splice(0, after.waiting.length, 3, 1, 0);
    const r = await abortCutover(svc.store.db, after.work, { country: 'GB', ...waits });
    assert.equal(r.status, 'aborted');
    assert.deepEqual(after.calls.slice(-4), ['waiting GB', 'waiting GB', 'waiting GB', 'legacy-resume GB 100']);
    assert.deepEqual((await readRoutes(svc.store.db)).get('GB'), { state: 'legacy', canaryPercent: 0 });
    const changes = await svc.store.db.selectFrom('proxy_route_changes').select('to_state').where('country', '=', 'GB').orderBy('id').execute();
    assert.deepEqual(changes.map((c) => c.to_state), ['frozen', 'legacy', 'frozen', 'tally', 'frozen', 'legacy']);
    await assert.rejects(abortCutover(svc.store.db, after.work, { country: 'GB', ...waits }), /GB has no cut-over to abort/);
  } finally {
    await closeServices(svc);
  }
});

test('a canary cohort: the cut-over sends that share to Tally and leaves the rest on the legacy, unfrozen; only a wider cohort may follow', async () => {
  const svc = await openTestServices();
  try {
    const { work, calls } = fakeWork();
    await runCutover(svc.store.db, work, { country: 'CA', cohortPercent: 10, ...waits });
    assert.deepEqual((await readRoutes(svc.store.db)).get('CA'), { state: 'legacy', canaryPercent: 10 });
    assert.ok(calls.includes('compare CA 10') && calls.includes('legacy-stop CA 10'));
    await assert.rejects(runCutover(svc.store.db, work, { country: 'CA', cohortPercent: 5, ...waits }), /already sends 10% of its members to Tally/);
    await runCutover(svc.store.db, work, { country: 'CA', cohortPercent: 100, ...waits });
    assert.deepEqual((await readRoutes(svc.store.db)).get('CA'), { state: 'tally', canaryPercent: 0 });
  } finally {
    await closeServices(svc);
  }
});

test('the drain also waits for back-sync to write a canary cohort\'s changes into the legacy before the data moves', async () => {
  const svc = await openTestServices();
  try {
    const { work, calls } = fakeWork({ waiting: [2, 1, 0] });
    const r = await runCutover(svc.store.db, work, { country: 'NL', cohortPercent: 100, ...waits });
    const drain = r.steps.find((s) => s.step === 'drain')!.detail as { backsync: { waitedMs: number } };
    assert.ok(drain.backsync.waitedMs >= 150, JSON.stringify(drain));
    assert.deepEqual(calls.slice(0, 4), ['waiting NL', 'waiting NL', 'waiting NL', 'migrate NL']);
  } finally {
    await closeServices(svc);
  }
});
