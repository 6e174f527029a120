import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { cohortOf, decide, memberOfPath, parseRoute, tallyServes, unrouted } from '../../src/proxy/routing.ts';

test('a member\'s cohort is a stable number 0–99 from its id (SHA-1, first 32 bits, modulo 100)', () => {
  // sha1('A000000001') = ac1488bb…: 0xac1488bb = 2,887,026,875, and 2,887,026,875 mod 100 = 75.
  assert.equal(cohortOf('A000000001'), 75);
  fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 40 }), (id) => {
    const c = cohortOf(id);
    return Number.isInteger(c) && c >= 0 && c < 100 && cohortOf(id) === c;
  }));
});

test('routing: legacy, tally, frozen (reads answered where the member is, writes refused), canary by cohort', () => {
  const id = 'A000000001';
  const c = cohortOf(id);
  assert.deepEqual(decide('GET', id, { state: 'legacy', canaryPercent: 0 }), { backend: 'legacy', frozen: false });
  assert.deepEqual(decide('POST', id, { state: 'tally', canaryPercent: 0 }), { backend: 'tally', frozen: false });
  assert.deepEqual(decide('GET', id, { state: 'frozen', canaryPercent: 0 }), { backend: 'legacy', frozen: false });
  assert.deepEqual(decide('HEAD', id, { state: 'frozen', canaryPercent: 0 }), { backend: 'legacy', frozen: false });
  assert.deepEqual(decide('POST', id, { state: 'frozen', canaryPercent: 0 }), { backend: 'legacy', frozen: true });
  assert.deepEqual(decide('post', id, { state: 'frozen', canaryPercent: 0 }), { backend: 'legacy', frozen: true });
  // The member is in the canary exactly when its cohort is below the share.
  assert.equal(decide('GET', id, { state: 'legacy', canaryPercent: c + 1 }).backend, 'tally');
  assert.equal(decide('GET', id, { state: 'legacy', canaryPercent: c }).backend, 'legacy');
  assert.deepEqual(decide('POST', id, { state: 'frozen', canaryPercent: c + 1 }), { backend: 'tally', frozen: true });
  // A sign-up without an id has no cohort: it goes with the country.
  assert.equal(decide('POST', null, { state: 'legacy', canaryPercent: 100 }).backend, 'legacy');
});

test('a canary share is monotone: raising it only adds members, and it sends about that share', () => {
  fc.assert(fc.property(fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 50 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (ids, a, b) => {
    const [lo, hi] = a < b ? [a, b] : [b, a];
    return ids.every((id) => decide('GET', id, { state: 'legacy', canaryPercent: lo }).backend === 'legacy' || decide('GET', id, { state: 'legacy', canaryPercent: hi }).backend === 'tally');
  }));
  const ids = Array.from({ length: 20_000 }, (_, i) => `M${String(i).padStart(8, '0')}`);
  const share = ids.filter((id) => decide('GET', id, { state: 'legacy', canaryPercent: 10 }).backend === 'tally').length / ids.length;
  assert.ok(share > 0.09 && share < 0.11, `10% canary sent ${share}`);
});

test('route changes are checked, naming the field; member ids are read from member and DVD paths', () => {
  assert.deepEqual(parseRoute('frozen', undefined), { state: 'frozen', canaryPercent: 0 });
  assert.deepEqual(parseRoute('legacy', '25%'), { state: 'legacy', canaryPercent: 25 });
  assert.throws(() => parseRoute('paused', '0'), /^RangeError: state: must be one of legacy, frozen, tally, got "paused"$/);
  assert.throws(() => parseRoute('legacy', '101'), /^RangeError: canary: must be a whole percentage from 0 to 100, got "101"$/);
  assert.throws(() => parseRoute('legacy', '2.5'), /canary/);
  assert.equal(memberOfPath('/v1/members/A000000001'), 'A000000001');
  assert.equal(memberOfPath('/v1/members/A%2F1/invoices'), 'A/1');
  assert.equal(memberOfPath('/v1/dvd/members/B7/billing'), 'B7');
  assert.equal(memberOfPath('/v1/members'), null);
  assert.equal(memberOfPath('/v1/members/%E0%A4%A'), null);
});

test('Tally serves a country routed to it, frozen, or sending it a canary share; not one on the legacy or without a route', () => {
  assert.equal(tallyServes({ state: 'tally', canaryPercent: 0 }), true);
  assert.equal(tallyServes({ state: 'frozen', canaryPercent: 0 }), true);
  assert.equal(tallyServes({ state: 'legacy', canaryPercent: 10 }), true);
  assert.equal(tallyServes({ state: 'legacy', canaryPercent: 0 }), false);
  assert.equal(tallyServes(unrouted), false);
});
