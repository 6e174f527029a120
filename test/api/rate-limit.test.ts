import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rateLimiter } from '../../src/api/rate-limit.ts';

test('each caller gets its budget per window, counted from its first request, and a new one when the window ends', () => {
  let now = 1_000_000;
  const limit = rateLimiter(2, 60_000, () => now);
  assert.deepEqual(limit('key-a'), { allowed: true, limit: 2, remaining: 1, resetIn: 60 });
  now += 15_000;
  assert.deepEqual(limit('key-a'), { allowed: true, limit: 2, remaining: 0, resetIn: 45 });
  assert.deepEqual(limit('key-a'), { allowed: false, limit: 2, remaining: 0, resetIn: 45 });
  assert.equal(limit('key-b').allowed, true, 'another caller has its own budget');
  now += 44_500;
  assert.deepEqual(limit('key-a'), { allowed: false, limit: 2, remaining: 0, resetIn: 1 }, 'a part second left rounds up');
  now += 500;
  assert.deepEqual(limit('key-a'), { allowed: true, limit: 2, remaining: 1, resetIn: 60 });
});

test('a rate limit that is not a positive whole number is refused', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => rateLimiter(bad), /rate limit must be a positive whole number/);
});
