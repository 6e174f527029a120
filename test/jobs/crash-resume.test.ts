import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { demoActivity, seedDemo } from '../../src/cli/demo.ts';
import { addDays } from '../../src/domain/calendar.ts';
import { runDay } from '../../src/jobs/run-day.ts';
import type { Services } from '../../src/jobs/services.ts';
import { billingState } from '../support/state.ts';
import { openTestServices } from '../support/engine.ts';

const population = 600;
const start = '2026-01-01';
const days = 5;

async function fresh(): Promise<Services> {
  const svc = await openTestServices();
  await seedDemo(svc, population);
  return svc;
}

class Crash extends Error {}

/** Run the days; the fault hook throws at the n-th checkpoint, as if the process died there, and the operator re-runs that day's jobs. */
async function runWithCrashAt(svc: Services, crashAt: number | null): Promise<{ crashes: number; checkpoints: number }> {
  let seen = 0;
  let crashes = 0;
  const checkpoint = () => {
    seen++;
    if (seen === crashAt) throw new Crash(`crash at checkpoint ${crashAt}`);
  };
  const opts = { renew: { chunkSize: 7, checkpoint }, collect: { chunkSize: 5, checkpoint } };
  for (let i = 0; i < days; i++) {
    const date = addDays(start, i);
    await demoActivity(svc, date, population);
    try {
      await runDay(svc, date, opts);
    } catch (err) {
      if (!(err instanceof Crash)) throw err;
      crashes++;
      await runDay(svc, date, opts);
    }
  }
  return { crashes, checkpoints: seen };
}

test('killing the daily jobs at any checkpoint and re-running gives the same end state; nobody is charged twice', async () => {
  const reference = await fresh();
  const { checkpoints } = await runWithCrashAt(reference, null);
  const expected = await billingState(reference);
  await reference.store.close();
  assert.ok(expected.invoices.length > 80, 'the population must actually be billed');
  assert.ok(expected.charges.some((c) => c.token === 'tok_timeout'), 'lost answers must be part of the test');

  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: checkpoints }), async (crashAt) => {
      const svc = await fresh();
      try {
        assert.equal((await runWithCrashAt(svc, crashAt)).crashes, 1, 'the crash must have happened');
        const actual = await billingState(svc);
        // One processor charge per idempotency key and one payment per invoice at most: nobody charged twice.
        const paidInvoices = actual.payments.map((p) => p.invoice_id);
        assert.equal(new Set(paidInvoices).size, paidInvoices.length);
        assert.deepEqual(actual, expected);
      } finally {
        await svc.store.close();
      }
    }),
    { numRuns: 12, seed: 20261122 },
  );
});
