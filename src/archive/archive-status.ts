import { sql, type Kysely } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import { engineOf } from '../store/engines.ts';
import type { Schema } from '../store/schema.ts';
import type { ArchiveStores } from './archive-run.ts';
import { classSpecs } from './data-classes.ts';
import { dataClasses, type DataClass } from './policy.ts';

/**
 * `tally archive status` and the archive's gauges on /metrics: per data class, its rows and
 * bytes in the hot store and in the archive, the files the archive refused, and the last run.
 *
 * Archived figures come from the manifest (files `verified` or `archived` answer for their
 * rows), so they cost one grouped read. Hot figures come from the engine: bytes from what it
 * says a table and its indexes take (MariaDB/MySQL information_schema.tables data_length +
 * index_length, PostgreSQL pg_total_relation_size, SQLite the dbstat table where the build has
 * it, else unknown); rows by count(*) for the status command, exact, and for the metrics from
 * the engine's statistics where it keeps them (InnoDB's table_rows, PostgreSQL's n_live_tup),
 * since a scrape must not scan the largest tables every 15 seconds. SQLite keeps no row
 * statistics without ANALYZE, so its metrics count too; they are cached (see archiveMetrics).
 */

export type RowsMeasure = 'exact' | 'estimate';

export interface TableFigures {
  table: string;
  hotRows: number;
  hotBytes: number | null;
  archivedRows: number;
  archivedBytes: number;
  files: number;
}

export interface ClassFigures {
  class: DataClass;
  store: 'ledger' | 'member';
  hot: { rows: number; bytes: number | null };
  archive: { rows: number; bytes: number; files: number };
  /** Files that failed verification: set aside, their rows kept hot. */
  rejectedFiles: number;
  /** Files a run has begun and not yet verified (a run under way, or killed and finished by the next). */
  unfinishedFiles: number;
  tables: TableFigures[];
}

export interface LastRun {
  id: number;
  businessDate: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  counts: Record<string, number>;
  errors: number;
}

export interface ArchiveStatus {
  /** Where the hot figures come from, per store (the two stores may be different engines). */
  measured: Record<'ledger' | 'member', { engine: string; rows: string; bytes: string | null }>;
  classes: ClassFigures[];
  lastRun: LastRun | null;
}

interface HotSizes {
  rows: Map<string, number>;
  bytes: Map<string, number> | null;
  rowsFrom: string;
  bytesFrom: string | null;
}

const exactCount = 'count(*)';

async function countRows(db: Kysely<Schema>, tables: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of tables) out.set(t, Number((await sql<{ n: number | string }>`select count(*) as n from ${sql.table(t)}`.execute(db)).rows[0]!.n));
  return out;
}

/** Rows and bytes of these tables as the engine knows them. */
async function hotSizes(db: Kysely<Schema>, tables: readonly string[], measure: RowsMeasure): Promise<HotSizes> {
  const engine = engineOf(db);
  const list = sql.join(tables.map((t) => sql`${t}`));
  if (engine === 'mysql') {
    const found = (await sql<{ t: string; r: number | string | null; b: number | string | null }>`
      select table_name as t, table_rows as r, data_length + index_length as b from information_schema.tables
      where table_schema = database() and table_name in (${list})`.execute(db)).rows;
    const bytes = new Map(found.map((f) => [f.t, Number(f.b ?? 0)]));
    const bytesFrom = 'information_schema.tables data_length + index_length';
    if (measure === 'exact') return { rows: await countRows(db, tables), bytes, rowsFrom: exactCount, bytesFrom };
    return { rows: new Map(found.map((f) => [f.t, Number(f.r ?? 0)])), bytes, rowsFrom: 'information_schema.tables table_rows (estimate)', bytesFrom };
  }
  if (engine === 'postgres') {
    const found = (await sql<{ t: string; r: number | string | null; b: number | string }>`
      select c.relname as t, s.n_live_tup as r, pg_total_relation_size(c.oid) as b
      from pg_class c join pg_namespace n on n.oid = c.relnamespace left join pg_stat_user_tables s on s.relid = c.oid
      where n.nspname = current_schema() and c.relkind in ('r', 'p') and c.relname in (${list})`.execute(db)).rows;
    const bytes = new Map(found.map((f) => [f.t, Number(f.b)]));
    const bytesFrom = 'pg_total_relation_size (table, indexes, TOAST)';
    if (measure === 'exact') return { rows: await countRows(db, tables), bytes, rowsFrom: exactCount, bytesFrom };
    return { rows: new Map(found.map((f) => [f.t, Number(f.r ?? 0)])), bytes, rowsFrom: 'pg_stat_user_tables n_live_tup (estimate)', bytesFrom };
  }
  const rows = await countRows(db, tables);
  try {
    const found = (await sql<{ t: string; b: number }>`
      select m.tbl_name as t, sum(s.pgsize) as b from dbstat s join sqlite_master m on m.name = s.name
      where s.aggregate = 1 and m.tbl_name in (${list}) group by m.tbl_name`.execute(db)).rows;
    return { rows, bytes: new Map(found.map((f) => [f.t, Number(f.b)])), rowsFrom: exactCount, bytesFrom: 'dbstat (pages of the table and its indexes)' };
  } catch {
    // A SQLite built without SQLITE_ENABLE_DBSTAT_VTAB cannot say what a table takes.
    return { rows, bytes: null, rowsFrom: exactCount, bytesFrom: null };
  }
}

/** A class whose rows come from a migration's source, never from the hot store: nothing of it is hot (its tables' hot rows are another class's). */
const fromSource = (name: DataClass) => (classSpecs[name] as { fromSource?: boolean }).fromSource === true;

/** The tables of each class: its anchors and their children (an invoice's lines), as the manifest names them. */
function classTables(name: DataClass): string[] {
  return classSpecs[name].units.flatMap((u) => [u.anchor.table, ...(u.children ?? []).map((c) => c.table)]);
}

export async function archiveStatus(stores: ArchiveStores, measure: RowsMeasure = 'exact'): Promise<ArchiveStatus> {
  const byStore = { ledger: [] as string[], member: [] as string[] };
  for (const name of dataClasses) if (!fromSource(name)) byStore[classSpecs[name].store].push(...classTables(name));
  const split = stores.member !== stores.ledger;
  const ledgerSizes = await hotSizes(stores.ledger, split ? byStore.ledger : [...byStore.ledger, ...byStore.member], measure);
  const memberSizes = split ? await hotSizes(stores.member, byStore.member, measure) : ledgerSizes;

  const manifest = await stores.ledger.selectFrom('archive_files')
    .select((eb) => ['class', 'table_name', 'state', eb.fn.countAll<number>().as('files'), eb.fn.sum<number>('row_count').as('rows'), eb.fn.sum<number>('bytes').as('bytes')])
    .groupBy(['class', 'table_name', 'state']).execute();
  // By class too: two classes may archive tables of the same name (the hot invoices, a migration source's invoices).
  const files = (cls: DataClass, table: string, states: readonly string[]) => manifest.filter((m) => m.class === cls && m.table_name === table && states.includes(m.state))
    .reduce((a, m) => ({ files: a.files + Number(m.files), rows: a.rows + Number(m.rows ?? 0), bytes: a.bytes + Number(m.bytes ?? 0) }), { files: 0, rows: 0, bytes: 0 });

  const classes = dataClasses.map((name): ClassFigures => {
    const store = classSpecs[name].store;
    const sizes = store === 'member' ? memberSizes : ledgerSizes;
    const tables = classTables(name).map((table): TableFigures => {
      const a = files(name, table, ['verified', 'archived']);
      return {
        table, hotRows: fromSource(name) ? 0 : (sizes.rows.get(table) ?? 0), hotBytes: !sizes.bytes ? null : fromSource(name) ? 0 : (sizes.bytes.get(table) ?? 0),
        archivedRows: a.rows, archivedBytes: a.bytes, files: a.files,
      };
    });
    const sum = (f: (t: TableFigures) => number) => tables.reduce((n, t) => n + f(t), 0);
    return {
      class: name, store,
      hot: { rows: sum((t) => t.hotRows), bytes: sizes.bytes ? sum((t) => t.hotBytes!) : null },
      archive: { rows: sum((t) => t.archivedRows), bytes: sum((t) => t.archivedBytes), files: sum((t) => t.files) },
      rejectedFiles: sum((t) => files(name, t.table, ['rejected']).files),
      unfinishedFiles: sum((t) => files(name, t.table, ['writing', 'written']).files),
      tables,
    };
  });

  const run = await stores.ledger.selectFrom('job_runs').selectAll().where('job', '=', 'archive').orderBy('id', 'desc').limit(1).executeTakeFirst();
  const lastRun: LastRun | null = run ? {
    id: run.id, businessDate: run.business_date, status: run.status, startedAt: run.started_at, finishedAt: run.finished_at,
    counts: JSON.parse(run.counts) as Record<string, number>, errors: (JSON.parse(run.errors) as unknown[]).length,
  } : null;
  const described = (db: Kysely<Schema>, s: HotSizes) => ({ engine: engineOf(db), rows: s.rowsFrom, bytes: s.bytesFrom });
  return { measured: { ledger: described(stores.ledger, ledgerSizes), member: described(stores.member, memberSizes) }, classes, lastRun };
}

/**
 * The archive's gauges, computed when Prometheus scrapes, from row estimates, and kept for
 * `cacheMs` (a minute by default): what they show changes once a day, when the archive runs,
 * and every gauge of one scrape reads the same figures. A store that cannot be read leaves the
 * gauges empty rather than failing the whole scrape.
 */
export function archiveMetrics(registry: Registry, stores: ArchiveStores, opts: { cacheMs?: number } = {}): void {
  const cacheMs = opts.cacheMs ?? 60_000;
  let cached: { at: number; figures: Promise<ArchiveStatus | null> } | undefined;
  const figures = () => {
    if (!cached || Date.now() - cached.at > cacheMs) cached = { at: Date.now(), figures: archiveStatus(stores, 'estimate').catch(() => null) };
    return cached.figures;
  };
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: ArchiveStatus) => void) => new Gauge({
    name, help, labelNames, registers: [registry],
    async collect() {
      const s = await figures();
      this.reset();
      if (s) fill(this, s);
    },
  });
  gauge('tally_archive_rows', 'Rows per data class in the hot store (an estimate on MariaDB and PostgreSQL) and in the archive', ['class', 'place'], (g, s) => {
    for (const c of s.classes) {
      g.set({ class: c.class, place: 'hot' }, c.hot.rows);
      g.set({ class: c.class, place: 'archive' }, c.archive.rows);
    }
  });
  gauge('tally_archive_bytes', 'Bytes per data class in the hot store (tables and indexes, where the engine says) and in the archive (Parquet files)', ['class', 'place'], (g, s) => {
    for (const c of s.classes) {
      if (c.hot.bytes !== null) g.set({ class: c.class, place: 'hot' }, c.hot.bytes);
      g.set({ class: c.class, place: 'archive' }, c.archive.bytes);
    }
  });
  gauge('tally_archive_files', 'Archive files answering for their rows, per data class', ['class'], (g, s) => {
    for (const c of s.classes) g.set({ class: c.class }, c.archive.files);
  });
  gauge('tally_archive_rejected_files', 'Archive files that failed verification (their rows kept hot), per data class', ['class'], (g, s) => {
    for (const c of s.classes) g.set({ class: c.class }, c.rejectedFiles);
  });
  gauge('tally_archive_last_run_timestamp_seconds', 'When the last archive run finished (or started, while it runs); 0: never ran', [], (g, s) => {
    const at = s.lastRun && (s.lastRun.finishedAt ?? s.lastRun.startedAt);
    if (at) g.set(Date.parse(at) / 1000);
  });
  gauge('tally_archive_last_run_success', '1 when the last archive run finished without errors, else 0', [], (g, s) => {
    if (s.lastRun) g.set(s.lastRun.status === 'finished' ? 1 : 0);
  });
}
