import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { archiveSourceHistory } from '../../src/archive/source-history.ts';
import { closeServices, type Services } from '../../src/jobs/services.ts';
import { migrateCountry } from '../../src/migration/migrate-country.ts';
import { referenceLegacyPlans } from '../../src/migration/plan-mapping.ts';
import { legacyAdapter } from '../../src/migration/sources/legacy-adapter.ts';
import { openLegacySource, type LegacySource } from '../../src/migration/sources/legacy-source.ts';
import { quoteText } from '../../src/troubleshoot/parquet-writer.ts';
import { archiveRows } from '../support/archive-checks.ts';
import { engineUnderTest, openTestServices } from '../support/engine.ts';
import { seededLegacy } from '../support/legacy-seed.ts';

const asOf = '2026-11-28';
let svc: Services;
let source: LegacySource;
let leftOut: number;
const root = mkdtempSync(join(tmpdir(), 'tally-legacy-history-'));

before(async () => {
  svc = await openTestServices();
  source = await openLegacySource(await seededLegacy(engineUnderTest === 'sqlite' ? 160 : 60, ['DE'], 11, asOf, { warts: false }));
  const adapter = legacyAdapter(source, { catalog: svc.billing.catalog, plans: referenceLegacyPlans, ...(await source.reference()), asOf, horizonMonths: 24 });
  await migrateCountry(svc, adapter, { country: 'DE', asOf, mode: 'load', options: { asOf, horizonMonths: 24 }, pageSize: 100 });
  const r = await svc.store.db.selectFrom('migrated_members').select((eb) => eb.fn.sum<number>('invoices_left_out').as('n')).executeTakeFirstOrThrow();
  leftOut = Number(r.n);
});
after(async () => {
  await source.close();
  await closeServices(svc);
});

/** The adapter `tally archive legacy` uses: a horizon that keeps every invoice. */
async function everything() {
  return legacyAdapter(source, { catalog: svc.billing.catalog, plans: referenceLegacyPlans, ...(await source.reference()), asOf, horizonMonths: 1200 });
}
const stores = () => ({ ledger: svc.store.db, member: svc.memberStore.db });

test('the history the migration left in the legacy goes to the archive once, numbered as the migration numbered it; a killed run is finished by the next', async () => {
  assert.ok(leftOut > 50, `the seed leaves history before the horizon (${leftOut} invoices)`);
  const adapter = await everything();
  let seen = 0;
  await assert.rejects(archiveSourceHistory(stores(), adapter, { country: 'DE', root, runId: 1, pageSize: 15, checkpoint: (p) => { if (p === 'verify:done' && ++seen === 2) throw new Error('killed'); } }), /killed/);
  const first = await archiveSourceHistory(stores(), adapter, { country: 'DE', root, runId: 2, pageSize: 40 });
  assert.deepEqual(first.changedSinceMigration, []);
  const archived = await archiveRows(svc);
  assert.equal(archived.get('invoices')!.size, leftOut, 'every invoice left out, once');

  // Per member: hot and archived invoice numbers together are 1..n, none twice.
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  const files = await svc.store.db.selectFrom('archive_files').select('path').where('class', '=', 'legacy-history').where('table_name', '=', 'invoices').where('state', '=', 'archived').execute();
  const read = await duck.runAndReadAll(`select member_id, list(number order by number) as numbers, min(issued_on) as first, max(issued_on) as last, count(*) filter (where status in ('open', 'past_due', 'uncollectible')) as open
    from read_parquet([${files.map((f) => quoteText(f.path)).join(', ')}]) group by member_id`);
  const archivedOf = new Map((read.getRowObjects() as { member_id: string; numbers: unknown; last: string; open: bigint }[]).map((r) => [r.member_id, r]));
  duck.closeSync();
  instance.closeSync();
  const hot = await svc.store.db.selectFrom('invoices').select(['member_id', 'number', 'issued_on']).execute();
  const counts = await svc.store.db.selectFrom('migrated_members').select(['member_id', 'invoices_left_out']).execute();
  for (const { member_id: id, invoices_left_out: n } of counts) {
    const a = archivedOf.get(id);
    const numbers = [...(a ? (a.numbers as { items: number[] }).items ?? (a.numbers as number[]) : []).map(Number), ...hot.filter((h) => h.member_id === id).map((h) => Number(h.number))].sort((x, y) => x - y);
    assert.deepEqual(numbers, numbers.map((_, i) => i + 1), `member ${id}: numbers 1..n`);
    assert.equal(a ? (a.numbers as { items: number[] }).items?.length ?? (a.numbers as number[]).length : 0, Number(n));
    if (a) {
      assert.ok(a.last < '2024-11-28', 'only invoices before the horizon');
      assert.equal(Number(a.open), 0, 'no invoice an open process needs');
    }
  }

  const again = await archiveSourceHistory(stores(), adapter, { country: 'DE', root, runId: 3, pageSize: 40 });
  assert.equal(again.members, 0);
  assert.equal((await archiveRows(svc)).get('invoices')!.size, leftOut);
  assert.ok((await archiveRows(svc)).get('payments')!.size > 0, 'their payments came along');
});
