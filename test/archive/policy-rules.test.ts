import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Temporal } from 'temporal-polyfill';
import { cutoffs, defaultPolicy, parsePolicy, policyDocument } from '../../src/archive/policy.ts';
import { InvalidInput } from '../../src/domain/errors.ts';

const now = Temporal.Instant.from('2026-11-30T10:00:00Z');

test('the default policy cuts where a finance team expects, counted back from now by the calendar', () => {
  const cut = cutoffs(defaultPolicy, now);
  assert.equal(cut.invoices.hotBefore, '2024-11-30T10:00:00Z');
  assert.equal(cut.invoices.keepBefore, '2016-11-30T10:00:00Z');
  assert.equal(cut.journal.hotBefore, '2023-11-30T10:00:00Z');
  assert.equal(cut.audit.keepBefore, '2019-11-30T10:00:00Z');
  assert.equal(cut.outbox.hotBefore, '2026-10-31T10:00:00Z');
  assert.equal(cut.outbox.keepBefore, undefined);
  assert.equal(cut['idempotency-keys'].hotBefore, '2026-11-29T10:00:00Z');
  assert.equal(cut['job-runs'].hotBefore, '2025-10-30T10:00:00Z');
});

test('--before only narrows: it never moves a row the policy keeps hot', () => {
  assert.equal(cutoffs(defaultPolicy, now, '2024-01-01').invoices.hotBefore, '2024-01-01');
  assert.equal(cutoffs(defaultPolicy, now, '2026-06-01').invoices.hotBefore, '2024-11-30T10:00:00Z');
  assert.equal(cutoffs(defaultPolicy, now, '2026-06-01').outbox.hotBefore, '2026-06-01');
});

test('months count by the calendar: 24 months before the 29th of February is the 28th, not a day in March', () => {
  const leap = Temporal.Instant.from('2028-02-29T00:00:00Z');
  assert.equal(cutoffs(defaultPolicy, leap).invoices.hotBefore, '2026-02-28T00:00:00Z');
});

test('a document changes only the classes it names; the rest keep their retention; show and set round-trip', () => {
  const p = parsePolicy('classes:\n  invoices: { hot: 36 months, keep: 12 years }\n  outbox: { hot: 45 days, purge: true }\n');
  assert.deepEqual(p.invoices, { hot: { amount: 36, unit: 'months' }, keep: { amount: 12, unit: 'years' }, purge: false });
  assert.deepEqual(p.outbox, { hot: { amount: 45, unit: 'days' }, purge: true });
  assert.deepEqual(p.payments, defaultPolicy.payments);
  assert.deepEqual(parsePolicy(policyDocument(p)), p);
  assert.deepEqual(parsePolicy('{"classes": {"audit": {"hot": "1 year", "keep": "8 years"}}}').audit, { hot: { amount: 1, unit: 'years' }, keep: { amount: 8, unit: 'years' }, purge: false });
});

function refused(text: string, field: RegExp, message: RegExp) {
  assert.throws(() => parsePolicy(text), (err: unknown) => {
    assert.ok(err instanceof InvalidInput, String(err));
    assert.match(err.field, field);
    assert.match(err.message, message);
    return true;
  });
}

test('refused, naming the field: an unknown class, a malformed duration, retention below the law, purge of bookkeeping records', () => {
  refused('classes:\n  emails: { hot: 1 day, purge: true }\n', /classes\.emails/, /not a data class.*invoices/);
  refused('classes:\n  invoices: { hot: 0 days, keep: 0 days }\n', /classes\.invoices\.keep/, /0 days is shorter than the 10 years the law requires/);
  refused('classes:\n  invoices: { hot: 24 months, keep: 9 years }\n', /classes\.invoices\.keep/, /9 years is shorter than the 10 years/);
  refused('classes:\n  journal: { hot: 30 days, purge: true }\n', /classes\.journal\.purge/, /never only purged/);
  refused('classes:\n  invoices: { hot: two years }\n', /classes\.invoices\.hot/, /duration/);
  refused('classes:\n  audit: { hot: 10 years, keep: 7 years }\n', /classes\.audit\.keep/, /shorter than its hot window/);
  refused('classes:\n  outbox: { hot: 1 day, purge: true }\n', /classes\.outbox\.hot/, /shorter than 7 days/);
  refused('classes:\n  outbox: { hot: 30 days, purge: true, keep: 1 year }\n', /classes\.outbox\.keep/, /purge-only/);
  refused('classes:\n  revenue-days: { hot: 12 months, keep: 10 years }\n', /classes\.revenue-days\.hot/, /journal's hot window/);
  refused('retention: {}\n', /retention/, /not a policy key/);
  refused('classes: [1]\n', /classes/, /must map/);
  refused('classes:\n  invoices: { hot: 24 months, keep: 10 years, colour: red }\n', /classes\.invoices\.colour/, /not a retention key/);
});
