import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Kysely, Selectable } from 'kysely';
import { Temporal } from 'temporal-polyfill';
import { InvalidInput, NotFound } from '../domain/errors.ts';
import { withLocks } from '../jobs/job-lock.ts';
import { insertNew, insertReturningId } from '../store/bulk.ts';
import { loadMember, retryOnConflict, saveMembers, serializedByMember } from '../store/members.ts';
import type { ArchiveFileRow, ForgottenMemberRow, Schema } from '../store/schema.ts';
import { quoteText } from '../troubleshoot/parquet-writer.ts';
import { answeringStates } from './archive-answers.ts';
import { ArchiveFileRejected, fileDigest, runArchive, type ArchiveStores } from './archive-run.ts';
import { archivedTables, classSpecs, type TableSpec } from './data-classes.ts';
import { forgetting, scrubMember, scrubRow, scrubText, type Forgetting } from './forget-scrub.ts';
import { cutoffs, defaultPolicy } from './policy.ts';
import { duckChecksumSql, rowHash } from './row-checksum.ts';

/**
 * `tally archive forget MEMBER --reason TEXT` and POST /v1/admin/members/{id}/forget: the
 * member's email and payment token leave the hot store and the archive; the financial records
 * stay, keyed by member id only. The scrubbing itself is forget-scrub.ts, the same function for
 * hot and archived rows.
 *
 * The order is what makes a kill at any point safe and a re-run finish the job:
 * 1. the archive first, while the member row still holds the values to look for: each
 *    answering file holding rows of the member is rewritten to a new file, that file read back
 *    and its checksum compared with the one computed from the scrubbed rows, and only then the
 *    manifest switched to it (one transaction: new row in the old one's state, old row
 *    `superseded`), and only then the old file deleted. Killed before the switch, the old file
 *    still answers and the next forget rewrites it again; killed after, the old file is a
 *    superseded one, deleted by the next forget;
 * 2. the ledger store's rows of the member (outbox payloads, quarantine reasons, stored
 *    idempotent responses, dead letters);
 * 3. the member store in one transaction: the member row, its audit rows, and the audit row of
 *    the forgetting itself;
 * 4. forgotten_members, last: a member recorded there is forgotten through and through, and a
 *    second forget of it does nothing.
 * Every step finds its work from what is stored, not from what an earlier attempt did: a row or
 * file already scrubbed is left alone.
 *
 * The whole forget holds the archive's lease: an archive run copying the member's hot rows
 * into a file while they are scrubbed would put the personal data back into the archive.
 */

export type ForgetCheckpoint = 'file:written' | 'file:switched' | 'archive:done' | 'hot:ledger';

export interface ForgetOptions {
  memberId: string;
  reason: string;
  /** Who asked on whose word: an operator (`user@host`) or an API key (`name (id)`). */
  by: string;
  /** The archive's root folder: where an archive run left half-way is finished before any file is rewritten. */
  root: string;
  /** ISO instant recorded as the moment of forgetting (default: now). */
  at?: string;
  /** Called at each point a kill is tested at; throwing there is a crash. */
  checkpoint?: (point: ForgetCheckpoint) => void | Promise<void>;
}

export interface ForgetResult {
  memberId: string;
  forgottenAt: string;
  forgottenBy: string;
  reason: string;
  /** Archive files rewritten without the member's personal data (over every attempt of this forget). */
  filesRewritten: number;
  /** Forgotten before: nothing was done this time. */
  alreadyForgotten: boolean;
  /** What this call scrubbed in the hot store (rows changed), and rejected archive files it removed. */
  scrubbed: { member: boolean; auditRows: number; outboxRows: number; quarantineRows: number; idempotencyKeys: number; deadLetters: number; rejectedFilesRemoved: number };
}

type Row = Record<string, unknown>;

/** The tables whose columns hold a person's data (data-classes.ts `personal`), with their specs. */
function personalTables(): { cls: string; table: string; spec: TableSpec; columns: readonly string[] }[] {
  const specs = archivedTables();
  return Object.values(classSpecs).flatMap((cls) => Object.entries(cls.personal ?? {}).map(([table, columns]) => ({ cls: cls.name, table, spec: specs.get(table)!.spec, columns })));
}

const answering: readonly string[] = answeringStates;
const unfinished = ['writing', 'written', 'verified'];
const quoteId = (name: string) => `"${name.replaceAll('"', '""')}"`;
const noteOf = (memberId: string) => `forgotten ${memberId}: `;
// The files live under country=XX/year=YYYY folders: read as written, without DuckDB adding (or overriding) columns from the path.
const asStored = 'hive_partitioning = false';

/** The rewritten file's name: the original's with the id of the manifest row it replaces (so a re-run after a kill writes the same name over its leftover). */
export function rewrittenPath(path: string, replacedId: number): string {
  const base = basename(path, '.parquet').replace(/~r\d+$/, '');
  return join(dirname(path), `${base}~r${replacedId}.parquet`);
}

/** The archive's root where no --to names one: TALLY_ARCHIVE_DIR, else var/archive (as `tally archive` has it). */
export function defaultArchiveRoot(): string {
  return resolve(process.env.TALLY_ARCHIVE_DIR || 'var/archive');
}

export class ArchiveRewriteRefused extends Error {
  override name = 'ArchiveRewriteRefused';
}

export async function forgetMember(stores: ArchiveStores, opts: ForgetOptions): Promise<ForgetResult> {
  const reason = opts.reason.trim();
  if (!reason) throw new InvalidInput('reason', 'give the reason the member is forgotten (their request, a ticket)');
  if (reason.length > 500) throw new InvalidInput('reason', `is ${reason.length} characters; at most 500`);
  if (!opts.by.trim() || opts.by.length > 160) throw new InvalidInput('by', 'name who asked, in at most 160 characters', opts.by);
  const owner = `${hostname()}:${process.pid} (forget ${opts.memberId})`;
  return withLocks(stores.ledger, ['archive'], owner, () => forgetHoldingLease(stores, { ...opts, reason }));
}

async function forgetHoldingLease(stores: ArchiveStores, opts: ForgetOptions): Promise<ForgetResult> {
  const { ledger } = stores;
  const id = opts.memberId;
  const scrubbed: ForgetResult['scrubbed'] = { member: false, auditRows: 0, outboxRows: 0, quarantineRows: 0, idempotencyKeys: 0, deadLetters: 0, rejectedFilesRemoved: 0 };
  const done = await ledger.selectFrom('forgotten_members').selectAll().where('member_id', '=', id).executeTakeFirst();
  if (done) return { ...resultOf(done), alreadyForgotten: true, scrubbed };
  const member = await loadMember(stores.member, id);
  if (!member) throw new NotFound('member', `unknown member "${id}"`, id);
  // Forgetting takes the payment token: a member still subscribed would be billed and declined month after month.
  const live = member.subscriptions.filter((s) => s.status !== 'cancelled');
  if (live.length) throw new InvalidInput('member', `"${id}" still has live subscriptions (${live.map((s) => `${s.id} ${s.status}`).join(', ')}): cancel them first, then forget the member`, id);
  const who = forgetting(id, [member.email, member.paymentToken]);

  await finishArchiveRuns(stores, opts.root);
  removeSupersededFiles(await ledger.selectFrom('archive_files').select('path').where('state', '=', 'superseded').execute());
  scrubbed.rejectedFilesRemoved = await scrubArchive(ledger, who, opts);
  await opts.checkpoint?.('archive:done');

  Object.assign(scrubbed, await scrubLedgerRows(ledger, who));
  await opts.checkpoint?.('hot:ledger');

  const filesRewritten = await rewrittenFor(ledger, id);
  const at = opts.at ?? new Date().toISOString();
  Object.assign(scrubbed, await scrubMemberStore(stores.member, who, opts, at, filesRewritten));

  const row: ForgottenMemberRow = { member_id: id, forgotten_at: at, forgotten_by: opts.by, reason: opts.reason, files_rewritten: filesRewritten };
  await insertNew(ledger, 'forgotten_members', [row]);
  const recorded = await ledger.selectFrom('forgotten_members').selectAll().where('member_id', '=', id).executeTakeFirstOrThrow();
  return { ...resultOf(recorded), alreadyForgotten: false, scrubbed };
}

function resultOf(r: ForgottenMemberRow): Omit<ForgetResult, 'alreadyForgotten' | 'scrubbed'> {
  return { memberId: r.member_id, forgottenAt: r.forgotten_at, forgottenBy: r.forgotten_by, reason: r.reason, filesRewritten: Number(r.files_rewritten) };
}

/**
 * A file an archive run left `writing` or `written` would become answering later with the
 * member's rows as they were, and a `verified` batch whose file was superseded would never be
 * settled: so a killed run is finished first, by the run's own code (a run of no class does
 * only that). A batch found corrupt is rejected there and its rows stay hot, where they are
 * scrubbed; each pass gets past one more rejected batch.
 */
async function finishArchiveRuns(stores: ArchiveStores, root: string): Promise<void> {
  const classes = personalTables().map((t) => t.cls);
  const left = async () => (await stores.ledger.selectFrom('archive_files').select('path').where('state', 'in', unfinished).where('class', 'in', classes).execute()).length;
  let before = await left();
  while (before > 0) {
    try {
      // Cut-offs and run id are unused when no class is run: only the manifest's unfinished batches are.
      await runArchive(stores, { cutoffs: cutoffs(defaultPolicy, Temporal.Now.instant()), purgeOnly: new Set(), root, runId: 0, classes: [] });
    } catch (err) {
      if (!(err instanceof ArchiveFileRejected)) throw err;
    }
    const after = await left();
    if (after >= before) throw new Error(`archive files of an interrupted run could not be finished (${after} left); run tally archive run and forget again`);
    before = after;
  }
}

function removeSupersededFiles(files: readonly { path: string }[]): void {
  for (const f of files) if (existsSync(f.path)) rmSync(f.path, { force: true });
}

/**
 * Files rewritten for this member, counted from the manifest so a forget finished by a re-run counts those of every
 * attempt (a superseded row later expired with its batch still carries the note).
 */
async function rewrittenFor(ledger: Kysely<Schema>, memberId: string): Promise<number> {
  const note = noteOf(memberId);
  const rows = await ledger.selectFrom('archive_files').select('error').where('error', 'like', `${note}%`).execute();
  return rows.filter((r) => r.error?.startsWith(note)).length;
}

/** Every answering file of a table with personal columns that holds rows of the member is rewritten; rejected files holding them are removed. */
async function scrubArchive(ledger: Kysely<Schema>, who: Forgetting, opts: ForgetOptions): Promise<number> {
  const tables = personalTables();
  const files = await ledger.selectFrom('archive_files').selectAll().where('class', 'in', tables.map((t) => t.cls)).where('state', 'in', [...answering, 'rejected']).orderBy('id').execute();
  if (!files.length) return 0;
  const instance = await DuckDBInstance.create(':memory:', { memory_limit: '256MB' });
  const duck = await instance.connect();
  let removed = 0;
  try {
    for (const t of tables) {
      const mine = files.filter((f) => f.class === t.cls && f.table_name === t.table && answering.includes(f.state));
      for (const f of mine) if (!existsSync(f.path)) throw new Error(`archive file ${f.path} (manifest ${f.id}, ${f.state}) is missing: the archive cannot be scrubbed`);
      for (let i = 0; i < mine.length; i += 200) {
        const part = mine.slice(i, i + 200);
        const hits = await duck.runAndReadAll(`select filename from read_parquet([${part.map((f) => quoteText(f.path)).join(', ')}], filename = true, ${asStored}) where member_id = $1 group by filename`, [who.memberId]);
        const holding = new Set((hits.getRowObjects() as { filename: string }[]).map((h) => h.filename));
        for (const f of part) if (holding.has(f.path)) await rewriteFile(duck, ledger, f, t.spec, t.columns, who, opts);
      }
      // A rejected file is kept aside for its diagnosis, never read as archive; one holding the member (or unreadable) goes.
      for (const f of files.filter((x) => x.class === t.cls && x.table_name === t.table && x.state === 'rejected')) {
        const aside = `${f.path}.rejected`;
        if (!existsSync(aside)) continue;
        let holds = true;
        try {
          const n = await duck.runAndReadAll(`select count(*)::integer as n from read_parquet(${quoteText(aside)}, ${asStored}) where member_id = $1`, [who.memberId]);
          holds = Number((n.getRowObjects()[0] as { n: number }).n) > 0;
        } catch {
          // Unreadable: it cannot be shown not to hold the member.
        }
        if (holds) {
          rmSync(aside, { force: true });
          removed++;
        }
      }
    }
  } finally {
    duck.closeSync();
    instance.closeSync();
  }
  return removed;
}

/**
 * One file rewritten with the member's rows scrubbed. Only the member's rows pass through
 * JavaScript; DuckDB copies the others from the old file. The checksum the new file must have
 * is the manifest's (the hot rows' when archived) less the member's rows as they were plus the
 * same rows scrubbed: so a byte of the old file gone bad since is refused here too.
 */
async function rewriteFile(duck: DuckDBConnection, ledger: Kysely<Schema>, f: Selectable<ArchiveFileRow>, spec: TableSpec, personal: readonly string[], who: Forgetting, opts: ForgetOptions): Promise<boolean> {
  const names = Object.keys(spec.columns);
  const asText = names.map((n) => `cast(${quoteId(n)} as varchar) as ${quoteId(n)}`).join(', ');
  const source = `read_parquet(${quoteText(f.path)}, ${asStored})`;
  const rows = (await duck.runAndReadAll(`select ${asText} from ${source} where member_id = $1`, [who.memberId])).getRowObjects() as Row[];
  const scrubbed = rows.map((r) => scrubRow(r, personal, who));
  if (scrubbed.every((s, i) => s === rows[i])) return false;

  const [count, sum] = f.checksum.split(':');
  let expectedSum = BigInt(sum!);
  rows.forEach((r, i) => {
    expectedSum += rowHash(scrubbed[i]!, names) - rowHash(r, names);
  });
  const expected = `${count}:${expectedSum}`;

  const target = rewrittenPath(f.path, f.id);
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  await duck.run(`create or replace table scrubbed (${names.map((n) => `${quoteId(n)} varchar`).join(', ')})`);
  const appender = await duck.createAppender('scrubbed');
  for (const r of scrubbed) {
    for (const n of names) {
      const v = r[n];
      if (v === null || v === undefined) appender.appendNull();
      else appender.appendVarchar(String(v));
    }
    appender.endRow();
  }
  appender.closeSync();
  const typed = names.map((n) => `cast(${quoteId(n)} as ${spec.columns[n]}) as ${quoteId(n)}`).join(', ');
  await duck.run(`copy (select ${typed} from (select ${asText} from ${source} where member_id is distinct from ${quoteText(who.memberId)} union all select * from scrubbed))
    to ${quoteText(partial)} (format parquet)`);
  await duck.run('drop table scrubbed');
  renameSync(partial, target);

  const found = String((await duck.runAndReadAll(duckChecksumSql(`read_parquet(${quoteText(target)}, ${asStored})`, names))).getRowObjects()[0]!.checksum);
  if (found !== expected) {
    rmSync(target, { force: true });
    throw new ArchiveRewriteRefused(`${f.path}: the rewritten file reads back as ${found}, not the ${expected} computed from the scrubbed rows; the file is left as it was`);
  }
  await opts.checkpoint?.('file:written');

  const at = new Date().toISOString();
  await ledger.transaction().execute(async (tx) => {
    const { id: replaced, ...kept } = f;
    const newId = await insertReturningId(tx, 'archive_files', {
      ...kept, path: target, bytes: statSync(target).size, checksum: expected, file_digest: fileDigest(target), created_at: at, updated_at: at, error: null,
    });
    const switched = await tx.updateTable('archive_files').set({ state: 'superseded', updated_at: at, error: `${noteOf(who.memberId)}superseded by file ${newId}` })
      .where('id', '=', replaced).where('state', '=', f.state).executeTakeFirst();
    if (Number(switched.numUpdatedRows) !== 1) throw new ArchiveRewriteRefused(`${f.path}: its manifest row changed while it was rewritten; nothing switched`);
  });
  await opts.checkpoint?.('file:switched');
  rmSync(f.path, { force: true });
  return true;
}

/** The member's rows in the ledger store: events it emitted, its quarantine record, and stored answers or dead letters naming it. */
async function scrubLedgerRows(ledger: Kysely<Schema>, who: Forgetting): Promise<Pick<ForgetResult['scrubbed'], 'outboxRows' | 'quarantineRows' | 'idempotencyKeys' | 'deadLetters'>> {
  const id = who.memberId;
  let outboxRows = 0;
  for (const r of await ledger.selectFrom('outbox').select(['id', 'payload']).where('member_id', '=', id).execute()) {
    const payload = scrubText(r.payload, who, true)!;
    if (payload === r.payload) continue;
    await ledger.updateTable('outbox').set({ payload }).where('id', '=', r.id).execute();
    outboxRows++;
  }
  let quarantineRows = 0;
  for (const r of await ledger.selectFrom('migration_quarantine').select(['source', 'source_key', 'reasons']).where('member_id', '=', id).execute()) {
    const reasons = scrubText(r.reasons, who, true)!;
    if (reasons === r.reasons) continue;
    await ledger.updateTable('migration_quarantine').set({ reasons }).where('source', '=', r.source).where('source_key', '=', r.source_key).execute();
    quarantineRows++;
  }
  // Neither table says whose a row is: a row naming the member's id is a candidate (LIKE's `_` only widens the match), and only
  // what is the member's in it is scrubbed (the objects that stand for the member, and the member's values anywhere).
  let idempotencyKeys = 0;
  for (const r of await ledger.selectFrom('idempotency_keys').select(['api_key_id', 'idem_key', 'response']).where('response', 'like', `%${id}%`).execute()) {
    const response = scrubText(r.response, who, false);
    if (response === r.response) continue;
    await ledger.updateTable('idempotency_keys').set({ response }).where('api_key_id', '=', r.api_key_id).where('idem_key', '=', r.idem_key).execute();
    idempotencyKeys++;
  }
  let deadLetters = 0;
  for (const r of await ledger.selectFrom('dead_letters').select(['id', 'message']).where('message', 'like', `%${id}%`).execute()) {
    const message = scrubText(r.message, who, false)!;
    if (message === r.message) continue;
    await ledger.updateTable('dead_letters').set({ message }).where('id', '=', r.id).execute();
    deadLetters++;
  }
  return { outboxRows, quarantineRows, idempotencyKeys, deadLetters };
}

/**
 * The member row and its audit rows in one transaction, with the audit row of the forgetting
 * (which says which personal fields were held, never their values). A writer that changed the
 * member meanwhile fails the version check and the whole step is redone on a fresh read, so an
 * audit row it added is scrubbed too.
 */
async function scrubMemberStore(db: Kysely<Schema>, first: Forgetting, opts: ForgetOptions, at: string, filesRewritten: number): Promise<Pick<ForgetResult['scrubbed'], 'member' | 'auditRows'>> {
  const id = first.memberId;
  return serializedByMember(id, () => retryOnConflict(async () => {
    const member = await loadMember(db, id);
    if (!member) throw new NotFound('member', `unknown member "${id}"`, id);
    const who = forgetting(id, [...first.values, member.email, member.paymentToken]);
    const clean = scrubMember(member);
    const audits = await db.selectFrom('audit_log').select(['id', 'action', 'request', 'before', 'after']).where('member_id', '=', id).orderBy('id').execute();
    const changed = audits.map((a) => [a, scrubRow(a, ['request', 'before', 'after'], who)] as const).filter(([a, s]) => s !== a).map(([, s]) => s);
    const audited = audits.some((a) => a.action === 'forget');
    const held = [member.email !== null && 'email', member.paymentToken !== '' && 'paymentToken'].filter((x): x is string => !!x);
    await db.transaction().execute(async (trx) => {
      if (clean !== member) await saveMembers(trx, [clean]);
      for (const s of changed) await trx.updateTable('audit_log').set({ request: s.request, before: s.before, after: s.after }).where('id', '=', s.id).execute();
      // A re-run after a kill between this step and the record finds the audit row there already.
      if (!audited) {
        await trx.insertInto('audit_log').values({
          at, actor: opts.by, action: 'forget', member_id: id, reason: opts.reason, request: JSON.stringify({ reason: opts.reason }),
          before: JSON.stringify({ personalData: held }), after: JSON.stringify({ personalData: [], filesRewritten }),
        }).execute();
      }
    });
    return { member: clean !== member, auditRows: changed.length };
  }));
}
