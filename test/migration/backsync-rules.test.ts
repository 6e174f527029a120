import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Invoice } from '../../src/domain/invoice.ts';
import type { Subscription } from '../../src/domain/member.ts';
import { legacyPlans } from '../../src/legacy/reference-data.ts';
import {
  applyBalance, historyCode, historyPlans, invoiceDetailRows, invoiceHeaderFields, invoiceTxns, legacyAmount, legacyDay, legacyPlanCodes,
  legacyStamp, legacyWallClock, LegacyRefusal, promotionFields, signupRows, subscriptionFields,
} from '../../src/migration/backsync/legacy-rows.ts';
import { referenceLegacyPlans } from '../../src/migration/plan-mapping.ts';
import { legacyInstantDate } from '../../src/migration/transform/legacy-time.ts';
import type { PaymentAttemptRow } from '../../src/store/schema.ts';

const codeFor = legacyPlanCodes(referenceLegacyPlans, legacyPlans);

test('money: minor units to the legacy DECIMAL(12,4) exactly, by the currency\'s decimals; what the column cannot hold is refused, never rounded', () => {
  assert.equal(legacyAmount(1099, 'EUR'), '10.9900');
  assert.equal(legacyAmount(1200, 'JPY'), '1200.0000');
  assert.equal(legacyAmount(2500, 'KWD'), '2.5000');
  assert.equal(legacyAmount(0, 'USD'), '0.0000');
  assert.equal(legacyAmount(-500, 'USD'), '-5.0000');
  assert.equal(legacyAmount(9_999_999_999, 'USD'), '99999999.9900');
  // 100,000,000.00 USD is one more digit than DECIMAL(12,4) has.
  assert.throws(() => legacyAmount(10_000_000_000, 'USD'), LegacyRefusal);
  assert.throws(() => legacyAmount(99_999_999_999, 'JPY'), LegacyRefusal);
});

test('dates: a date-valued column is midnight of the date; an instant is noon in the member\'s zone on the Los Angeles wall clock, and reads back as Tally\'s date in every zone', () => {
  assert.equal(legacyDay('2026-12-29'), '2026-12-29 00:00:00');
  // Berlin is UTC+1 in November, Los Angeles UTC−8: noon in Berlin is 03:00 in Los Angeles.
  assert.equal(legacyStamp('2026-11-29', 'Europe/Berlin'), '2026-11-29 03:00:00');
  // Tokyo (UTC+9): noon is 03:00 UTC, 19:00 the evening before in Los Angeles.
  assert.equal(legacyStamp('2026-11-29', 'Asia/Tokyo'), '2026-11-28 19:00:00');
  // Summer on both sides: New York UTC−4, Los Angeles UTC−7.
  assert.equal(legacyStamp('2026-07-01', 'America/New_York'), '2026-07-01 09:00:00');
  // Kiritimati (UTC+14): noon there is 22:00 UTC the day before, 14:00 in Los Angeles.
  assert.equal(legacyStamp('2026-11-29', 'Pacific/Kiritimati'), '2026-11-28 14:00:00');
  // The day Los Angeles falls back (2026-11-01): noon in Los Angeles is noon.
  assert.equal(legacyStamp('2026-11-01', 'America/Los_Angeles'), '2026-11-01 12:00:00');
  for (const zone of ['Europe/Berlin', 'Asia/Tokyo', 'Pacific/Kiritimati', 'Pacific/Pago_Pago', 'America/Sao_Paulo', 'Australia/Sydney', 'Asia/Kuwait']) {
    for (const day of ['2026-03-08', '2026-03-29', '2026-11-01', '2026-12-31']) assert.equal(legacyInstantDate(legacyStamp(day, zone), zone), day, `${zone} ${day}`);
  }
  assert.equal(legacyWallClock(Date.parse('2026-11-29T11:00:00Z')), '2026-11-29 03:00:00');
});

test('plans: the mapping inverted to the current code of each Tally plan, not a 2010 one; a subscription on a code of the same plan keeps it', () => {
  assert.equal(codeFor('basic'), 'STRM_BAS_M');
  assert.equal(codeFor('standard'), 'STRM_STD_M');
  assert.equal(codeFor('premium'), 'STRM_PRE_M');
  assert.equal(codeFor('standard-annual'), 'STRM_STD_Y');
  assert.equal(codeFor('standard-trial'), 'STRM_TRL_M');
  assert.equal(codeFor('dvd-2'), 'DVD_2');
  assert.equal(codeFor('basic', 'STRM_1S_2010'), 'STRM_1S_2010');
  assert.equal(codeFor('premium', 'STRM_1S_2010'), 'STRM_PRE_M');
  // The obsolete code listed first still loses to the current one; a code the legacy does not have is never chosen.
  const other = legacyPlanCodes(new Map([['STRM_1S_2010', 'basic'], ['STRM_BAS_M', 'basic'], ['NO_SUCH', 'premium']]), legacyPlans);
  assert.equal(other('basic'), 'STRM_BAS_M');
  assert.throws(() => other('premium'), /Tally plan "premium" has no legacy plan code/);
  assert.throws(() => codeFor('mobile'), LegacyRefusal);
  // Only an obsolete code for the plan: that one (the legacy still knows it).
  assert.equal(legacyPlanCodes(new Map([['STRM_2S_2010', 'standard']]), legacyPlans)('standard'), 'STRM_2S_2010');
});

const sub = (over: Partial<Subscription> = {}): Subscription => ({
  id: 'A1-s1', product: 'streaming', planId: 'standard', status: 'active', anchor: '2026-10-29', cycle: 2, nextBillingDate: '2026-12-29',
  periodStart: '2026-11-29', periodEnd: '2026-12-29', since: '2026-10-29', cancelAtPeriodEnd: false, pendingPlanId: null, discount: null, ...over,
});

test('subscriptions: status numbers, paid through the period end, next bill only while billing, the cancellation flag; a plan change ends a negotiated price', () => {
  assert.deepEqual(subscriptionFields(sub({ cancelAtPeriodEnd: true }), null, codeFor), {
    plan_cd: 'STRM_STD_M', status_cd: 1, paid_thru_dt: '2026-12-29 00:00:00', next_bill_dt: '2026-12-29 00:00:00', cancel_eop_flg: 'Y', price_override_amt: null,
  });
  // A 2010 member billed at the price it kept: its code and override stay while the plan is the same.
  const kept = { plan_cd: 'STRM_2S_2010', paid_thru_dt: '2026-11-29 00:00:00', price_override_amt: '8.9900' };
  assert.deepEqual(subscriptionFields(sub(), kept, codeFor), {
    plan_cd: 'STRM_2S_2010', status_cd: 1, paid_thru_dt: '2026-12-29 00:00:00', next_bill_dt: '2026-12-29 00:00:00', cancel_eop_flg: 'N', price_override_amt: '8.9900',
  });
  assert.deepEqual(subscriptionFields(sub({ planId: 'premium' }), kept, codeFor).price_override_amt, null);
  assert.equal(subscriptionFields(sub({ planId: 'premium' }), kept, codeFor).plan_cd, 'STRM_PRE_M');
  // Trial: nothing paid yet, billed when it ends.
  assert.deepEqual(subscriptionFields(sub({ planId: 'standard-trial', status: 'trial', periodStart: '2026-11-29', periodEnd: '2026-12-29' }), null, codeFor),
    { plan_cd: 'STRM_TRL_M', status_cd: 4, paid_thru_dt: null, next_bill_dt: '2026-12-29 00:00:00', cancel_eop_flg: 'N', price_override_amt: null });
  assert.deepEqual(subscriptionFields(sub({ status: 'past_due' }), null, codeFor).next_bill_dt, null);
  assert.deepEqual(subscriptionFields(sub({ status: 'on_hold' }), null, codeFor).status_cd, 2);
  assert.deepEqual(subscriptionFields(sub({ status: 'cancelled' }), null, codeFor), {
    plan_cd: 'STRM_STD_M', status_cd: 3, paid_thru_dt: '2026-12-29 00:00:00', next_bill_dt: null, cancel_eop_flg: 'N', price_override_amt: null,
  });
  // Signed up today, not billed yet: no period, nothing paid.
  assert.equal(subscriptionFields(sub({ periodStart: null, periodEnd: null, nextBillingDate: '2026-11-29' }), null, codeFor).paid_thru_dt, null);
});

test('history: the legacy\'s codes for Tally\'s subscription events, with the plan columns its own writers fill', () => {
  assert.equal(historyCode('subscription.created'), 'NEW');
  assert.equal(historyCode('subscription.plan_changed'), 'CHG');
  assert.equal(historyCode('subscription.cancel_requested'), 'CREQ');
  assert.equal(historyCode('subscription.reactivated'), 'CWDR');
  assert.equal(historyCode('subscription.cancelled'), 'CNCL');
  assert.equal(historyCode('subscription.on_hold'), 'HOLD');
  assert.equal(historyCode('subscription.recovered'), 'RSUM');
  assert.equal(historyCode('subscription.plan_change_scheduled'), null);
  assert.equal(historyCode('invoice.issued'), null);
  assert.deepEqual(historyPlans('CHG', 'STRM_BAS_M', 'STRM_PRE_M'), { old_plan_cd: 'STRM_BAS_M', new_plan_cd: 'STRM_PRE_M' });
  assert.deepEqual(historyPlans('CNCL', 'STRM_BAS_M', 'STRM_BAS_M'), { old_plan_cd: 'STRM_BAS_M', new_plan_cd: null });
  assert.deepEqual(historyPlans('NEW', 'STRM_BAS_M', 'STRM_BAS_M'), { old_plan_cd: null, new_plan_cd: 'STRM_BAS_M' });
});

/** A German renewal: 9.99 EUR gross, 19% included (1.60), 5.00 of it from a gift card, refused once, then paid; a partial refund; then a chargeback. */
const invoice: Invoice = {
  id: 'A1#38', memberId: 'A1', number: 38, subscriptionId: 'A1-s1', kind: 'renewal', key: 'renewal:A1-s1:2026-11-29', country: 'DE', region: null, currency: 'EUR',
  periodStart: '2026-11-29', periodEnd: '2026-12-29', issuedOn: '2026-11-29', subtotal: 999, discount: 0, tax: 160, total: 999, giftCardApplied: 500, creditApplied: 0,
  amountDue: 499, charged: 499, refunded: 200, status: 'partially_refunded', attemptCount: 2, firstFailedOn: '2026-11-29', nextAttemptOn: null,
  lines: [{ lineNo: 1, kind: 'plan', description: 'Standard 2026-11-29 – 2026-12-29', planId: 'standard', periodStart: '2026-11-29', periodEnd: '2026-12-29', amount: 999, discount: 0, net: 839, tax: 160, total: 999, taxRatePpm: 190000, taxName: 'VAT' }],
};

test('invoices: the header as billed (gross in a tax-inclusive country), issued at noon Berlin on the Los Angeles clock, and lines that add up to it', () => {
  assert.deepEqual(invoiceHeaderFields(invoice, 'Europe/Berlin'), {
    inv_dt: '2026-11-29 03:00:00', period_from_dt: '2026-11-29 00:00:00', period_to_dt: '2026-12-29 00:00:00', status_cd: 'P', currency_cd: 'EUR',
    subtotal_amt: '9.9900', discount_amt: '0.0000', tax_amt: '1.6000', total_amt: '9.9900', gift_applied_amt: '5.0000', credit_applied_amt: '0.0000',
  });
  for (const [status, code] of [['open', 'O'], ['past_due', 'F'], ['uncollectible', 'U'], ['void', 'V'], ['refunded', 'R'], ['disputed', 'P'], ['paid', 'P']] as const) {
    assert.equal(invoiceHeaderFields({ ...invoice, status }, 'Europe/Berlin').status_cd, code);
  }
  assert.deepEqual(invoiceDetailRows(invoice, codeFor, null), [{ line_no: 1, plan_cd: 'STRM_STD_M', descr: 'Standard 2026-11-29 – 2026-12-29', amount: '9.9900', discount_amt: '0.0000' }]);
  // The subscription's 2010 code names the line too, so the legacy finds its last invoice by code.
  assert.equal(invoiceDetailRows(invoice, codeFor, 'STRM_2S_2010')[0]!.plan_cd, 'STRM_2S_2010');
});

test('payment transactions: a declined capture with the legacy\'s response code, an approved one after its authorization, a refund and a chargeback after the capture; rows from the legacy and unknown outcomes left out', () => {
  const attempt = (no: number, status: string, on: string, over: Partial<PaymentAttemptRow> = {}): PaymentAttemptRow => ({
    idem_key: `charge:A1#38:${no}`, invoice_id: 'A1#38', member_id: 'A1', attempt_no: no, amount: 499, currency: 'EUR', status, decline_code: null, attempted_on: on, reference: null, ...over,
  });
  const txns = invoiceTxns(invoice, [
    attempt(2, 'succeeded', '2026-11-30', { reference: 'ch_2' }),
    attempt(1, 'declined', '2026-11-29', { decline_code: 'insufficient_funds' }),
    attempt(3, 'unknown', '2026-12-01'),
  ], [
    { id: 'refund:A1#38:1', invoice_id: 'A1#38', member_id: 'A1', amount: 200, tax: 64, currency: 'EUR', reason: 'goodwill', refunded_on: '2026-12-02', reference: 're_1', status: 'succeeded' },
    { id: 'refund:A1#38:2', invoice_id: 'A1#38', member_id: 'A1', amount: 100, tax: 32, currency: 'EUR', reason: 'pending', refunded_on: '2026-12-02', reference: '', status: 'pending' },
  ], [{ id: 'chargeback:A1#38', invoice_id: 'A1#38', member_id: 'A1', amount: 299, fee: 1500, currency: 'EUR', received_on: '2026-12-05' }], 'Europe/Berlin');
  assert.deepEqual(txns, [
    { key: 'charge:A1#38:1', txn_type: 'CAP', amount: '4.9900', resp_cd: '51', txn_dt: '2026-11-29 03:00:00', ref_no: null, parent: null },
    { key: 'charge:A1#38:2:aut', txn_type: 'AUT', amount: '4.9900', resp_cd: '00', txn_dt: '2026-11-30 03:00:00', ref_no: 'ch_2', parent: null },
    { key: 'charge:A1#38:2', txn_type: 'CAP', amount: '4.9900', resp_cd: '00', txn_dt: '2026-11-30 03:00:00', ref_no: 'ch_2', parent: 'charge:A1#38:2:aut' },
    { key: 'refund:A1#38:1', txn_type: 'REF', amount: '2.0000', resp_cd: '00', txn_dt: '2026-12-02 03:00:00', ref_no: 're_1', parent: 'charge:A1#38:2' },
    { key: 'chargeback:A1#38', txn_type: 'CHB', amount: '2.9900', resp_cd: '00', txn_dt: '2026-12-05 03:00:00', ref_no: null, parent: 'charge:A1#38:2' },
  ]);
  // A hard decline is 05; a capture the migration carried over (legacy-txn:…) is the legacy's already, but a refund of it follows it.
  const migrated = invoiceTxns(invoice, [attempt(1, 'succeeded', '2026-11-10', { idem_key: 'legacy-txn:83', reference: 'R83' }), attempt(2, 'declined', '2026-11-29', { decline_code: 'do_not_honor' })],
    [{ id: 'refund:A1#38:1', invoice_id: 'A1#38', member_id: 'A1', amount: 200, tax: 64, currency: 'EUR', reason: 'x', refunded_on: '2026-12-02', reference: 're_1', status: 'succeeded' }], [], 'Europe/Berlin');
  assert.deepEqual(migrated.map((t) => [t.key, t.txn_type, t.resp_cd, t.parent]), [
    ['charge:A1#38:2', 'CAP', '05', null],
    ['refund:A1#38:1', 'REF', '00', 'legacy-txn:83'],
  ]);
});

test('balances: an invoice\'s gift-card and credit use taken from the legacy\'s cards and memos in order, each up to what is open; more than they cover is refused', () => {
  assert.deepEqual(applyBalance(150_000n, [{ key: 7, open: 100_000n }, { key: 9, open: 0n }, { key: 11, open: 100_000n }], 'gift-card balance'),
    [{ key: 7, amount: 100_000n }, { key: 11, amount: 50_000n }]);
  assert.deepEqual(applyBalance(0n, [{ key: 7, open: 100_000n }], 'credit memos'), []);
  assert.throws(() => applyBalance(150_000n, [{ key: 7, open: 100_000n }], 'credit memos'), /Tally applied 15\.0000 of credit memos but the legacy's credit memos cover only 10\.0000/);
});

test('promotions and sign-ups: a Tally discount as a legacy promotion; a Tally member as the legacy\'s own sign-up writes it', () => {
  assert.deepEqual(promotionFields({ kind: 'percent', percentOff: 12.5, cyclesLeft: 3 }, 'EUR', 'A1-s1', '2026-11-29 03:00:00'), {
    promo_cd: 'TALLY-A1-s1', descr: 'granted in Tally to A1-s1', pct_off: '12.50', amt_off: null, cycles: 3, valid_from_dt: '2026-11-29 03:00:00', valid_to_dt: null,
  });
  assert.equal(promotionFields({ kind: 'amount', amountOff: 250, cyclesLeft: 1 }, 'KWD', 'A1-s1', '2026-11-29 03:00:00').amt_off, '0.2500');
  assert.throws(() => promotionFields({ kind: 'percent', percentOff: 12.345, cyclesLeft: 1 }, 'EUR', 'A1-s1', '2026-11-29 03:00:00'), LegacyRefusal);
  const member = { id: 'T-DE-1', version: 0, email: 'anna@example.de', country: 'DE', region: null, timezone: 'Europe/Berlin', currency: 'EUR', paymentToken: 'tok_ok', giftCardBalance: 0, creditBalance: 0, invoiceCount: 0, subscriptions: [] };
  const rows = signupRows(member, '2026-11-29 10:15:00');
  assert.deepEqual(rows.customer, { acct_no: 'T-DE-1', first_nm: null, last_nm: null, country_cd: 'DE', created_dt: '2026-11-29 10:15:00', updated_dt: '2026-11-29 10:15:00', deleted_flg: 'N', deleted_dt: null });
  assert.deepEqual(rows.email, { email_addr: 'anna@example.de', primary_flg: 'Y', created_dt: '2026-11-29 10:15:00', deleted_flg: 'N' });
  assert.deepEqual(rows.account, { status_cd: 'A', currency_cd: 'EUR', tz_nm: 'Europe/Berlin', opened_dt: '2026-11-29 10:15:00', closed_dt: null, updated_dt: '2026-11-29 10:15:00' });
  assert.equal(rows.card.token, 'tok_ok');
  assert.equal(signupRows({ ...member, email: null }, '2026-11-29 10:15:00').email, null);
  assert.throws(() => signupRows({ ...member, id: 'a-member-id-of-21-chr' }, 'x'), /longer than the legacy's 20-character account numbers/);
});

test('lag on /metrics: one series per served country, the last applied time only where the legacy recorded one', async () => {
  const { Registry } = await import('prom-client');
  const { registerBacksyncMetrics } = await import('../../src/migration/backsync/status.ts');
  const registry = new Registry();
  let reads = 0;
  registerBacksyncMetrics(registry, async () => {
    reads++;
    return [
      { country: 'DE', waiting: 3, oldestWaitingSeconds: 42.5, lastAppliedAt: '2026-11-29T10:00:00.000Z', parked: 1 },
      { country: 'FR', waiting: 0, oldestWaitingSeconds: 0, lastAppliedAt: null, parked: 0 },
    ];
  });
  const text = await registry.metrics();
  assert.match(text, /tally_backsync_waiting_events\{country="DE"\} 3\n/);
  assert.match(text, /tally_backsync_waiting_events\{country="FR"\} 0\n/);
  assert.match(text, /tally_backsync_oldest_waiting_seconds\{country="DE"\} 42\.5\n/);
  // 2026-11-29 is day 20,786 since 1970-01-01 (20,454 to 2026-01-01, plus 332): 20,786 × 86,400 + 10 × 3,600.
  assert.match(text, /tally_backsync_last_applied_timestamp_seconds\{country="DE"\} 1795946400\n/);
  assert.doesNotMatch(text, /tally_backsync_last_applied_timestamp_seconds\{country="FR"\}/);
  assert.match(text, /tally_backsync_parked_events\{country="DE"\} 1\n/);
  assert.equal(reads, 1, 'one status read per scrape, whatever the number of gauges');
});
