import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCollection } from '../../src/jobs/collect.ts';
import { runRenewal } from '../../src/jobs/renew.ts';
import { closeServices, type Services } from '../../src/jobs/services.ts';
import * as ops from '../../src/operations/member-operations.ts';
import type { PaymentGateway } from '../../src/payments/gateway.ts';
import { openTestServices } from '../support/engine.ts';
import { journalImbalance, moneyMovedOnce } from '../support/money-checks.ts';

const day = '2026-03-10';

/** A member with invoice 1 paid (DE basic, 999 EUR), on one store or on split stores. */
async function paidMember(split: boolean): Promise<Services> {
  const svc = await openTestServices({}, { split });
  await ops.signupMember(svc, { id: 'm1', email: null, country: 'DE', region: null, timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'basic' }, day);
  await runRenewal(svc, day);
  await runCollection(svc, day);
  return svc;
}

class Crash extends Error {}

const refunded = async (svc: Services) => (await svc.store.db.selectFrom('invoices').select('refunded').where('id', '=', 'm1#1').executeTakeFirstOrThrow()).refunded;
const processorRefunds = async (svc: Services) => (await svc.store.db.selectFrom('processor_charges').select('amount').where('kind', '=', 'refund').execute()).length;

for (const split of [false, true]) {
  const stores = split ? 'split stores' : 'one store';

  test(`${stores}: a crash after the refund intent and before the gateway call moves no money; collection settles the intent once`, async () => {
    const svc = await paidMember(split);
    try {
      svc.checkpoint = (point) => {
        if (point === 'refund.intent-committed') throw new Crash(point);
      };
      await assert.rejects(ops.refundMemberInvoice(svc, 'm1', 1, 400, 'crash probe', day), Crash);
      svc.checkpoint = undefined;
      assert.equal(await processorRefunds(svc), 0, 'no money moved before the intent was settled');
      assert.equal(await refunded(svc), 0);
      // The reservation holds: what is left is 599, not 999.
      await assert.rejects(ops.refundMemberInvoice(svc, 'm1', 1, 600, 'over the reservation', day), /599 refundable.*400 more is reserved/);
      const run = await runCollection(svc, day);
      assert.equal(run.counts.refundsSettled, 1);
      assert.equal(await refunded(svc), 400);
      assert.equal((await runCollection(svc, day)).counts.refundsSettled, 0, 'settled once');
      await moneyMovedOnce(svc);
      assert.deepEqual(await journalImbalance(svc), []);
    } finally {
      await closeServices(svc);
    }
  });

  test(`${stores}: a crash after the gateway refunded and before the outcome was booked is settled by a retry of the same request, refunding once`, async () => {
    const svc = await paidMember(split);
    try {
      svc.checkpoint = (point) => {
        if (point === 'refund.gateway-answered') throw new Crash(point);
      };
      await assert.rejects(ops.refundMemberInvoice(svc, 'm1', 1, 300, 'crash probe', day, undefined, 'req-1'), Crash);
      svc.checkpoint = undefined;
      assert.equal(await processorRefunds(svc), 1);
      assert.equal(await refunded(svc), 0, 'the outcome is not booked yet');
      // The same request again (its Idempotency-Key names the refund): found pending, looked up, booked.
      const member = await ops.refundMemberInvoice(svc, 'm1', 1, 300, 'crash probe', day, undefined, 'req-1');
      assert.equal(member.id, 'm1');
      assert.equal(await processorRefunds(svc), 1, 'the gateway was not asked to refund again');
      assert.equal(await refunded(svc), 300);
      await assert.rejects(ops.refundMemberInvoice(svc, 'm1', 1, 300, 'crash probe', day, undefined, 'req-1'), /already made/);
      await moneyMovedOnce(svc);
      assert.deepEqual(await journalImbalance(svc), []);
    } finally {
      await closeServices(svc);
    }
  });
}

test('a gateway that does not answer leaves the intent pending (503 to the caller); the next collection run settles it', async () => {
  const svc = await paidMember(false);
  try {
    const real = svc.gateway;
    let down = true;
    const flaky: PaymentGateway = {
      ...real,
      refund: (r) => (down ? Promise.reject(new Error('connection reset')) : real.refund(r)),
    };
    svc.gateway = flaky;
    await assert.rejects(ops.refundMemberInvoice(svc, 'm1', 1, 999, 'gateway down', day), (err: Error) => err.name === 'GatewayUnavailable' && /recorded/.test(err.message));
    assert.equal(await processorRefunds(svc), 0);
    const pending = await svc.store.db.selectFrom('refunds').select(['status', 'amount']).execute();
    assert.deepEqual(pending, [{ status: 'pending', amount: 999 }]);
    assert.equal((await runCollection(svc, day)).counts.refundsSettled, 0, 'still down: left for the next run');
    down = false;
    assert.equal((await runCollection(svc, day)).counts.refundsSettled, 1);
    assert.equal(await refunded(svc), 999);
    await moneyMovedOnce(svc);
  } finally {
    await closeServices(svc);
  }
});
