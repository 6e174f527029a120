import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resumeBillingMembers, runLegacyDay, stopBillingMembers } from '../../src/legacy/index.ts';
import { seededLegacy, withLegacy } from '../support/legacy-seed.ts';

test('the legacy night leaves members whose billing moved (a cut-over cohort) alone, and bills them again once resumed', async () => {
  const url = await seededLegacy(60, ['US'], 17);
  await withLegacy(url, async (legacy) => {
    const due = await legacy.db.selectFrom('subscription as s').innerJoin('account as a', 'a.acct_id', 's.acct_id').innerJoin('customer as c', 'c.cust_id', 'a.cust_id')
      .select(['c.acct_no', 's.sub_id', 's.next_bill_dt']).where('s.status_cd', 'in', [1, 4]).where('s.next_bill_dt', 'is not', null).orderBy('s.next_bill_dt').limit(3).execute();
    assert.equal(due.length, 3);
    const day = String(due[2]!.next_bill_dt).slice(0, 10);
    const [moved, ...stay] = due;
    assert.equal(await stopBillingMembers(legacy.db, [moved!.acct_no], 'test', 'cohort cut over'), 1);
    assert.equal(await stopBillingMembers(legacy.db, [moved!.acct_no], 'test'), 0, 'stopping again changes nothing');
    await runLegacyDay(legacy.db, day);
    const next = async (sub: number) => String((await legacy.db.selectFrom('subscription').select('next_bill_dt').where('sub_id', '=', sub).executeTakeFirstOrThrow()).next_bill_dt);
    assert.equal(await next(moved!.sub_id), String(moved!.next_bill_dt), 'not billed: Tally bills it');
    for (const s of stay) assert.notEqual(await next(s.sub_id), String(s.next_bill_dt), 'billed as always');
    await resumeBillingMembers(legacy.db, [moved!.acct_no]);
    await runLegacyDay(legacy.db, day);
    assert.notEqual(await next(moved!.sub_id), String(moved!.next_bill_dt), 'billed again once resumed');
  });
});
