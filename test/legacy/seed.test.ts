import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { dec4, generateMember, legacyTables, openLegacy, seedLegacy, type LegacyDb } from '../../src/legacy/index.ts';
import { freshStoreUrl } from '../support/engine.ts';

const root = join(import.meta.dirname, '..', '..');
const asOf = '2026-11-28';

/** Every row of every table, in key order, decimals as exact ten-thousandths: equal across engines and runs. */
async function contents(legacy: LegacyDb): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of legacyTables) {
    const rows = await legacy.db.selectFrom(table).selectAll().execute() as Record<string, unknown>[];
    out[table] = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, /amt$|^amount$|rate$|pct_off/.test(k) && v !== null ? dec4(v as string).toString() : v === null ? null : String(v)])))
      .sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
  }
  return out;
}

test('seed: the legacy schema of 21 tables, filled with exactly what the generator made, the same again from the same seed', async () => {
  const opts = { members: 60, seed: 4, asOf, countries: ['US', 'JP', 'KW', 'DE'] };
  const [a, b] = await Promise.all([freshStoreUrl().then(openLegacy), freshStoreUrl().then(openLegacy)]);
  try {
    const result = await seedLegacy(a.db, opts, undefined, 25);
    await seedLegacy(b.db, opts, undefined, 7);
    assert.ok(legacyTables.length >= 15);
    const expected = Array.from({ length: 60 }, (_, n) => generateMember(n, opts));
    assert.equal(result.rows.invoice_header, expected.reduce((k, r) => k + (r.invoice_header?.length ?? 0), 0));
    assert.equal(result.rows.customer, expected.reduce((k, r) => k + (r.customer?.length ?? 0), 0));
    const [ca, cb] = [await contents(a), await contents(b)];
    assert.deepEqual(ca, cb, 'the same population whatever the batch size');
    // Amounts read back exactly as written, in major units with four places.
    const first = expected.flatMap((r) => r.invoice_header ?? [])[0]!;
    const stored = await a.db.selectFrom('invoice_header').selectAll().where('inv_id', '=', first.inv_id).executeTakeFirstOrThrow();
    assert.equal(dec4(stored.total_amt), dec4(first.total_amt));
    assert.equal(String(stored.inv_dt).slice(0, 19), first.inv_dt, 'local timestamps without a zone, as written');
    await assert.rejects(seedLegacy(a.db, opts), /already holds customers/);
  } finally {
    await a.close();
    await b.close();
  }
});

test('tally legacy seed: bad input is one line and exit 2', async () => {
  const url = await freshStoreUrl();
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'legacy', 'seed', ...args], { encoding: 'utf8', env: { ...process.env, TALLY_LOG_LEVEL: 'silent' } });
  for (const [args, message] of [
    [['--url', url, '--members', '5', '--countries', 'US,XX'], /does not sell in XX/],
    [['--url', url, '--members', 'many'], /--members must be a positive whole number/],
    [['--members', '5'], /--url is required/],
    [['--url', 'ftp://nowhere/db', '--members', '5'], /not a database URL/],
  ] as const) {
    const r = run(...args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const ok = run('--url', url, '--members', '5', '--as-of', asOf, '--countries', 'GB');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).rows.customer >= 5, true);
});
