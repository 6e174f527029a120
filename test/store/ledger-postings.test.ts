import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCollection } from '../../src/jobs/collect.ts';
import { runRenewal } from '../../src/jobs/renew.ts';
import { closeServices } from '../../src/jobs/services.ts';
import * as ops from '../../src/operations/member-operations.ts';
import { applyPendingPostings } from '../../src/store/ledger-postings.ts';
import { openTestServices } from '../support/engine.ts';

const day = '2026-03-10';

test('split stores: a posting applied a second time, late (a slow second applier), does not write an invoice state back over a later one', async () => {
  const svc = await openTestServices({}, { split: true });
  try {
    await ops.signupMember(svc, { id: 'm1', email: null, country: 'DE', region: null, timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'basic' }, day);
    await runRenewal(svc, day);
    await runCollection(svc, day);
    // Stop the refund after its outcome committed in the member store, before the ledger saw it.
    let commits = 0;
    svc.checkpoint = (point) => {
      if (point === 'posting.member-committed' && ++commits === 2) throw new Error('crash');
    };
    await assert.rejects(ops.refundMemberInvoice(svc, 'm1', 1, 100, 'first', day));
    svc.checkpoint = undefined;
    const [left] = await svc.memberStore.db.selectFrom('ledger_postings').select(['created_at', 'body']).execute();
    assert.ok(left, 'the outcome waits as a posting');
    assert.equal(await applyPendingPostings(svc), 1);
    const refunded = async () => (await svc.store.db.selectFrom('invoices').select('refunded').where('id', '=', 'm1#1').executeTakeFirstOrThrow()).refunded;
    assert.equal(await refunded(), 100);
    await ops.refundMemberInvoice(svc, 'm1', 1, 200, 'second', day);
    assert.equal(await refunded(), 300);
    // The first posting again, as a second applier that read it before it was deleted would write it.
    await svc.memberStore.db.insertInto('ledger_postings').values(left).execute();
    assert.equal(await applyPendingPostings(svc), 1);
    assert.equal(await refunded(), 300, 'the later state stands');
    assert.deepEqual(await svc.memberStore.db.selectFrom('ledger_postings').select('id').execute(), []);
  } finally {
    await closeServices(svc);
  }
});
