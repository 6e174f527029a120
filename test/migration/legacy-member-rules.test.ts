import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LegacyMember } from '../../src/migration/sources/legacy-source.ts';
import { legacyCountry, minorUnits, normalizedEmail, transformLegacyMember } from '../../src/migration/transform/legacy-member.ts';
import { dec4 } from '../../src/legacy/index.ts';
import { ctx, germanMember, ts } from '../support/legacy-member.ts';

test('codes, emails and amounts as Tally keeps them', () => {
  assert.equal(legacyCountry(' de '), 'DE');
  assert.equal(legacyCountry('DEU'), 'DE');
  assert.equal(legacyCountry('Germany'), null);
  assert.equal(normalizedEmail('  Lena.Weber42@Example.COM '), 'lena.weber42@example.com');
  assert.equal(normalizedEmail('   '), null);
  assert.equal(minorUnits(dec4('13.99'), 'EUR'), 1399);
  assert.equal(minorUnits(dec4('1980'), 'JPY'), 1980);
  assert.equal(minorUnits(dec4('2.750'), 'KWD'), 2750);
  assert.equal(minorUnits(dec4('9.9950'), 'EUR'), null, 'a sub-cent amount does not fit: never rounded');
  assert.equal(minorUnits(dec4('12.5'), 'JPY'), null);
});

test('a legacy member becomes Tally\'s aggregate: next billing on the paid-through date, balances exact, the promotion still running', () => {
  const r = transformLegacyMember(germanMember(), ctx);
  assert.equal(r.quarantine, undefined, JSON.stringify(r.quarantine));
  assert.deepEqual(r.member, {
    id: 'A000000042', version: 0, email: 'lena.weber42@example.com', country: 'DE', region: null, timezone: 'Europe/Berlin', currency: 'EUR',
    paymentToken: 'tok_ok',
    // 30.00 redeemed − 12.50 applied; 9.99 credit − 4.99 applied.
    giftCardBalance: 1750, creditBalance: 500, invoiceCount: 0,
    subscriptions: [{
      id: 'A000000042-s1', product: 'streaming', planId: 'standard', status: 'active', anchor: '2026-12-10', cycle: 0, nextBillingDate: '2026-12-10',
      periodStart: '2026-11-10', periodEnd: '2026-12-10', since: '2024-05-10', cancelAtPeriodEnd: false, pendingPlanId: null,
      discount: { kind: 'percent', percentOff: 50, cyclesLeft: 2 },
    }],
  });
});

test('what cannot be carried over exactly quarantines the whole member, with the reason and the source keys', () => {
  const reasons = (over: Partial<LegacyMember>) => (transformLegacyMember(germanMember(over), ctx).quarantine ?? []).map((q) => [q.reason, q.source]);
  assert.deepEqual(reasons({ giftCardTxns: [{ gc_txn_id: 1, gc_id: 3, acct_id: 42, txn_type: 'RDM', amount: '30.0050', inv_id: null, txn_dt: ts }] }),
    [['amount-does-not-fit', [{ table: 'gift_card_txn', key: 42 }]]]);
  assert.deepEqual(reasons({ subscriptions: [{ ...germanMember().subscriptions[0]!, plan_cd: 'STRM_4K_2031' }] }), [['unmapped-plan', [{ table: 'subscription', key: 7 }]]]);
  assert.deepEqual(reasons({ customer: { ...germanMember().customer, country_cd: 'XX' }, addresses: [] }), [['unknown-country', [{ table: 'customer', key: 42 }]]]);
  assert.deepEqual(reasons({ accounts: [{ ...germanMember().accounts[0]!, currency_cd: 'USD' }] }), [['currency-mismatch', [{ table: 'account', key: 42 }]]]);
  assert.deepEqual(reasons({ accounts: [] }), [['no-account', [{ table: 'customer', key: 42 }]]]);
  assert.deepEqual(reasons({ paymentMethods: [] }), [['no-payment-method', [{ table: 'account', key: 42 }]]]);
  assert.deepEqual(reasons({ accounts: [{ ...germanMember().accounts[0]!, tz_nm: 'Mars/Olympus' }] }), [['bad-timezone', [{ table: 'account', key: 42 }]]]);
});

test('a legacy price that differs from Tally\'s catalog is kept: an obsolete 2010 plan, a price override', () => {
  const sub = germanMember().subscriptions[0]!;
  const keep = (over: Partial<typeof sub>) => transformLegacyMember(germanMember({ subscriptions: [{ ...sub, ...over }] }), ctx).member!.subscriptions[0]!;
  // STRM_STD_M costs 13.99 EUR in the legacy from 2020 and 13.99 in Tally: nothing to keep.
  assert.equal(keep({}).keptPrice, undefined);
  // STRM_1S_2010 (7.99 EUR, never raised) becomes basic (9.99 in Tally): the member keeps paying 7.99.
  assert.deepEqual([keep({ plan_cd: 'STRM_1S_2010' }).planId, keep({ plan_cd: 'STRM_1S_2010' }).keptPrice], ['basic', 799]);
  assert.equal(keep({ price_override_amt: '11.9900' }).keptPrice, 1199);
  // An override with sub-cent digits cannot be kept exactly: quarantined.
  assert.deepEqual(transformLegacyMember(germanMember({ subscriptions: [{ ...sub, price_override_amt: '11.9950' }] }), ctx).quarantine?.map((q) => q.reason), ['amount-does-not-fit']);
});

test('legacy statuses: trial, past due, on hold, cancelled', () => {
  const sub = germanMember().subscriptions[0]!;
  const status = (status_cd: number) => transformLegacyMember(germanMember({ subscriptions: [{ ...sub, status_cd }] }), ctx).member!.subscriptions[0]!.status;
  assert.deepEqual([1, 2, 3, 4, 5].map(status), ['active', 'on_hold', 'cancelled', 'trial', 'past_due']);
});

test('a period the legacy invoiced but has not collected is billed: the next billing date is its end, so Tally never bills it twice', () => {
  const sub = germanMember().subscriptions[0]!;
  // Past due: the legacy's retry keeps next_bill_dt on the period it failed to collect (10 Nov – 10 Dec), invoice 9 still open.
  const m = germanMember({
    subscriptions: [{ ...sub, status_cd: 5, paid_thru_dt: '2026-11-10 00:00:00', next_bill_dt: '2026-11-10 00:00:00' }],
    invoices: [{ ...germanMember().invoices[0]!, status_cd: 'F' }],
    details: [],
  });
  const s = transformLegacyMember(m, ctx).member!.subscriptions[0]!;
  assert.deepEqual([s.status, s.nextBillingDate, s.periodStart, s.periodEnd], ['past_due', '2026-12-10', '2026-11-10', '2026-12-10']);
});
