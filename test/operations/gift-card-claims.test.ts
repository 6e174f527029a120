import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidInput } from '../../src/domain/errors.ts';
import { closeServices } from '../../src/jobs/services.ts';
import * as ops from '../../src/operations/member-operations.ts';
import { openTestServices } from '../support/engine.ts';
import { journalImbalance } from '../support/money-checks.ts';

const day = '2026-03-10';

for (const split of [false, true]) {
  test(`${split ? 'split stores' : 'one store'}: one code redeemed at once by several members is claimed by one commit, credited once`, async () => {
    const svc = await openTestServices({}, { split });
    try {
      const ids = ['g1', 'g2', 'g3', 'g4'];
      for (const id of ids) await ops.signupMember(svc, { id, email: null, country: 'FR', region: null, timezone: 'Europe/Paris', paymentToken: 'tok_ok', plan: 'basic' }, day);
      const results = await Promise.allSettled(Array.from({ length: 24 }, (_, i) => ops.redeemGiftCard(svc, ids[i % ids.length]!, 'ONE-CODE-42', 2500, 'EUR', day)));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof InvalidInput && r.reason.field === 'code', String(r.reason));
      const balances = await svc.memberStore.db.selectFrom('members').select('data').execute();
      assert.equal(balances.reduce((n, b) => n + (JSON.parse(b.data) as { giftCardBalance: number }).giftCardBalance, 0), 2500);
      const claims = await svc.memberStore.db.selectFrom('member_claims').selectAll().execute();
      assert.equal(claims.length, 1);
      assert.equal(claims[0]!.member_id, (won[0] as PromiseFulfilledResult<{ id: string }>).value.id);
      assert.equal((await svc.store.db.selectFrom('gift_cards').select('code').execute()).length, 1);
      assert.deepEqual(await journalImbalance(svc), []);
    } finally {
      await closeServices(svc);
    }
  });
}
