import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forgetting, scrubJson, scrubMember, scrubRow, scrubText } from '../../src/archive/forget-scrub.ts';
import type { Member } from '../../src/domain/member.ts';

const ann = forgetting('m1', ['Ann.Lee@example.org', 'tok_ann_4242', null, '', 'ab']);

test('the values looked for: the member\'s email and token, longest first; empty and too short ones (they would rewrite any text) left out', () => {
  assert.deepEqual(ann, { memberId: 'm1', values: ['Ann.Lee@example.org', 'tok_ann_4242'] });
  assert.deepEqual(forgetting('m1', [null, null]).values, []);
});

test('a row of the member: every personal key cleared at any depth, the member\'s values replaced in any text, in any case', () => {
  const before = JSON.stringify({
    id: 'm1', email: 'Ann.Lee@example.org', country: 'DE',
    subscriptions: [{ id: 's1', plan: 'basic' }],
    nested: { contact: { email: 'other-box@example.org', paymentToken: 'tok_ann_4242', payment_token: 'x' } },
    note: 'customer wrote from ann.lee@EXAMPLE.org about tok_ann_4242',
  });
  assert.equal(scrubText(before, ann, true), JSON.stringify({
    id: 'm1', email: null, country: 'DE',
    subscriptions: [{ id: 's1', plan: 'basic' }],
    nested: { contact: { email: null, paymentToken: null, payment_token: null } },
    note: 'customer wrote from [forgotten] about [forgotten]',
  }));
});

test('a row that is not the member\'s (a stored response): personal keys cleared only under objects standing for the member; its values anywhere', () => {
  const response = { members: [{ id: 'm1', email: 'Ann.Lee@example.org' }, { id: 'm2', email: 'bo@example.org' }], invoice: { memberId: 'm1', email: 'billing@example.org' }, echo: 'Ann.Lee@example.org' };
  assert.deepEqual(scrubJson(response, ann, false), {
    members: [{ id: 'm1', email: null }, { id: 'm2', email: 'bo@example.org' }],
    invoice: { memberId: 'm1', email: null },
    echo: '[forgotten]',
  });
});

test('nothing to scrub: the very same value and text back, byte for byte (a file or row is rewritten only when something changed)', () => {
  const clean = { id: 'm1', email: null, amounts: [1, 2.5], ok: true };
  assert.equal(scrubJson(clean, ann, true), clean);
  const text = '{ "id": "m1",  "email": null, "total": 1.0 }';
  assert.equal(scrubText(text, ann, true), text);
  assert.equal(scrubText(null, ann, true), null);
  assert.equal(scrubText('not json, no value', ann, true), 'not json, no value');
});

test('text that is not JSON has the values replaced; JSON strings and arrays are scrubbed as JSON', () => {
  assert.equal(scrubText('email Ann.Lee@example.org bounced', ann, true), 'email [forgotten] bounced');
  assert.equal(scrubText('"Ann.Lee@example.org"', ann, false), '"[forgotten]"');
  assert.equal(scrubText('[{"reason":"bad email","detail":"ann.lee@example.org"}]', ann, true), '[{"reason":"bad email","detail":"[forgotten]"}]');
});

test('a re-run after the member row was scrubbed (no values known any more) still clears the member\'s keys', () => {
  const later = forgetting('m1', [null, '']);
  assert.equal(scrubText('{"before":{"id":"m1","email":"Ann.Lee@example.org"}}', later, true), '{"before":{"id":"m1","email":null}}');
});

test('scrubRow scrubs only the personal columns and returns the same row when nothing changed', () => {
  const row = { id: 7, member_id: 'm1', reason: 'asked by Ann.Lee@example.org', request: '{"email":"Ann.Lee@example.org"}', before: null, after: '{"email":null}' };
  assert.deepEqual(scrubRow(row, ['request', 'before', 'after'], ann), { ...row, request: '{"email":null}' });
  const clean = { ...row, request: '{"email":null}' };
  assert.equal(scrubRow(clean, ['request', 'before', 'after'], ann), clean);
});

test('the member aggregate: email null, token empty (no gateway knows it); the rest as it was', () => {
  const m = { id: 'm1', version: 3, email: 'Ann.Lee@example.org', country: 'DE', paymentToken: 'tok_ann_4242', creditBalance: 500 } as unknown as Member;
  assert.deepEqual(scrubMember(m), { ...m, email: null, paymentToken: '' });
  const gone = scrubMember(m);
  assert.equal(scrubMember(gone), gone);
});
