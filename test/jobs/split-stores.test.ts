import assert from 'node:assert/strict';
import { test } from 'node:test';
import { demoActions, seedDemo, skipInvalid } from '../../src/cli/demo.ts';
import { addDays } from '../../src/domain/calendar.ts';
import { runDay } from '../../src/jobs/run-day.ts';
import { closeServices, type Services } from '../../src/jobs/services.ts';
import { storesAreSplit } from '../../src/store/ledger-postings.ts';
import { engineUnderTest, openTestServices } from '../support/engine.ts';
import { assertBillingHistoryRendersLedger, billingState } from '../support/state.ts';

// Small enough to crash at every single step of every day: members and ledger in two databases.
const population = 60;
const start = '2026-01-01';
const days = 3;

class Crash extends Error {}

async function fresh(split: boolean): Promise<Services> {
  const svc = await openTestServices({}, { split });
  await seedDemo(svc, population);
  return svc;
}

/**
 * Run the days with member activity; the fault hook throws at the n-th step (a
 * member commit, a posting written to the ledger, a charge, a committed chunk),
 * as if the process died there, and the operator re-runs that day.
 */
async function runWithCrashAt(svc: Services, crashAt: number | null): Promise<{ crashes: number; steps: Map<string, number>; crashedAt?: string }> {
  let seen = 0;
  let crashedAt: string | undefined;
  let crashes = 0;
  const steps = new Map<string, number>();
  const checkpoint = (point: string) => {
    seen++;
    steps.set(point, (steps.get(point) ?? 0) + 1);
    if (seen === crashAt) {
      crashedAt = `${point} on ${date}`;
      throw new Crash(`crash at step ${crashAt} (${point})`);
    }
  };
  svc.checkpoint = checkpoint;
  const opts = { renew: { chunkSize: 9, checkpoint }, collect: { chunkSize: 4, checkpoint } };
  let date = start;
  for (let i = 0; i < days; i++) {
    date = addDays(start, i);
    // Re-run only what the crash interrupted: one member action (as a client retries its request), or the day's jobs.
    const retried = async (work: () => Promise<unknown>) => {
      for (;;) {
        try {
          return await work();
        } catch (err) {
          if (!(err instanceof Crash)) throw err;
          crashes++;
        }
      }
    };
    for await (const act of demoActions(svc, date, population)) await retried(() => act().catch(skipInvalid));
    await retried(() => runDay(svc, date, opts));
  }
  return { crashes, steps, crashedAt };
}

test('split stores: a crash between any two steps, then a re-run, loses no invoice, duplicates none and charges nobody twice', async () => {
  const single = await fresh(false);
  await runWithCrashAt(single, null);
  const onOneStore = await billingState(single);
  await closeServices(single);

  const reference = await fresh(true);
  assert.ok(storesAreSplit(reference));
  const { steps } = await runWithCrashAt(reference, null);
  const expected = await billingState(reference);
  await assertBillingHistoryRendersLedger(reference.store);
  await closeServices(reference);
  // Splitting the stores changes where rows live, never what is billed.
  assert.deepEqual(expected, onOneStore);
  assert.ok(expected.invoices.length > 20, 'the population must actually be billed');
  for (const point of ['posting.member-committed', 'posting.ledger-written', 'collect.charged', 'renew.chunk-committed']) {
    assert.ok(steps.get(point), `the run must pass ${point}`);
  }

  const total = [...steps.values()].reduce((a, b) => a + b, 0);
  // Every step on the embedded engine; on a server engine, where each run costs seconds, an evenly spread sample of 24.
  const stride = engineUnderTest === 'sqlite' ? 1 : Math.ceil(total / 24);
  for (let crashAt = 1; crashAt <= total; crashAt += stride) {
    const svc = await fresh(true);
    try {
      const run = await runWithCrashAt(svc, crashAt);
      assert.equal(run.crashes, 1, `the crash at step ${crashAt} must have happened`);
      const actual = await billingState(svc);
      const paid = actual.payments.map((p) => p.invoice_id);
      assert.equal(new Set(paid).size, paid.length, 'one payment per invoice at most');
      assert.deepEqual(actual, expected, `after a crash at step ${crashAt}: ${run.crashedAt}`);
    } finally {
      await closeServices(svc);
    }
  }
});
