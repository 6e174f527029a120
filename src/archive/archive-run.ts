import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { insertReturningId } from '../store/bulk.ts';
import type { Schema } from '../store/schema.ts';
import { engineOf } from '../store/engines.ts';
import { openParquetWriter, quoteText, type ParquetWriter } from '../troubleshoot/parquet-writer.ts';
import { classSpecs, type ChildSpec, type ClassSpec, type TableSpec, type Unit } from './data-classes.ts';
import { dataClasses, type Cutoff, type DataClass } from './policy.ts';
import { duckChecksumSql, duckRowHash, rowHash, RowChecksum, rowText, storeRowHash, textHash } from './row-checksum.ts';
import { StagedFile } from './row-staging.ts';

/**
 * `tally archive run`: every class the policy archives has its rows past the hot window copied
 * into Parquet files, each file read back and checked against the hot rows, and only then are
 * the hot rows deleted; purge-only classes are deleted in bounded batches; archived files past
 * their keep date are dropped.
 *
 * The manifest (archive_files) is what makes a kill at any moment safe: a file is entered as
 * `writing` before a byte is written, becomes `written` with the checksum of the hot rows it was
 * given, `verified` once the file read back gives the same checksum, and `archived` once its
 * hot rows are gone. A run first finishes what an earlier one left: a `writing` file is removed
 * (its rows are all still hot), a `written` one verified, a `verified` one's rows deleted. So a
 * row is always hot or in a verified file, and answers (see archive-answers.ts) take the hot row
 * over the archived one while both exist.
 */

export interface ArchiveStores {
  /** The ledger store: invoices, payments, journal, outbox, job records, and the manifest. */
  ledger: Kysely<Schema>;
  /** The member store: members and the audit log (the ledger store unless split). */
  member: Kysely<Schema>;
}

export type Checkpoint = 'write:page' | 'write:done' | 'verify:done' | 'delete:chunk' | 'purge:chunk';

export interface RunOptions {
  cutoffs: Record<DataClass, Cutoff>;
  purgeOnly: ReadonlySet<DataClass>;
  /** The archive's root folder (absolute). */
  root: string;
  runId: number;
  dryRun?: boolean;
  classes?: readonly DataClass[];
  /** Anchor rows read per page (default 5000). */
  pageSize?: number;
  /** Rows in one file before the next is begun (default 200,000). */
  fileRows?: number;
  /**
   * Anchor rows staged over all of a unit's open files (every partition) before they are all
   * written, verified and their hot rows deleted (default 250,000): what a pass of deletes holds,
   * and how far the reading runs ahead of the deletes.
   */
  stagedRows?: number;
  /** Rows deleted per transaction (default 2000): short transactions, no long locks. */
  deleteBatch?: number;
  /**
   * Delete transactions run side by side, each on its own part of the keys (default 2): a
   * transaction waits on the store most of its time, and the next can be at work meanwhile.
   */
  deleteStreams?: number;
  /** Called at each point a kill is tested at; throwing there is a crash. */
  checkpoint?: (point: Checkpoint) => void | Promise<void>;
  progress?: (done: number) => void;
}

export interface ClassResult {
  class: DataClass;
  /** Rows (every table of the class) moved into verified files and out of the hot store. */
  archived: number;
  purged: number;
  files: number;
  bytes: number;
  /** Rows kept hot because they changed or reopened after their file was written. */
  keptHot: number;
  rejectedFiles: number;
  expiredFiles: number;
  /** Dry run: rows and their size as text that would move. */
  wouldMove?: number;
  wouldMoveBytes?: number;
}

export interface RunResult {
  classes: ClassResult[];
  errors: { item: string; message: string }[];
}

type Row = Record<string, unknown>;

const now = () => new Date().toISOString();

function keyMatch(key: readonly string[], rows: readonly Row[]): RawBuilder<unknown> {
  if (key.length === 1) return sql`${sql.ref(key[0]!)} in (${sql.join(rows.map((r) => r[key[0]!]))})`;
  if (key.length === 2) {
    // Grouped by the first column (a member's invoice numbers, a consumer's events): one range per group, where
    // a list of pairs costs MariaDB a range per pair to plan.
    const [first, second] = key as [string, string];
    const groups = new Map<unknown, unknown[]>();
    for (const r of rows) (groups.get(r[first]) ?? groups.set(r[first], []).get(r[first])!).push(r[second]);
    return sql`(${sql.join([...groups].map(([v, seconds]) => sql`(${sql.ref(first)} = ${v} and ${sql.ref(second)} in (${sql.join(seconds)}))`), sql` or `)})`;
  }
  const tuple = sql`(${sql.join(key.map((k) => sql.ref(k)))})`;
  return sql`${tuple} in (${sql.join(rows.map((r) => sql`(${sql.join(key.map((k) => r[k]))})`))})`;
}

function keyAfter(key: readonly string[], last: Row): RawBuilder<unknown> {
  const tuple = key.length === 1 ? sql.ref(key[0]!) : sql`(${sql.join(key.map((k) => sql.ref(k)))})`;
  const value = key.length === 1 ? sql`${last[key[0]!]}` : sql`(${sql.join(key.map((k) => last[k]))})`;
  return sql`${tuple} > ${value}`;
}

const keyText = (key: readonly string[], row: Row) => key.map((k) => String(row[k])).join('\x1f');

function cutText(unit: Unit, cut: Cutoff): string {
  // A date column compares with the cut-off's day: the whole day before it is past.
  return unit.dateKind === 'date' ? cut.hotBefore.slice(0, 10) : cut.hotBefore;
}

/** The anchor rows of a unit that may leave the hot store, a keyset page at a time. */
async function eligiblePage(db: Kysely<Schema>, unit: Unit, cut: Cutoff, after: Row | undefined, limit: number): Promise<Row[]> {
  const { anchor } = unit;
  const where = [sql`${sql.ref(`a.${unit.date}`)} < ${cutText(unit, cut)}`, sql`${sql.ref(`a.${unit.date}`)} is not null`];
  if (unit.settled) where.push(sql.raw(`(${unit.settled})`));
  if (after) where.push(keyAfter(anchor.key.map((k) => `a.${k}`), Object.fromEntries(anchor.key.map((k) => [`a.${k}`, after[k]]))));
  const result = await sql<Row>`select ${sql.join(Object.keys(anchor.columns).map((c) => sql.ref(`a.${c}`)))} from ${sql.table(anchor.table)} as a
    where ${sql.join(where, sql` and `)} order by ${sql.join(anchor.key.map((k) => sql.ref(`a.${k}`)))} limit ${limit}`.execute(db);
  return result.rows;
}

async function childRows(db: Kysely<Schema>, child: ChildSpec, parents: readonly Row[]): Promise<Row[]> {
  if (!parents.length) return [];
  const [childCol, parentCol] = child.link;
  const result = await sql<Row>`select ${sql.join(Object.keys(child.columns).map((c) => sql.ref(c)))} from ${sql.table(child.table)}
    where ${sql.ref(childCol)} in (${sql.join(parents.map((p) => p[parentCol]))})`.execute(db);
  return result.rows;
}

async function countriesOf(member: Kysely<Schema>, rows: readonly Row[]): Promise<Map<string, string>> {
  const ids = [...new Set(rows.map((r) => String(r.member_id)))];
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 1000) {
    const found = await member.selectFrom('members').select(['id', 'country']).where('id', 'in', ids.slice(i, i + 1000)).execute();
    for (const f of found) out.set(f.id, f.country);
  }
  return out;
}

/** One file being written: its table, manifest row, Parquet staging and the checksum of the hot rows given to it. */
interface OpenFile {
  spec: TableSpec;
  id: number;
  path: string;
  table: StagedFile;
  sum: RowChecksum;
  minDate?: string;
  maxDate?: string;
  dateColumn?: string;
}

/** The files of one partition (country, year) written together: the anchor's and its children's. */
export interface OpenBatch {
  name: string;
  files: OpenFile[];
  anchorRows: number;
}

export class ClassRun {
  private batches = new Map<string, OpenBatch>();
  private seq = 0;
  /** The delete of the last verified batches, running while the next are written and verified (see finishBatches). */
  private deleting: Promise<void> = Promise.resolve();
  readonly result: ClassResult;

  constructor(
    private readonly cls: ClassSpec,
    private readonly db: Kysely<Schema>,
    private readonly stores: ArchiveStores,
    private readonly writer: ParquetWriter | undefined,
    private readonly opts: RunOptions,
  ) {
    this.result = newClassResult(cls.name);
  }

  async openFile(batch: string, cls: DataClass, spec: TableSpec, country: string, year: number, dateColumn?: string): Promise<OpenFile> {
    const rel = join(cls, spec.table, `country=${country}`, `year=${year}`, `${batch}.parquet`);
    const path = join(this.opts.root, rel);
    mkdirSync(dirname(path), { recursive: true });
    const at = now();
    const id = await insertReturningId(this.stores.ledger, 'archive_files', {
      batch, class: cls, table_name: spec.table, country, year, path, state: 'writing', row_count: 0, bytes: 0, checksum: '', file_digest: '',
      min_date: null, max_date: null, run_id: this.opts.runId, created_at: at, updated_at: at, error: null,
    });
    const table = await StagedFile.open(this.writer!.connection, path, spec.columns);
    return { spec, id, path, table, sum: new RowChecksum(), dateColumn };
  }

  /** Archive (or, dry, measure) every eligible row of the class, batch by batch. */
  async archive(): Promise<void> {
    if (this.cls.fromSource) return;
    try {
      await this.archiveUnits();
    } finally {
      // Never return, failed or not, with a delete still running behind the run.
      await this.settled().catch(() => {});
    }
    await this.settled();
  }

  /** Once the last delete has ended (failing if it failed). */
  settled(): Promise<void> {
    return this.deleting;
  }

  private async archiveUnits(): Promise<void> {
    const cut = this.opts.cutoffs[this.cls.name];
    const pageSize = this.opts.pageSize ?? 5000;
    const fileRows = this.opts.fileRows ?? 200_000;
    const stagedRows = this.opts.stagedRows ?? 250_000;
    for (const unit of this.cls.units) {
      const read = async (after: Row | undefined) => {
        const page = await eligiblePage(this.db, unit, cut, after, pageSize);
        return { page, children: await Promise.all((unit.children ?? []).map((c) => childRows(this.db, c, page))) };
      };
      // The next page and its children are read while this one is hashed and staged: the store works while the run does.
      let next = read(undefined);
      for (;;) {
        const { page, children } = await next;
        if (!page.length) break;
        next = read(page[page.length - 1]);
        // Awaited at the top of the next turn; a failure meanwhile is not an unhandled rejection.
        next.catch(() => {});
        if (this.opts.dryRun) {
          this.measure(unit.anchor, page);
          (unit.children ?? []).forEach((c, i) => this.measure(c, children[i]!));
          this.opts.progress?.(this.result.wouldMove!);
          continue;
        }
        const countries = unit.country === 'member' ? await countriesOf(this.stores.member, page) : undefined;
        const partitionOf = (row: Row) => {
          const country = unit.country === 'none' ? '_' : unit.country === 'member' ? (countries!.get(String(row.member_id)) ?? '_') : String(row[unit.country.column]);
          return { country, year: Number(String(row[unit.date]).slice(0, 4)) };
        };
        // Each child row under its parent's key, once per page: a partition is given only its rows' children.
        const byParent = (unit.children ?? []).map((c, i) => {
          const m = new Map<string, Row[]>();
          for (const r of children[i]!) {
            const k = String(r[c.link[0]]);
            (m.get(k) ?? m.set(k, []).get(k)!).push(r);
          }
          return m;
        });
        const byPartition = new Map<string, Row[]>();
        for (const row of page) {
          const p = partitionOf(row);
          const k = `${p.country}/${p.year}`;
          (byPartition.get(k) ?? byPartition.set(k, []).get(k)!).push(row);
        }
        for (const [k, rows] of byPartition) {
          const [country, year] = [k.split('/')[0]!, Number(k.split('/')[1])];
          let batch = this.batches.get(`${unit.anchor.table}/${k}`);
          if (!batch) {
            batch = await this.openBatch(unit, country, year);
            this.batches.set(`${unit.anchor.table}/${k}`, batch);
          }
          this.appendToBatch(batch, unit, rows, (unit.children ?? []).map((c, i) => rows.flatMap((r) => byParent[i]!.get(String(r[c.link[1]])) ?? [])));
          if (batch.anchorRows >= fileRows) {
            this.batches.delete(`${unit.anchor.table}/${k}`);
            await this.finishBatch(batch, unit);
          }
        }
        await this.opts.checkpoint?.('write:page');
        // Every partition's rows lie spread over the whole key order, so without this no file would be finished (and no
        // row deleted) before the last page: the deletes of what has been read so far run while the next pages are read.
        if (this.staged(unit) >= stagedRows) await this.finishBatches(this.takeBatches(unit), unit);
      }
      await this.finishBatches(this.takeBatches(unit), unit);
    }
  }

  /** Anchor rows in the unit's open batches. */
  private staged(unit: Unit): number {
    let n = 0;
    for (const [k, batch] of this.batches) if (k.startsWith(`${unit.anchor.table}/`)) n += batch.anchorRows;
    return n;
  }

  /** The unit's open batches, no longer open. */
  private takeBatches(unit: Unit): OpenBatch[] {
    const taken: OpenBatch[] = [];
    for (const [k, batch] of [...this.batches]) {
      if (!k.startsWith(`${unit.anchor.table}/`)) continue;
      this.batches.delete(k);
      taken.push(batch);
    }
    return taken;
  }

  /**
   * A batch of files for one partition: the unit's anchor table's and each child's. Files opened
   * under one `name` (several partitions) are verified and settled together.
   */
  async openBatch(unit: Unit, country: string, year: number, name = `${this.opts.runId}-${unit.anchor.table}-${country}-${year}-${++this.seq}`): Promise<OpenBatch> {
    const files = [await this.openFile(name, this.cls.name, unit.anchor, country, year, unit.date)];
    for (const c of unit.children ?? []) files.push(await this.openFile(name, this.cls.name, c, country, year));
    return { name, files, anchorRows: 0 };
  }

  /** Anchor rows of the batch's partition, and (per child table) candidate child rows: those of these anchors are taken. */
  appendToBatch(batch: OpenBatch, unit: Unit, rows: readonly Row[], children: readonly (readonly Row[])[]): void {
    this.append(batch.files[0]!, rows);
    (unit.children ?? []).forEach((c, i) => {
      const parents = new Set(rows.map((r) => String(r[c.link[1]])));
      this.append(batch.files[i + 1]!, children[i]!.filter((r) => parents.has(String(r[c.link[0]]))));
    });
    batch.anchorRows += rows.length;
  }

  private measure(spec: TableSpec, rows: readonly Row[]): void {
    const names = Object.keys(spec.columns);
    this.result.wouldMove = (this.result.wouldMove ?? 0) + rows.length;
    this.result.wouldMoveBytes = (this.result.wouldMoveBytes ?? 0) + rows.reduce((n, r) => n + Buffer.byteLength(rowText(r, names)) + 1, 0);
  }

  private append(file: OpenFile, rows: readonly Row[]): void {
    if (!rows.length) return;
    const names = Object.keys(file.spec.columns);
    for (const r of rows) {
      // The row's text is both what its checksum is taken of and what is staged for the file.
      const text = rowText(r, names);
      file.sum.add(textHash(text));
      if (file.dateColumn) {
        const d = String(r[file.dateColumn]);
        if (!file.minDate || d < file.minDate) file.minDate = d;
        if (!file.maxDate || d > file.maxDate) file.maxDate = d;
      }
      file.table.append(r, text);
    }
  }

  /** Write the batch's files, then verify them, then delete their hot rows (or, rows from a source, mark them archived): see finishBatches. */
  async finishBatch(batch: OpenBatch, unit: Unit): Promise<void> {
    await this.finishBatches([batch], unit);
  }

  /**
   * Write each batch's files, then verify them; then delete their hot rows (or, rows from a
   * source, mark them archived). Batches verified together (the partitions a unit ends with) have
   * their hot rows deleted in one pass in the store's key order, up to mergedDeleteRows at a time:
   * a partition's rows lie scattered through the table, and one pass per partition would bring
   * every page into the store's buffer once for each partition it holds rows of. A delete runs on
   * while the next batches are written and verified — the store deletes while DuckDB writes and
   * reads back — one at a time: the next begins when the last has ended. `settled()` waits for the last.
   */
  async finishBatches(batches: readonly OpenBatch[], unit: Unit): Promise<void> {
    const ledger = this.stores.ledger;
    let group: VerifiedBatch[] = [];
    let rows = 0;
    for (const batch of batches) {
      for (const f of batch.files) {
        await f.table.finish();
        await ledger.updateTable('archive_files').set({
          state: 'written', row_count: f.sum.count, bytes: statSync(f.path).size, checksum: f.sum.toString(), file_digest: fileDigest(f.path),
          min_date: f.minDate ?? null, max_date: f.maxDate ?? null, updated_at: now(),
        }).where('id', '=', f.id).execute();
      }
      await this.opts.checkpoint?.('write:done');
      const verified = await verifyBatch(this.stores, this.writer!.connection, batch.name, this.opts, this.result, unit);
      if (!verified) continue;
      group.push(verified);
      rows += verified.rows.length;
      if (rows >= mergedDeleteRows) {
        await this.delete(group);
        group = [];
        rows = 0;
      }
    }
    if (group.length) await this.delete(group);
  }

  private async delete(group: VerifiedBatch[]): Promise<void> {
    await this.deleting;
    this.deleting = deleteVerified(this.stores.ledger, group, this.opts, this.result);
    // Awaited by the next delete or at the end of the run; failing meanwhile is not an unhandled rejection.
    this.deleting.catch(() => {});
  }
}

interface ManifestFile {
  id: number;
  batch: string;
  class: string;
  table_name: string;
  path: string;
  state: string;
  checksum: string;
  file_digest: string;
  row_count: number;
  bytes: number;
}

function specOf(cls: ClassSpec, table: string): { unit: Unit; spec: TableSpec; child?: ChildSpec } {
  for (const unit of cls.units) {
    if (unit.anchor.table === table) return { unit, spec: unit.anchor };
    const child = unit.children?.find((c) => c.table === table);
    if (child) return { unit, spec: child, child };
  }
  throw new Error(`no table ${table} in class ${cls.name}`);
}

/** A file that failed verification is set aside (renamed, never read as archive) and its whole batch stays hot. */
function setAside(path: string): void {
  if (existsSync(path)) renameSync(path, `${path}.rejected`);
}

/**
 * Take a batch from wherever it stands to archived: verify every written file against the
 * checksum of the hot rows it was given; if all agree, delete the hot rows chunk by chunk.
 */
async function settleBatch(stores: ArchiveStores, duck: DuckDBConnection, batch: string, opts: RunOptions, result: ClassResult, unit?: Unit): Promise<void> {
  const verified = await verifyBatch(stores, duck, batch, opts, result, unit);
  if (verified) await deleteVerified(stores.ledger, [verified], opts, result);
}

/** A batch whose files are verified: its anchor file's rows as read back, for the delete of their hot rows. */
interface VerifiedBatch {
  files: ManifestFile[];
  unit: Unit;
  db: Kysely<Schema>;
  rows: FileRow[];
}

/** Hot rows of verified batches deleted in one pass (what a pass holds in memory: their keys and hashes). */
const mergedDeleteRows = 1_000_000;

/**
 * Verify every written file of a batch against the checksum of the hot rows it was given (one
 * that disagrees sets the whole batch aside). Returns the batch, ready for its hot rows to be
 * deleted (which needs nothing more of DuckDB); nothing when the batch is not wholly verified,
 * or its rows came from a source (marked here).
 */
async function verifyBatch(stores: ArchiveStores, duck: DuckDBConnection, batch: string, opts: RunOptions, result: ClassResult, unit?: Unit): Promise<VerifiedBatch | undefined> {
  const ledger = stores.ledger;
  const files = (await ledger.selectFrom('archive_files').select(['id', 'batch', 'class', 'table_name', 'path', 'state', 'checksum', 'file_digest', 'row_count', 'bytes'])
    .where('batch', '=', batch).orderBy('id').execute()) as ManifestFile[];
  if (!files.length) return undefined;
  const cls = classSpecs[files[0]!.class as DataClass];
  const batchUnit = unit ?? specOf(cls, files[0]!.table_name).unit;
  const anchorFile = files.find((f) => f.table_name === batchUnit.anchor.table)!;
  // The anchor file's rows as read back to verify it: their keys and row hashes, which the delete compares the hot rows with.
  let anchorRows: FileRow[] | undefined;
  let rejected: string | undefined;
  for (const f of files.filter((x) => x.state === 'written')) {
    const { spec } = specOf(cls, f.table_name);
    let found: string;
    try {
      const digest = fileDigest(f.path);
      if (digest !== f.file_digest) throw new Error(`its bytes changed since it was written (SHA-256 ${digest.slice(0, 12)}…, written ${f.file_digest.slice(0, 12)}…)`);
      if (f === anchorFile && !cls.fromSource) {
        const rows = await fileRows(duck, batchUnit.anchor, f.path);
        let sum = 0n;
        for (const r of rows) sum += r.h;
        found = `${rows.length}:${sum}`;
        anchorRows = rows;
      } else {
        const reader = await duck.runAndReadAll(duckChecksumSql(`read_parquet(${quoteText(f.path)})`, Object.keys(spec.columns)));
        found = String(reader.getRowObjects()[0]!.checksum);
      }
    } catch (err) {
      found = `unreadable: ${(err as Error).message.split('\n')[0]}`;
    }
    if (found !== f.checksum) {
      rejected = `${f.path}: checksum of the file ${found} differs from the hot rows' ${f.checksum}`;
      break;
    }
    await ledger.updateTable('archive_files').set({ state: 'verified', updated_at: now() }).where('id', '=', f.id).execute();
    f.state = 'verified';
  }
  if (rejected) {
    for (const f of files) {
      setAside(f.path);
      await ledger.updateTable('archive_files').set({ state: 'rejected', error: rejected, updated_at: now() }).where('id', '=', f.id).execute();
    }
    result.rejectedFiles += files.length;
    throw new ArchiveFileRejected(rejected);
  }
  await opts.checkpoint?.('verify:done');
  if (files.some((f) => f.state !== 'verified' && f.state !== 'archived')) return undefined;
  if (cls.fromSource) {
    await markFromSource(ledger, duck, files);
    for (const f of files) {
      result.files++;
      result.bytes += Number(f.bytes);
      result.archived += Number(f.row_count);
    }
    return undefined;
  }
  // Verified by an earlier run: read back now, so the delete needs no DuckDB.
  const rows = anchorRows ?? (await fileRows(duck, batchUnit.anchor, anchorFile.path));
  return { files, unit: batchUnit, db: cls.store === 'member' ? stores.member : stores.ledger, rows };
}

/** Delete the hot rows of verified batches (of one unit) in one pass, then mark each batch archived. */
async function deleteVerified(ledger: Kysely<Schema>, batches: readonly VerifiedBatch[], opts: RunOptions, result: ClassResult): Promise<void> {
  const { unit, db } = batches[0]!;
  let rows = batches[0]!.rows;
  if (batches.length > 1) {
    // Each file holds its rows in the order they were read, the key's; merged, the pass walks the table once.
    rows = batches.flatMap((b, i) => b.rows.map((r) => ((r.batch = i), r)));
    const numeric = unit.anchor.key.length === 1 && unit.anchor.columns[unit.anchor.key[0]!] === 'BIGINT';
    rows.sort(numeric ? (a, b) => Number(a.key) - Number(b.key) : (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  // The pass split in consecutive parts, one per stream; a stream that fails stops the others at their next chunk.
  const chunk = opts.deleteBatch ?? 2000;
  const streams = Math.max(1, Math.min(opts.deleteStreams ?? 2, Math.ceil(rows.length / chunk)));
  const per = Math.ceil(rows.length / streams / chunk) * chunk;
  const pass: DeletePass = { failed: false, done: 0 };
  const outcomes = await Promise.allSettled(Array.from({ length: streams }, (_, j) => deleteArchivedRows(db, unit, rows.slice(j * per, (j + 1) * per), batches.length, opts, pass)));
  const failure = outcomes.find((o) => o.status === 'rejected');
  if (failure) throw failure.reason;
  const kept = batches.map((_, i) => outcomes.reduce((n, o) => n + (o.status === 'fulfilled' ? o.value[i]! : 0), 0));
  for (const [i, b] of batches.entries()) {
    for (const f of b.files) {
      await ledger.updateTable('archive_files').set({
        state: 'archived', updated_at: now(), error: kept[i] ? `${kept[i]} row(s) changed or reopened after the file was written: kept hot` : null,
      }).where('id', '=', f.id).execute();
      result.files++;
      result.bytes += Number(f.bytes);
      result.archived += Number(f.row_count);
    }
    result.archived -= kept[i]!;
    result.keptHot += kept[i]!;
  }
}

/**
 * Rows from a migration's source were never hot: once their files are verified, the members
 * they belong to are marked as having their source history archived — in the same transaction
 * as the files become `archived`, so a re-run neither loses them nor archives them twice.
 */
async function markFromSource(ledger: Kysely<Schema>, duck: DuckDBConnection, files: ManifestFile[]): Promise<void> {
  const invoices = files.filter((f) => f.table_name === 'invoices');
  const read = await duck.runAndReadAll(`select member_id, count(*)::integer as n from read_parquet([${invoices.map((f) => quoteText(f.path)).join(', ')}]) group by member_id`);
  const members = read.getRowObjects() as { member_id: string; n: number }[];
  const at = now();
  await ledger.transaction().execute(async (tx) => {
    for (let i = 0; i < members.length; i += 500) {
      const part = members.slice(i, i + 500);
      const held = new Set((await tx.selectFrom('legacy_history_archived').select('member_id').where('member_id', 'in', part.map((m) => m.member_id)).execute()).map((r) => r.member_id));
      const fresh = part.filter((m) => !held.has(m.member_id));
      if (fresh.length) await tx.insertInto('legacy_history_archived').values(fresh.map((m) => ({ member_id: m.member_id, batch: files[0]!.batch, invoices: Number(m.n), archived_at: at }))).execute();
    }
    await tx.updateTable('archive_files').set({ state: 'archived', updated_at: at }).where('batch', '=', files[0]!.batch).execute();
  });
}

export function fileDigest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A row of an anchor file as read back: its key columns, the key as text (keyText), its row hash, and (merged with others) its batch. */
interface FileRow {
  columns: Row;
  key: string;
  h: bigint;
  batch: number;
}

/** Every row of an anchor file, read back: its keys (an integer key as the number it is in the store) and row hash. */
async function fileRows(duck: DuckDBConnection, anchor: TableSpec, path: string): Promise<FileRow[]> {
  const names = Object.keys(anchor.columns);
  const reader = await duck.runAndReadAll(`select ${anchor.key.map((k) => `cast("${k}" as varchar)`).join(', ')}, ${duckRowHash(names)} from read_parquet(${quoteText(path)})`);
  const columns = reader.getColumns();
  const hashes = columns[anchor.key.length]! as bigint[];
  const out: FileRow[] = new Array(hashes.length);
  for (let i = 0; i < hashes.length; i++) {
    const row: Row = {};
    anchor.key.forEach((k, j) => {
      const text = columns[j]![i] as string;
      row[k] = anchor.columns[k] === 'BIGINT' ? Number(text) : text;
    });
    out[i] = { columns: row, key: keyText(anchor.key, row), h: hashes[i]!, batch: 0 };
  }
  return out;
}

/** The columns the delete's read of the hot rows gives each row's "still settled" and (store-computed) row hash in. */
const settledFlag = 'archive_settled__';
const hashColumn = 'archive_row_hash__';

export class ArchiveFileRejected extends Error {
  override name = 'ArchiveFileRejected';
}

/** Streams of one delete pass: whether one has failed (the others stop), and the rows done by all. */
interface DeletePass {
  failed: boolean;
  done: number;
}

/**
 * Delete the hot rows a verified file holds, a chunk per transaction. Each hot row is read again
 * and deleted only if it is still settled and still the row the file holds (same row hash): a row
 * changed since stays hot, and the answers prefer it. Rows already gone (an earlier run deleted
 * them before it was killed) are simply not there. Children and derived rows go with their anchor.
 * Returns, per batch, the rows kept hot.
 */
async function deleteArchivedRows(db: Kysely<Schema>, unit: Unit, inFile: readonly FileRow[], batches: number, opts: RunOptions, pass: DeletePass = { failed: false, done: 0 }): Promise<number[]> {
  const { anchor } = unit;
  const names = Object.keys(anchor.columns);
  const chunk = opts.deleteBatch ?? 2000;
  // The hot rows are read with a lock (SQLite has the one writer): none changes between its comparison and its delete.
  const lock = engineOf(db) === 'sqlite' ? sql`` : sql` for update`;
  const settled = unit.settled ? sql`case when (${sql.raw(unit.settled)}) then 1 else 0 end` : sql`1`;
  // Where the store can hash a row as rowHash does, only the hash and what the deletes need are fetched; else the whole row.
  const storeHash = storeRowHash(engineOf(db), 'a', names);
  const deletedBy = [...new Set([...anchor.key, ...(unit.children ?? []).map((c) => c.link[1]), ...(unit.derived?.columns ?? []).map((c) => c[1])])];
  const fetched = storeHash
    ? sql`${sql.join(deletedBy.map((c) => sql.ref(`a.${c}`)))}, ${storeHash} as ${sql.ref(hashColumn)}`
    : sql.join(names.map((c) => sql.ref(`a.${c}`)));
  const hashOf = storeHash ? (r: Row) => BigInt(`0x${String(r[hashColumn])}`) : (r: Row) => rowHash(r, names);
  // Per batch: hot rows that differ from the file's or are no longer settled.
  const kept = new Array<number>(batches).fill(0);
  for (let i = 0; i < inFile.length && !pass.failed; i += chunk) {
    const part = inFile.slice(i, i + chunk);
    const wanted = new Map(part.map((r) => [r.key, r]));
    try {
      await deleteChunk(part, wanted);
      pass.done += part.length;
      opts.progress?.(pass.done);
      await opts.checkpoint?.('delete:chunk');
    } catch (err) {
      pass.failed = true;
      throw err;
    }
  }
  return kept;

  async function deleteChunk(part: FileRow[], wanted: Map<string, FileRow>): Promise<void> {
    await db.transaction().execute(async (tx) => {
      const match = keyMatch(anchor.key.map((k) => `a.${k}`), part.map((r) => Object.fromEntries(anchor.key.map((k) => [`a.${k}`, r.columns[k]]))));
      // Every hot row of the chunk, with whether it is still settled: one read tells what goes and what stays.
      const hot = (await sql<Row>`select ${fetched}, ${settled} as ${sql.ref(settledFlag)} from ${sql.table(anchor.table)} as a where ${match}${lock}`.execute(tx)).rows;
      const same: Row[] = [];
      for (const r of hot) {
        const inFileRow = wanted.get(keyText(anchor.key, r));
        if (Number(r[settledFlag]) === 1 && inFileRow?.h === hashOf(r)) same.push(r);
        else kept[(inFileRow ?? part[0]!).batch]!++;
      }
      if (!same.length) return;
      for (const child of unit.children ?? []) {
        await sql`delete from ${sql.table(child.table)} where ${sql.ref(child.link[0])} in (${sql.join(same.map((r) => r[child.link[1]]))})`.execute(tx);
      }
      if (unit.derived) {
        const cols = unit.derived.columns;
        await sql`delete from ${sql.table(unit.derived.table)} where ${keyMatch(cols.map((c) => c[0]), same.map((r) => Object.fromEntries(cols.map((c) => [c[0], r[c[1]]]))))}`.execute(tx);
      }
      await sql`delete from ${sql.table(anchor.table)} where ${keyMatch(anchor.key, same)}`.execute(tx);
    });
  }
}

/** A purge-only class: rows past the hot window deleted in bounded batches, each its own short transaction. */
async function purgeClass(db: Kysely<Schema>, cls: ClassSpec, opts: RunOptions, result: ClassResult): Promise<void> {
  const cut = opts.cutoffs[cls.name];
  const chunk = opts.deleteBatch ?? 2000;
  for (const unit of cls.units) {
    let after: Row | undefined;
    for (;;) {
      const page = await eligiblePage(db, unit, cut, after, chunk);
      if (!page.length) break;
      after = page[page.length - 1];
      if (opts.dryRun) {
        const names = Object.keys(unit.anchor.columns);
        result.wouldMove = (result.wouldMove ?? 0) + page.length;
        result.wouldMoveBytes = (result.wouldMoveBytes ?? 0) + page.reduce((n, r) => n + Buffer.byteLength(rowText(r, names)) + 1, 0);
        continue;
      }
      const gone = await db.deleteFrom(unit.anchor.table as 'outbox').where(() => keyMatch(unit.anchor.key, page) as never).executeTakeFirst();
      result.purged += Number(gone.numDeletedRows);
      opts.progress?.(result.purged);
      await opts.checkpoint?.('purge:chunk');
    }
  }
}

/** Archived files wholly past the class's keep date are deleted; the manifest keeps their record as `expired`. */
async function expireFiles(ledger: Kysely<Schema>, cls: ClassSpec, cut: Cutoff, result: ClassResult, dryRun: boolean): Promise<void> {
  if (!cut.keepBefore) return;
  const keepBefore = cut.keepBefore.slice(0, 10);
  const old = await ledger.selectFrom('archive_files').select('batch').where('class', '=', cls.name).where('state', '=', 'archived')
    .where('max_date', '<', keepBefore).execute();
  // A child file (lines) carries no dates: it leaves with its batch's anchor file.
  for (const { batch: name } of old) {
    const batch = await ledger.selectFrom('archive_files').select(['id', 'path']).where('batch', '=', name).execute();
    result.expiredFiles += batch.length;
    if (dryRun) continue;
    for (const b of batch) {
      rmSync(b.path, { force: true });
      await ledger.updateTable('archive_files').set({ state: 'expired', updated_at: now() }).where('id', '=', b.id).execute();
    }
  }
}

/** What a killed run left: partial files removed, written files verified, verified files' hot rows deleted. */
export async function finishUnsettled(stores: ArchiveStores, duck: DuckDBConnection, opts: RunOptions, results: Map<DataClass, ClassResult>): Promise<void> {
  const ledger = stores.ledger;
  const unfinished = await ledger.selectFrom('archive_files').select(['id', 'batch', 'class', 'path', 'state']).where('state', 'in', ['writing', 'written', 'verified']).orderBy('id').execute();
  const writing = new Set(unfinished.filter((f) => f.state === 'writing').map((f) => f.batch));
  for (const f of unfinished.filter((x) => writing.has(x.batch))) {
    // A batch still being written when the run died: every row of it is still hot, so the files go.
    rmSync(f.path, { force: true });
    rmSync(`${f.path}.partial`, { force: true });
    await ledger.deleteFrom('archive_files').where('id', '=', f.id).execute();
  }
  for (const batch of [...new Set(unfinished.filter((f) => !writing.has(f.batch)).map((f) => f.batch))]) {
    const cls = unfinished.find((f) => f.batch === batch)!.class as DataClass;
    await settleBatch(stores, duck, batch, opts, results.get(cls)!);
  }
}

/** Staging folders of runs that were killed (the Parquet writer's scratch space). */
export function removeScratch(root: string): void {
  if (!existsSync(root)) return;
  for (const entry of readdirSync(root)) if (entry.startsWith('.export-')) rmSync(join(root, entry), { recursive: true, force: true });
}

export function newClassResult(name: DataClass): ClassResult {
  return { class: name, archived: 0, purged: 0, files: 0, bytes: 0, keptHot: 0, rejectedFiles: 0, expiredFiles: 0 };
}

export async function runArchive(stores: ArchiveStores, opts: RunOptions): Promise<RunResult> {
  const selected = opts.classes ?? dataClasses;
  const results = new Map<DataClass, ClassResult>(dataClasses.map((c) => [c, newClassResult(c)]));
  const errors: RunResult['errors'] = [];
  let writer: ParquetWriter | undefined;
  if (!opts.dryRun) {
    mkdirSync(opts.root, { recursive: true });
    removeScratch(opts.root);
    writer = await openParquetWriter(opts.root);
  }
  try {
    if (writer) await finishUnsettled(stores, writer.connection, opts, results);
    for (const name of selected) {
      const cls = classSpecs[name];
      const db = cls.store === 'member' ? stores.member : stores.ledger;
      const run = new ClassRun(cls, db, stores, writer, opts);
      Object.assign(run.result, results.get(name));
      try {
        if (opts.purgeOnly.has(name)) await purgeClass(db, cls, opts, run.result);
        else {
          await run.archive();
          await expireFiles(stores.ledger, cls, opts.cutoffs[name], run.result, !!opts.dryRun);
        }
      } catch (err) {
        if (!(err instanceof ArchiveFileRejected)) throw err;
        errors.push({ item: name, message: err.message });
      }
      results.set(name, run.result);
    }
  } finally {
    writer?.close();
  }
  return { classes: selected.map((c) => results.get(c)!), errors };
}

/** The manifest's path of a file, relative to the archive root when it lies inside it (for reports). */
export function shownPath(root: string, path: string): string {
  const rel = relative(root, path);
  return rel.startsWith('..') ? path : rel;
}
