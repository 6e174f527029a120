import assert from 'node:assert/strict';
import { test } from 'node:test';
import { killBillLocalDate, killBillMinorUnits, transformKillBillMember } from '../../src/migration/transform/killbill-member.ts';
import { ctx, killBillAccount } from '../support/killbill-member.ts';

/** A monthly member in New York: billed at 09:00 local, which is 13:00 or 14:00 UTC. */
function usd(plan = 'basic-monthly', price = '7.990000000') {
  const a = killBillAccount('kb-usd', 'USD', 'America/New_York', 'US');
  a.subscribe(plan, '2026-07-10 13:00:00', '2026-12-09 14:00:00');
  a.invoice('2026-11-09', [{ type: 'RECURRING', amount: price, plan, start: '2026-11-09', end: '2026-12-09' }]);
  return a;
}

test('amounts: numeric(15,9) text to exact minor units with the currency\'s exponent, never through a float', () => {
  assert.equal(killBillMinorUnits('9.990000000', 'USD'), 999);
  assert.equal(killBillMinorUnits('-4.120000000', 'USD'), -412);
  assert.equal(killBillMinorUnits('980.000000000', 'JPY'), 980);
  assert.equal(killBillMinorUnits('3.500000000', 'KWD'), 3500);
  assert.equal(killBillMinorUnits('0.1', 'KWD'), 100);
  assert.equal(killBillMinorUnits('0', 'EUR'), 0);
  // More precision than the currency has: no rounding, the caller quarantines.
  assert.equal(killBillMinorUnits('150.500000000', 'JPY'), null);
  assert.equal(killBillMinorUnits('0.001', 'USD'), null);
  assert.equal(killBillMinorUnits('1e3', 'USD'), null);
  assert.equal(killBillMinorUnits('', 'USD'), null);
});

test('datetimes are UTC: the member\'s date is the date in the account\'s zone', () => {
  // 18:30 in Los Angeles on 27 August is 01:30 UTC on the 28th.
  assert.equal(killBillLocalDate('2026-08-28 01:30:00', 'America/Los_Angeles'), '2026-08-27');
  assert.equal(killBillLocalDate('2026-11-15 01:00:00', 'Asia/Tokyo'), '2026-11-15');
  assert.equal(killBillLocalDate('2026-11-14 23:00:00', 'Asia/Tokyo'), '2026-11-15');
});

test('a plain monthly member in USD: id, contact, currency, zone and its subscription from the account\'s rows', () => {
  const a = usd();
  // A removed card (is_active false) is never the one Tally charges.
  a.m.paymentMethods.push({ ...a.m.paymentMethods[0]!, record_id: 99, id: 'pm-old', external_key: 'card-old', is_active: false });
  const { member, quarantine } = transformKillBillMember(a.m, ctx);
  assert.equal(quarantine, undefined);
  assert.deepEqual(member, {
    id: 'kb-usd', version: 0, email: 'kb-usd@example.com', country: 'US', region: null, timezone: 'America/New_York', currency: 'USD', paymentToken: 'card-kb-usd',
    giftCardBalance: 0, creditBalance: 0, invoiceCount: 0,
    subscriptions: [{
      id: 'kb-usd-s1', product: 'streaming', planId: 'basic', status: 'active', anchor: '2026-12-09', cycle: 0, nextBillingDate: '2026-12-09',
      periodStart: '2026-11-09', periodEnd: '2026-12-09', since: '2026-07-10', cancelAtPeriodEnd: false, pendingPlanId: null, discount: null,
    }],
  });
});

test('a price that differs from Tally\'s catalog is kept (grandfathered): the latest RECURRING item\'s full-period rate', () => {
  const a = usd('standard-monthly', '9.990000000');
  // An earlier month at another price does not count; a prorated amount with its full rate gives the rate.
  a.invoice('2026-08-09', [{ type: 'RECURRING', amount: '8.490000000', plan: 'standard-monthly', start: '2026-08-09' }]);
  a.invoice('2026-11-20', [{ type: 'RECURRING', amount: '3.000000000', rate: '9.990000000', plan: 'standard-monthly', start: '2026-11-20', end: '2026-12-09' }]);
  const s = transformKillBillMember(a.m, ctx).member!.subscriptions[0]!;
  assert.equal(s.keptPrice, 999); // Tally's US standard is 15.49
  // The same price as the catalog's is not kept.
  assert.equal(transformKillBillMember(usd().m, ctx).member!.subscriptions[0]!.keptPrice, undefined);
});

test('a trial in JPY: the trial phase makes it a trial, and the trial\'s end (the PHASE event) is the next billing date', () => {
  const a = killBillAccount('kb-jpy', 'JPY', 'Asia/Tokyo', 'JP');
  const sub = a.subscribe('premium-monthly', '2026-11-15 01:00:00', '2026-11-15 01:00:00', 'premium-monthly-trial');
  a.event(sub, 'PHASE', null, '2026-12-15 01:00:00', null, 'premium-monthly-evergreen');
  a.invoice('2026-11-15', [{ type: 'FIXED', amount: '0.000000000', plan: 'premium-monthly', start: '2026-11-15' }]);
  const s = transformKillBillMember(a.m, ctx).member!.subscriptions[0]!;
  assert.equal(s.status, 'trial');
  assert.equal(s.nextBillingDate, '2026-12-15');
  assert.equal(s.planId, 'premium');
  assert.equal(s.keptPrice, undefined);
  // After the PHASE event, the same subscription is active.
  assert.equal(transformKillBillMember(a.m, { ...ctx, asOf: '2026-12-16' }).member!.subscriptions[0]!.status, 'active');
});

test('KWD, three decimals: the credit balance is the sum of CBA_ADJ items of COMMITTED invoices', () => {
  const a = killBillAccount('kb-kwd', 'KWD', 'Asia/Kuwait', 'KW');
  a.subscribe('basic-monthly', '2026-08-01 05:00:00', '2026-12-01 05:00:00');
  a.invoice('2026-08-20', [{ type: 'CREDIT_ADJ', amount: '-6.000000000' }, { type: 'CBA_ADJ', amount: '6.000000000' }]);
  a.invoice('2026-09-01', [{ type: 'RECURRING', amount: '3.500000000', plan: 'basic-monthly' }, { type: 'CBA_ADJ', amount: '-3.500000000' }]);
  a.invoice('2026-10-01', [{ type: 'RECURRING', amount: '3.500000000', plan: 'basic-monthly' }, { type: 'CBA_ADJ', amount: '-2.500000000' }]);
  a.invoice('2026-11-20', [{ type: 'CREDIT_ADJ', amount: '-2.250000000' }, { type: 'CBA_ADJ', amount: '2.250000000' }]);
  // Credit on a DRAFT or a VOID invoice was never the member's.
  a.invoice('2026-11-21', [{ type: 'CREDIT_ADJ', amount: '-1.000000000' }, { type: 'CBA_ADJ', amount: '1.000000000' }], 'DRAFT');
  a.invoice('2026-11-22', [{ type: 'CREDIT_ADJ', amount: '-1.000000000' }, { type: 'CBA_ADJ', amount: '1.000000000' }], 'VOID');
  const member = transformKillBillMember(a.m, ctx).member!;
  assert.equal(member.creditBalance, 6000 - 3500 - 2500 + 2250);
  assert.equal(member.currency, 'KWD');
  assert.equal(member.subscriptions[0]!.keptPrice, 3500); // Tally's KW basic is 2.500
});

test('an account blocked for billing by its overdue state is on hold; a warning state or a deactivated row is not', () => {
  const blocked = () => {
    const a = killBillAccount('kb-eur', 'EUR', 'Europe/Berlin', 'DE');
    a.subscribe('standard-monthly', '2026-09-05 05:00:00', '2026-11-05 06:00:00');
    a.block('OD1', '2026-10-15 05:00:00', false);
    return a;
  };
  const warned = blocked();
  assert.equal(transformKillBillMember(warned.m, ctx).member!.subscriptions[0]!.status, 'active');
  const od2 = blocked();
  od2.block('OD2', '2026-11-05 06:00:00', true);
  assert.equal(transformKillBillMember(od2.m, ctx).member!.subscriptions[0]!.status, 'on_hold');
  const withdrawn = blocked();
  withdrawn.block('OD2', '2026-11-05 06:00:00', true, false);
  assert.equal(transformKillBillMember(withdrawn.m, ctx).member!.subscriptions[0]!.status, 'active');
  const cleared = blocked();
  cleared.block('OD2', '2026-11-05 06:00:00', true);
  cleared.block('__KILLBILL__CLEAR__OVERDUE_STATE__', '2026-11-20 06:00:00', false);
  assert.equal(transformKillBillMember(cleared.m, ctx).member!.subscriptions[0]!.status, 'active');
  // A block that takes effect after the migration day is not in force yet.
  const later = blocked();
  later.block('OD2', '2026-12-05 06:00:00', true);
  assert.equal(transformKillBillMember(later.m, ctx).member!.subscriptions[0]!.status, 'active');
});

test('CANCEL in the future is cancel at period end; in the past, cancelled', () => {
  const future = usd();
  future.event('sub-1', 'API_USER', 'CANCEL', '2026-12-09 14:00:00', null, null);
  const f = transformKillBillMember(future.m, ctx).member!.subscriptions[0]!;
  assert.equal(f.status, 'active');
  assert.equal(f.cancelAtPeriodEnd, true);
  assert.equal(f.nextBillingDate, '2026-12-09');

  const a = killBillAccount('kb-la', 'USD', 'America/Los_Angeles', 'US');
  a.subscribe('basic-monthly', '2026-06-13 01:30:00', '2026-09-13 01:30:00');
  a.event('sub-1', 'API_USER', 'CANCEL', '2026-08-28 01:30:00', null, null);
  const p = transformKillBillMember(a.m, ctx).member!.subscriptions[0]!;
  assert.equal(p.status, 'cancelled');
  assert.equal(p.cancelAtPeriodEnd, false);
  assert.equal(p.since, '2026-06-12');
  assert.equal(p.nextBillingDate, '2026-09-12');
  assert.equal(p.periodStart, null);
  assert.equal(p.keptPrice, undefined);
});

test('soft-deleted events are ignored; a CHANGE in the past sets the plan, one in the future is pending', () => {
  const a = usd();
  a.event('sub-1', 'API_USER', 'CHANGE', '2026-10-09 13:00:00', 'premium-monthly', 'premium-monthly-evergreen', false);
  a.event('sub-1', 'API_USER', 'CANCEL', '2026-12-09 14:00:00', null, null, false);
  let s = transformKillBillMember(a.m, ctx).member!.subscriptions[0]!;
  assert.equal(s.planId, 'basic');
  assert.equal(s.cancelAtPeriodEnd, false);
  a.event('sub-1', 'API_USER', 'CHANGE', '2026-11-01 13:00:00', 'standard-monthly', 'standard-monthly-evergreen');
  a.event('sub-1', 'API_USER', 'CHANGE', '2026-12-09 14:00:00', 'premium-monthly', 'premium-monthly-evergreen');
  s = transformKillBillMember(a.m, ctx).member!.subscriptions[0]!;
  assert.equal(s.planId, 'standard');
  assert.equal(s.pendingPlanId, 'premium');
});

test('quarantine: an unmapped plan, an unknown country, a currency other than the country\'s, a bad zone, no live payment method', () => {
  const unmapped = usd('gold-monthly', '7.990000000');
  assert.deepEqual(transformKillBillMember(unmapped.m, ctx).quarantine?.map((r) => r.reason), ['unmapped-plan']);
  const country = usd();
  country.m.account.country = 'Atlantis';
  assert.deepEqual(transformKillBillMember(country.m, ctx).quarantine?.map((r) => r.reason), ['unknown-country']);
  const currency = usd();
  currency.m.account.currency = 'EUR';
  assert.deepEqual(transformKillBillMember(currency.m, ctx).quarantine?.map((r) => r.reason), ['currency-mismatch']);
  const zone = usd();
  zone.m.account.time_zone = 'Mars/Olympus';
  assert.deepEqual(transformKillBillMember(zone.m, ctx).quarantine?.map((r) => r.reason), ['bad-timezone']);
  const card = usd();
  card.m.paymentMethods[0]!.is_active = false;
  assert.deepEqual(transformKillBillMember(card.m, ctx).quarantine?.map((r) => r.reason), ['no-payment-method']);
});

test('a DISCOUNT phase with its EVERGREEN still to come is paid, not a trial; a billing block on the subscription itself holds it', () => {
  const a = killBillAccount('kb-usd', 'USD', 'America/New_York', 'US');
  const sub = a.subscribe('basic-monthly', '2026-11-01 13:00:00', '2026-12-01 14:00:00', 'basic-monthly-discount');
  a.event(sub, 'PHASE', null, '2027-02-01 14:00:00', null, 'basic-monthly-evergreen');
  assert.equal(transformKillBillMember(a.m, ctx).member!.subscriptions[0]!.status, 'active');
  // A block placed through the API (its own service) on the subscription, not the account.
  a.m.blockingStates.push({
    record_id: 90, id: 'bs-api', blockable_id: sub, type: 'SUBSCRIPTION', state: 'PAUSED', service: 'api-user', block_change: true, block_entitlement: true, block_billing: true,
    effective_date: '2026-11-20 00:00:00', is_active: true, created_by: 'test', created_date: '2026-11-20 00:00:00', updated_by: null, updated_date: null, account_record_id: 1, tenant_record_id: 1,
  });
  assert.equal(transformKillBillMember(a.m, ctx).member!.subscriptions[0]!.status, 'on_hold');
  // A date-only value is read as midnight UTC.
  assert.equal(killBillLocalDate('2026-12-01', 'America/New_York'), '2026-11-30');
});
