import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import { sql } from 'kysely';
import { archivedTables } from '../../src/archive/data-classes.ts';
import { defaultPolicy } from '../../src/archive/policy.ts';
import { duckRowHash, rowHash } from '../../src/archive/row-checksum.ts';
import type { Services } from '../../src/jobs/services.ts';
import { quoteText } from '../../src/troubleshoot/parquet-writer.ts';

type Stores = Pick<Services, 'store' | 'memberStore'>;
/** table → primary key text → row hash */
export type Rows = Map<string, Map<string, string>>;

const keyText = (key: readonly string[], row: Record<string, unknown>) => key.map((k) => String(row[k])).join('|');

/** The tables of the classes the default policy archives (not those it only purges). */
const archived = () => [...archivedTables()].filter(([, { cls }]) => !defaultPolicy[cls.name].purge);

/** Every row of every table the archive holds, as it is in the hot store. */
export async function hotRows(svc: Stores): Promise<Rows> {
  const out: Rows = new Map();
  for (const [table, { cls, spec }] of archived()) {
    const db = cls.store === 'member' ? svc.memberStore.db : svc.store.db;
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db)).rows;
    const names = Object.keys(spec.columns);
    out.set(table, new Map(rows.map((r) => [keyText(spec.key, r), String(rowHash(r, names))])));
  }
  return out;
}

/** Every row the archive answers for (files verified or archived), by table; a key in two files fails here. */
export async function archiveRows(svc: Stores): Promise<Rows> {
  const files = await svc.store.db.selectFrom('archive_files').select(['table_name', 'path']).where('state', 'in', ['verified', 'archived']).execute();
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  const out: Rows = new Map();
  try {
    for (const [table, { spec }] of archived()) {
      const paths = files.filter((f) => f.table_name === table).map((f) => quoteText(f.path));
      const rows = new Map<string, string>();
      out.set(table, rows);
      if (!paths.length) continue;
      const keySql = spec.key.map((k) => `cast("${k}" as varchar)`).join(` || '|' || `);
      const read = await duck.runAndReadAll(`select ${keySql} as k, ${duckRowHash(Object.keys(spec.columns))}::varchar as h from read_parquet([${paths.join(', ')}])`);
      for (const r of read.getRowObjects() as { k: string; h: string }[]) {
        assert.ok(!rows.has(r.k), `${table} ${r.k} is in two archive files`);
        rows.set(r.k, r.h);
      }
    }
  } finally {
    duck.closeSync();
    instance.closeSync();
  }
  return out;
}

/**
 * Every row that was there before is now in exactly one place — the hot store or the archive —
 * with exactly its content, once no file is half-way (every answering file archived).
 */
export async function assertEachRowOnce(svc: Stores, before: Rows, opts: { growing?: readonly string[] } = {}): Promise<{ hot: number; archived: number }> {
  const [hot, archived] = [await hotRows(svc), await archiveRows(svc)];
  const pending = await svc.store.db.selectFrom('archive_files').select('path').where('state', 'in', ['writing', 'written', 'verified']).execute();
  assert.deepEqual(pending, [], 'no file is left half-way');
  let [h, a] = [0, 0];
  for (const [table, rows] of before) {
    const hotNow = hot.get(table)!;
    const archivedNow = archived.get(table)!;
    for (const [key, hash] of rows) {
      const places = [hotNow.get(key), archivedNow.get(key)].filter((x) => x !== undefined);
      assert.deepEqual(places, [hash], `${table} ${key}: in ${places.length} place(s) with the same content`);
    }
    // A table the run itself writes to (job_runs: the archive run is recorded) may gain rows.
    if (!opts.growing?.includes(table)) for (const key of [...hotNow.keys(), ...archivedNow.keys()]) assert.ok(rows.has(key), `${table} ${key} appeared from nowhere`);
    h += hotNow.size;
    a += archivedNow.size;
  }
  return { hot: h, archived: a };
}

/** The journal's totals per currency: hot and archived together must never change. */
export async function journalTotals(svc: Stores): Promise<Record<string, { debit: number; credit: number }>> {
  const out: Record<string, { debit: number; credit: number }> = {};
  const add = (currency: string, debit: number, credit: number) => {
    const t = (out[currency] ??= { debit: 0, credit: 0 });
    t.debit += debit;
    t.credit += credit;
  };
  for (const r of await svc.store.db.selectFrom('journal').select(['currency', 'debit', 'credit']).execute()) add(r.currency, Number(r.debit), Number(r.credit));
  const files = await svc.store.db.selectFrom('archive_files').select('path').where('table_name', '=', 'journal').where('state', '=', 'archived').execute();
  if (files.length) {
    const instance = await DuckDBInstance.create(':memory:');
    const duck = await instance.connect();
    const read = await duck.runAndReadAll(`select currency, sum(debit)::varchar as d, sum(credit)::varchar as c from read_parquet([${files.map((f) => quoteText(f.path)).join(', ')}]) group by currency`);
    for (const r of read.getRowObjects() as { currency: string; d: string; c: string }[]) add(r.currency, Number(r.d), Number(r.c));
    duck.closeSync();
    instance.closeSync();
  }
  return out;
}
