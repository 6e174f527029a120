import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { addDays } from '../../src/domain/calendar.ts';
import { InvalidInput } from '../../src/domain/errors.ts';
import { runDay } from '../../src/jobs/run-day.ts';
import type { Services } from '../../src/jobs/services.ts';
import * as ops from '../../src/operations/member-operations.ts';
import { assertBillingHistoryRendersLedger, billingState } from '../support/state.ts';
import { engineUnderTest, openTestServices } from '../support/engine.ts';

const people = [
  { id: 'de', country: 'DE', region: null, timezone: 'Europe/Berlin', currency: 'EUR' },
  { id: 'us', country: 'US', region: 'WA', timezone: 'America/Los_Angeles', currency: 'USD' },
  { id: 'jp', country: 'JP', region: null, timezone: 'Asia/Tokyo', currency: 'JPY' },
  { id: 'kw', country: 'KW', region: null, timezone: 'Asia/Kuwait', currency: 'KWD' },
];
const start = '2026-01-01';
const horizon = 50;

const who = fc.integer({ min: 0, max: people.length - 1 });
const day = fc.integer({ min: 0, max: horizon - 1 });
const signup = fc.record({
  do: fc.constant('signup' as const), who, day: fc.integer({ min: 0, max: 5 }),
  plan: fc.constantFrom('basic', 'standard', 'premium', 'standard-trial', 'standard-annual'),
  token: fc.constantFrom('tok_ok', 'tok_ok', 'tok_soft_decline', 'tok_hard_decline', 'tok_timeout'),
});
const action = fc.oneof(
  signup,
  fc.record({ do: fc.constant('change-plan'), who, day, plan: fc.constantFrom('basic', 'standard', 'premium') }),
  fc.record({ do: fc.constantFrom('cancel', 'reactivate'), who, day }),
  fc.record({ do: fc.constant('update-payment'), who, day, token: fc.constantFrom('tok_ok', 'tok_soft_decline', 'tok_timeout') }),
  fc.record({ do: fc.constantFrom('gift-card', 'credit'), who, day, amount: fc.integer({ min: -5, max: 5000 }) }),
  fc.record({ do: fc.constant('discount'), who, day, percent: fc.integer({ min: 1, max: 100 }), cycles: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ do: fc.constant('refund'), who, day, invoice: fc.integer({ min: 1, max: 4 }), amount: fc.integer({ min: 0, max: 3000 }) }),
  fc.record({ do: fc.constant('chargeback'), who, day, invoice: fc.integer({ min: 1, max: 4 }) }),
);
type Action = typeof action extends fc.Arbitrary<infer A> ? A : never;

async function apply(svc: Services, a: Action, n: number): Promise<void> {
  const p = people[a.who]!;
  const on = addDays(start, a.day);
  switch (a.do) {
    case 'signup': await ops.signupMember(svc, { ...p, paymentToken: a.token, plan: a.plan }, on); break;
    case 'change-plan': await ops.changeMemberPlan(svc, p.id, a.plan, on); break;
    case 'cancel': await ops.cancelMembership(svc, p.id, on); break;
    case 'reactivate': await ops.reactivateMembership(svc, p.id, on); break;
    case 'update-payment': await ops.updatePaymentMethod(svc, p.id, a.token, on); break;
    case 'gift-card': await ops.redeemGiftCard(svc, p.id, `gc-${n}`, a.amount, p.currency, on); break;
    case 'credit': await ops.grantCredit(svc, p.id, `cr-${n}`, a.amount, 'goodwill', on); break;
    case 'discount': await ops.applyMemberDiscount(svc, p.id, { kind: 'percent', percentOff: a.percent, cyclesLeft: a.cycles }, on); break;
    case 'refund': await ops.refundMemberInvoice(svc, p.id, a.invoice, a.amount, 'customer request', on); break;
    case 'chargeback': await ops.chargebackMemberInvoice(svc, p.id, a.invoice, on); break;
  }
}

test('whatever members do, the journal balances per currency every day, nobody pays twice, refused input changes nothing', async () => {
  const succeeded = new Map<string, number>();
  let invoices = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(signup, { minLength: people.length, maxLength: people.length }), fc.array(action, { minLength: 1, maxLength: 25 }), async (signups, later) => {
      // Everyone signs up early, so later actions have a subscription to act on.
      const actions = [...signups.map((a, i) => ({ ...a, who: i })), ...later];
      const svc = await openTestServices();
      try {
        const numbered = actions.map((a, n) => ({ a, n })).sort((x, y) => x.a.day - y.a.day);
        for (let d = 0; d < horizon; d++) {
          for (const { a, n } of numbered.filter((x) => x.a.day === d)) {
            const before = await billingState(svc);
            try {
              await apply(svc, a, n);
              succeeded.set(a.do, (succeeded.get(a.do) ?? 0) + 1);
            } catch (err) {
              if (!(err instanceof InvalidInput)) throw err;
              assert.deepEqual(await billingState(svc), before, `refused ${a.do} must change nothing`);
            }
          }
          const result = await runDay(svc, addDays(start, d));
          assert.ok(result.revenue.balanced, `journal unbalanced on ${result.date}: ${JSON.stringify(result.revenue.balances)}`);
        }
        const state = await billingState(svc);
        invoices += state.invoices.length;
        const perInvoice = new Map<string, number>();
        for (const p of state.payments) perInvoice.set(p.invoice_id, (perInvoice.get(p.invoice_id) ?? 0) + 1);
        assert.ok([...perInvoice.values()].every((n) => n === 1), 'one successful payment per invoice at most');
        const approvedCharges = state.charges.filter((c) => c.kind === 'charge' && c.status === 'approved');
        assert.equal(approvedCharges.length, state.payments.length, 'every approved processor charge is one recorded payment');
        for (const i of state.invoices) {
          assert.ok(i.refunded <= i.charged, `invoice ${i.id} refunded more than charged`);
          assert.equal(i.total, i.amount_due + i.gift_card_applied + i.credit_applied);
        }
        // Across all days, each currency's journal nets to zero too.
        const net = new Map<string, number>();
        for (const j of state.journal) net.set(j.currency, (net.get(j.currency) ?? 0) + j.debit - j.credit);
        assert.ok([...net.values()].every((v) => v === 0));
        // What members read as their billing history is what the ledger holds, refunds and disputes included.
        await assertBillingHistoryRendersLedger(svc.store);
      } finally {
        await svc.store.close();
      }
    }),
    // 40 stories on the embedded engine; a server engine, where each story costs seconds, runs the first 24 of the same seed.
    { numRuns: engineUnderTest === 'sqlite' ? 40 : 24, seed: 42 },
  );
  // The property means something only if the generated stories really billed, refunded and disputed.
  for (const kind of ['signup', 'change-plan', 'cancel', 'update-payment', 'gift-card', 'credit', 'discount', 'refund', 'chargeback']) {
    assert.ok((succeeded.get(kind) ?? 0) > 0, `no ${kind} ever succeeded`);
  }
  assert.ok(invoices > 100, `only ${invoices} invoices issued`);
});
