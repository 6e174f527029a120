import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { Temporal } from 'temporal-polyfill';
import { runArchive } from '../../src/archive/archive-run.ts';
import { archiveMetrics, archiveStatus } from '../../src/archive/archive-status.ts';
import { classSpecs } from '../../src/archive/data-classes.ts';
import { cutoffs, dataClasses, defaultPolicy } from '../../src/archive/policy.ts';
import { recordRun } from '../../src/jobs/run-record.ts';
import { closeServices, type Services } from '../../src/jobs/services.ts';
import { insertRows } from '../../src/store/bulk.ts';
import { quoteText } from '../../src/troubleshoot/parquet-writer.ts';
import { testApi } from '../support/api.ts';
import { billedForYears } from '../support/archive-history.ts';
import { engineUnderTest, openTestServices } from '../support/engine.ts';

const now = Temporal.Instant.from('2026-11-30T00:00:00Z');
let svc: Services;
const stores = () => ({ ledger: svc.store.db, member: svc.memberStore.db });

before(async () => {
  svc = await openTestServices({}, { split: true });
  await billedForYears(svc, 40);
  const root = mkdtempSync(join(tmpdir(), 'tally-status-'));
  await recordRun(svc.store.db, 'archive', '2026-11-30', async () => {
    const r = await runArchive(stores(), { cutoffs: cutoffs(defaultPolicy, now), purgeOnly: new Set(dataClasses.filter((c) => defaultPolicy[c].purge)), root, runId: 1 });
    return { counts: Object.fromEntries(r.classes.filter((c) => c.archived).map((c) => [`${c.class}.archived`, c.archived])), errors: r.errors };
  });
});
after(async () => closeServices(svc));

const tablesOf = (c: (typeof dataClasses)[number]) => classSpecs[c].units.flatMap((u) => [u.anchor.table, ...(u.children ?? []).map((x) => x.table)]);

/** What the archive holds, read from the files themselves (not the manifest's figures): rows, bytes on disk and files, per class and table. */
async function onDisk(): Promise<Map<string, { rows: number; bytes: number; files: number }>> {
  const files = await svc.store.db.selectFrom('archive_files').select(['class', 'table_name', 'path']).where('state', 'in', ['verified', 'archived']).execute();
  const out = new Map<string, { rows: number; bytes: number; files: number }>();
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  for (const f of files) {
    const n = Number((await duck.runAndReadAll(`select count(*)::integer as n from read_parquet(${quoteText(f.path)})`)).getRowObjects()[0]!.n);
    const t = out.get(`${f.class}/${f.table_name}`) ?? { rows: 0, bytes: 0, files: 0 };
    out.set(`${f.class}/${f.table_name}`, { rows: t.rows + n, bytes: t.bytes + statSync(f.path).size, files: t.files + 1 });
  }
  duck.closeSync();
  instance.closeSync();
  return out;
}

test('status: per class, hot rows by count and archived rows, bytes and files as the files on disk say; the last run as recorded', async () => {
  const s = await archiveStatus(stores(), 'exact');
  const disk = await onDisk();
  for (const c of s.classes) {
    const db = classSpecs[c.class].store === 'member' ? svc.memberStore.db : svc.store.db;
    for (const t of c.tables) {
      // A class filled from a migration's source has nothing hot.
      const fromSource = (classSpecs[c.class] as { fromSource?: boolean }).fromSource === true;
      const hot = fromSource ? 0 : Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(t.table)}`.execute(db)).rows[0]!.n);
      const d = disk.get(`${c.class}/${t.table}`) ?? { rows: 0, bytes: 0, files: 0 };
      assert.deepEqual([t.hotRows, t.archivedRows, t.archivedBytes, t.files], [hot, d.rows, d.bytes, d.files], `${c.class} ${t.table}`);
    }
    assert.deepEqual(c.tables.map((t) => t.table), tablesOf(c.class));
    assert.equal(c.hot.rows, c.tables.reduce((n, t) => n + t.hotRows, 0));
    assert.equal(c.archive.rows, c.tables.reduce((n, t) => n + t.archivedRows, 0));
    assert.equal(c.rejectedFiles, 0);
  }
  // By hand: a day was run and its revenue closed on the 15th of each month from January 2023 to March 2025 (27 days);
  // closed days stay hot 36 months, so on 2026-11-30 the eleven of 2023-01-15 … 2023-11-15 are archived and sixteen hot.
  const days = s.classes.find((c) => c.class === 'revenue-days')!;
  assert.deepEqual([days.hot.rows, days.archive.rows], [16, 11]);
  const invoices = s.classes.find((c) => c.class === 'invoices')!;
  assert.ok(invoices.archive.rows > 0 && invoices.archive.files >= 2 && invoices.hot.rows > 0, JSON.stringify(invoices));
  assert.ok(invoices.hot.bytes! > 0, 'the engine says what the invoice tables take');
  assert.equal(s.classes.find((c) => c.class === 'audit')!.store, 'member');
  assert.deepEqual(s.measured.ledger.rows, 'count(*)');
  assert.match(s.measured.ledger.bytes!, { sqlite: /dbstat/, postgres: /pg_total_relation_size/, mysql: /information_schema/ }[engineUnderTest]);

  const run = await svc.store.db.selectFrom('job_runs').selectAll().where('job', '=', 'archive').executeTakeFirstOrThrow();
  assert.deepEqual(s.lastRun, { id: run.id, businessDate: '2026-11-30', status: 'finished', startedAt: run.started_at, finishedAt: run.finished_at, counts: JSON.parse(run.counts), errors: 0 });
  assert.equal(s.lastRun!.counts['revenue-days.archived'], 11);
});

test('a rejected file and one still being written are counted apart from the answering ones', async () => {
  const { id: _id, ...some } = await svc.store.db.selectFrom('archive_files').selectAll().where('table_name', '=', 'payments').limit(1).executeTakeFirstOrThrow();
  const row = { ...some, batch: 'test-rejected', path: '/nowhere/x.parquet' };
  await insertRows(svc.store.db, 'archive_files', [{ ...row, state: 'rejected' }, { ...row, state: 'written' }]);
  const before = (await archiveStatus(stores())).classes.find((c) => c.class === 'payments')!;
  assert.deepEqual([before.rejectedFiles, before.unfinishedFiles], [1, 1]);
  await svc.store.db.deleteFrom('archive_files').where('batch', '=', 'test-rejected').execute();
  const cleared = (await archiveStatus(stores())).classes.find((c) => c.class === 'payments')!;
  assert.deepEqual([cleared.rejectedFiles, cleared.unfinishedFiles, cleared.archive.files], [0, 0, before.archive.files]);
});

test('the gauges: the same archived figures, hot rows from the engine\'s statistics (exact on SQLite), the last run', async () => {
  const registry = new Registry();
  archiveMetrics(registry, stores(), { cacheMs: 0 });
  const text = await registry.metrics();
  const sample = (name: string, labels = '') => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const s = await archiveStatus(stores(), 'exact');
  for (const c of s.classes) {
    assert.equal(sample('tally_archive_rows', `{class="${c.class}",place="archive"}`), c.archive.rows, c.class);
    assert.equal(sample('tally_archive_bytes', `{class="${c.class}",place="archive"}`), c.archive.bytes, c.class);
    assert.equal(sample('tally_archive_files', `{class="${c.class}"}`), c.archive.files, c.class);
    assert.equal(sample('tally_archive_rejected_files', `{class="${c.class}"}`), 0);
    const hot = sample('tally_archive_rows', `{class="${c.class}",place="hot"}`)!;
    if (engineUnderTest === 'sqlite') assert.equal(hot, c.hot.rows, c.class);
    else assert.ok(Number.isFinite(hot) && hot >= 0, `${c.class}: ${hot}`);
    assert.ok(sample('tally_archive_bytes', `{class="${c.class}",place="hot"}`)! >= 0);
  }
  assert.equal(sample('tally_archive_last_run_timestamp_seconds'), Date.parse(s.lastRun!.finishedAt!) / 1000);
  assert.equal(sample('tally_archive_last_run_success'), 1);
});

test('/metrics of the service carries the archive gauges (an empty store: zeros; a last run at 0, never)', async () => {
  const t = await testApi();
  try {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /^tally_archive_rows\{class="invoices",place="hot"\} 0$/m);
    assert.match(res.body, /^tally_archive_rows\{class="audit",place="archive"\} 0$/m);
    assert.match(res.body, /^tally_archive_rejected_files\{class="invoices"\} 0$/m);
    assert.match(res.body, /^tally_archive_last_run_timestamp_seconds 0$/m);
  } finally {
    await t.close();
  }
});
