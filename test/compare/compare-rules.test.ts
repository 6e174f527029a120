import assert from 'node:assert/strict';
import { test } from 'node:test';
import { declaredBy, parseDeclaredRules } from '../../src/compare/declared-rules.ts';
import { diffMember, type MemberFacts } from '../../src/compare/member-facts.ts';
import { isInvalidInput } from '../support/invalid-input.ts';

const member: MemberFacts = {
  member: 'A000000042', email: 'ann@example.com', currency: 'EUR', timezone: 'Europe/Berlin', paymentToken: 'tok_ok', giftCardBalance: 0, creditBalance: 500,
  invoicesAll: 40, invoices: 24, invoicesTotal: 23976, invoicesTax: 3828, invoicesRepaired: 0, invoicesVoid: 1, invoicesUnpaid: 0, lastIssuedOn: '2026-11-03',
  payments: 23, paymentsAmount: 22977, declines: 2, refunds: 1, refundsAmount: 999, chargebacks: 0, chargebacksAmount: 0,
  subscriptions: [{ plan: 'standard', status: 'active', paidThrough: '2026-12-03', cancelAtPeriodEnd: false, discountCyclesLeft: null }],
};

test('a member compared field by field: nothing when equal; each differing field named with both values as JSON, subscriptions by position', () => {
  assert.deepEqual(diffMember(member, structuredClone(member)), []);
  const tally: MemberFacts = {
    ...structuredClone(member), invoicesTax: 3827, email: null,
    subscriptions: [{ ...member.subscriptions[0]!, paidThrough: '2027-01-03' }, { plan: 'dvd-1', status: 'active', paidThrough: '2026-12-10', cancelAtPeriodEnd: false, discountCyclesLeft: 2 }],
  };
  assert.deepEqual(diffMember(member, tally), [
    { field: 'email', source_value: '"ann@example.com"', tally_value: 'null' },
    { field: 'invoices.tax', source_value: '3828', tally_value: '3827' },
    { field: 'subscriptions.count', source_value: '1', tally_value: '2' },
    { field: 'subscriptions.1.paid_through', source_value: '"2026-12-03"', tally_value: '"2027-01-03"' },
    { field: 'subscriptions.2.plan', source_value: 'null', tally_value: '"dvd-1"' },
    { field: 'subscriptions.2.status', source_value: 'null', tally_value: '"active"' },
    { field: 'subscriptions.2.paid_through', source_value: 'null', tally_value: '"2026-12-10"' },
    { field: 'subscriptions.2.cancel_at_period_end', source_value: 'null', tally_value: 'false' },
    { field: 'subscriptions.2.discount_cycles_left', source_value: 'null', tally_value: '2' },
  ]);
  // A sub-cent source amount stays a decimal text: it differs from any whole number of minor units.
  assert.deepEqual(diffMember({ ...member, giftCardBalance: '19.9950' }, { ...member, giftCardBalance: 1999 }), [{ field: 'gift_card_balance', source_value: '"19.9950"', tally_value: '1999' }]);
});

test('declared rules: a field (or a pattern), a bound in minor units (per invoice), an exact value on either side; the first rule that fits', () => {
  const rules = parseDeclaredRules(`rules:
  - name: bankers
    field: invoices.tax
    within: 1
    per: invoice
    reason: half to even on the invoice total
  - name: no-email
    field: email
    tally: null
    reason: bounced
  - name: any-plan
    field: subscriptions.*.plan
    reason: plans renamed
`, 'rules.yaml');
  assert.equal(rules.length, 3);
  const tax = (a: number, b: number) => ({ field: 'invoices.tax', source_value: String(a), tally_value: String(b) });
  // 24 invoices in the window: up to 24 minor units apart, either way.
  assert.equal(declaredBy(rules, tax(3828, 3804), 24)?.name, 'bankers');
  assert.equal(declaredBy(rules, tax(3804, 3828), 24)?.name, 'bankers');
  assert.equal(declaredBy(rules, tax(3828, 3803), 24), undefined);
  assert.equal(declaredBy(rules, tax(3828, 3827), 0)?.name, 'bankers', 'no invoice: one unit');
  assert.equal(declaredBy(rules, { field: 'email', source_value: '"a@b.c"', tally_value: 'null' }, 0)?.name, 'no-email');
  assert.equal(declaredBy(rules, { field: 'email', source_value: 'null', tally_value: '"a@b.c"' }, 0), undefined);
  assert.equal(declaredBy(rules, { field: 'subscriptions.2.plan', source_value: '"basic"', tally_value: '"standard"' }, 0)?.name, 'any-plan');
  assert.equal(declaredBy(rules, { field: 'subscriptions.2.status', source_value: '"active"', tally_value: '"trial"' }, 0), undefined);
  assert.equal(declaredBy(rules, { field: 'invoices.tax', source_value: '"38.2850"', tally_value: '3828' }, 24), undefined, 'a decimal text is not within a bound');
});

test('declared rules: every mistake named by its field', () => {
  const cases: [string, string][] = [
    ['rules: 3', 'rules'],
    ['rules:\n  - field: email\n    reason: r', 'rules[0].name'],
    ['rules:\n  - name: a\n    field: email\n    reason: r\n    within: 1.5', 'rules[0].within'],
    ['rules:\n  - name: a\n    field: email\n    reason: r\n    per: invoice', 'rules[0].per'],
    ['rules:\n  - name: a\n    field: email\n    reason: r\n    colour: red', 'rules[0].colour'],
    ['rules:\n  - name: a\n    field: email\n    reason: r\n  - name: a\n    field: currency\n    reason: r', 'rules[1].name'],
    ['rules: [', '--rules'],
  ];
  for (const [text, field] of cases) assert.throws(() => parseDeclaredRules(text, 'r.yaml'), isInvalidInput(field), text);
});
