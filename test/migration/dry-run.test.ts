import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtInCatalog, catalogIndex } from '../../src/domain/catalog.ts';
import { InvalidInput } from '../../src/domain/errors.ts';
import { openLegacy, seedLegacy } from '../../src/legacy/index.ts';
import { dryRunCountry } from '../../src/migration/dry-run.ts';
import { parsePlanMapping, referenceLegacyPlans } from '../../src/migration/plan-mapping.ts';
import { legacyAdapter } from '../../src/migration/sources/legacy-adapter.ts';
import { openLegacySource } from '../../src/migration/sources/legacy-source.ts';
import { freshStoreUrl } from '../support/engine.ts';

const root = join(import.meta.dirname, '..', '..');
const catalog = catalogIndex(builtInCatalog);

test('a dry run reads a whole country, checks its plans and counts what would load and what would be quarantined, writing nothing', async () => {
  const url = await freshStoreUrl();
  const legacy = await openLegacy(url);
  await seedLegacy(legacy.db, { members: 300, seed: 8, asOf: '2026-11-28', countries: ['US', 'DE'] });
  await legacy.close();
  const source = await openLegacySource(url);
  try {
    const reference = await source.reference();
    const ctx = { catalog, plans: referenceLegacyPlans };
    const adapter = legacyAdapter(source, { ...ctx, ...reference, asOf: '2026-11-28', horizonMonths: 24 });
    const counts = new Map((await source.countries()).map((c) => [c.country, c.members]));
    const us = await dryRunCountry(adapter, 'US', ctx, { pageSize: 40 });
    assert.equal(us.members, counts.get('US'));
    assert.equal(us.ready + us.quarantined, us.members);
    assert.ok(us.ready > us.members * 0.6);
    // The member's aggregate and its history in the horizon both decide: the migration's own reasons.
    assert.ok(Object.keys(us.reasons).some((r) => ['amount-does-not-fit', 'payment-on-void-invoice', 'invoice-does-not-add-up', 'orphan-payment'].includes(r)), JSON.stringify(us.reasons));
    for (const [reason, r] of Object.entries(us.reasons)) {
      assert.ok(r.members > 0 && r.examples.length > 0 && r.examples.length <= 3, reason);
      assert.ok(r.examples.every((e) => e.source.length > 0 && /^A\d+$/.test(e.member)));
    }
    await assert.rejects(dryRunCountry(adapter, 'US', { ...ctx, plans: parsePlanMapping('plans:\n  STRM_STD_M: standard\n', 'yaml') }),
      (err: unknown) => err instanceof InvalidInput && err.field === 'plans' && /STRM_BAS_M/.test(err.message) && /STRM_PRE_M/.test(err.message));
    await assert.rejects(dryRunCountry(adapter, 'FR', ctx), (err: unknown) => err instanceof InvalidInput && err.field === '--country' && /has DE, US/.test(err.message));
  } finally {
    await source.close();
  }
  // The command: one JSON line per country; a database that is not the legacy's named by what it lacks.
  // Checked against the catalog Tally bills with: the one in its store.
  const dbUrl = await freshStoreUrl();
  const tally = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'migrate', ...args], { encoding: 'utf8', env: { ...process.env, TALLY_LOG_LEVEL: 'silent', TALLY_DB_URL: dbUrl } });
  const ok = tally('--source', 'legacy', '--from', url, '--country', 'DE', '--dry-run');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).country, 'DE');
  const notLegacy = tally('--source', 'legacy', '--from', dbUrl, '--country', 'DE', '--dry-run');
  assert.equal(notLegacy.status, 2, notLegacy.stderr);
  assert.match(notLegacy.stderr, /^tally: --from: the database is not the legacy schema: it has no table country, /);
});
