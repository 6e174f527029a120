import type { Kysely } from 'kysely';
import { addDays, type IsoDate } from '../domain/calendar.ts';
import type { Services } from '../jobs/services.ts';
import { insertReturningId } from '../store/bulk.ts';
import type { Schema } from '../store/schema.ts';
import { changedSinceMigration, clearMembers } from './clear.ts';
import { loadPage, noCounts, type LoadContext, type LoadCounts, type TransformOutcome } from './load.ts';
import type { MigrationSource } from './source.ts';

/** A source with what the shared extract-transform-load needs to know of its members. */
export interface SourceAdapter<M> {
  source: MigrationSource<M>;
  /** Who a source member is, and the latest change time among its rows (its high-water mark), without transforming it. */
  identify(m: M): { sourceKey: string; memberId: string; mark: string };
  /** The pure transform: Tally's member and history, or the reasons it cannot be carried over. */
  transform(m: M): TransformOutcome;
  /** The extract's history horizon (see PageOptions), with the margin the transform needs. */
  historySince?: string;
}

export type MigrateMode = 'load' | 'since-last' | 'resume' | 'members';

export interface MigrateOptions {
  country: string;
  asOf: IsoDate;
  mode: MigrateMode;
  /** Recorded with the run, as the operator gave them. */
  options: Record<string, unknown>;
  pageSize?: number;
  onProgress?: (done: number) => void;
  /** Mode `members`: only these member ids (a compare report's). */
  members?: string[];
}

export interface CountryMigration {
  country: string;
  /** Mode `members`: members the source no longer has (in this country), removed from Tally with what the migration wrote for them. */
  removed?: number;
  runId: number;
  mode: MigrateMode;
  status: string;
  /** The cursor a resumed run started after (null: from the first member). */
  resumedAfter: string | null;
  counts: LoadCounts;
  seconds: number;
}

/**
 * Migrate one country: its members read a keyset page at a time (one page in memory),
 * each transformed by the source's pure function and loaded page by page (see load.ts).
 * The run is recorded, and its cursor and counts committed with each page, so a run killed
 * at any moment is seen as interrupted by the next and `resume` continues after the last
 * committed page; a plain re-run goes over every member again and writes only what
 * changed, to the same end state. `since-last` skips, before transforming them, members
 * whose source rows have not changed since they were loaded (their high-water mark).
 *
 * The caller holds the country's migration lease: no other run of it is going on.
 */
export async function migrateCountry<M>(svc: Services, adapter: SourceAdapter<M>, opts: MigrateOptions): Promise<CountryMigration> {
  const started = Date.now();
  const { db } = svc.store;
  const source = adapter.source.name;
  const last = await db.selectFrom('migration_runs').selectAll().where('source', '=', source).where('country', '=', opts.country).where('mode', '!=', 'clear').orderBy('id', 'desc').limit(1).executeTakeFirst();
  await db.updateTable('migration_runs').set({ status: 'interrupted' }).where('country', '=', opts.country).where('status', '=', 'running').execute();
  const resumedAfter = opts.mode === 'resume' && last && last.status !== 'finished' && last.status !== 'finished_with_errors' ? last.cursor : null;
  const runId = await insertReturningId(db, 'migration_runs', {
    source, country: opts.country, mode: opts.mode, status: 'running', started_at: new Date().toISOString(), finished_at: null,
    cursor: resumedAfter, options: JSON.stringify(opts.options), counts: '{}', errors: '[]',
  });
  const counts = noCounts();
  const ctx = { source, country: opts.country, runId, asOf: opts.asOf };
  let cursor = resumedAfter;
  try {
    if (opts.mode === 'members') {
      const removed = await migrateMembers(svc, adapter, ctx, opts.members ?? [], opts.pageSize ?? 1000, counts, opts.onProgress);
      await db.updateTable('migration_runs').set({ status: 'finished', finished_at: new Date().toISOString(), counts: JSON.stringify({ ...counts, removed }) }).where('id', '=', runId).execute();
      return { country: opts.country, runId, mode: opts.mode, status: 'finished', resumedAfter: null, counts, removed, seconds: (Date.now() - started) / 1000 };
    }
    do {
      const page = opts.mode === 'since-last' && adapter.source.marks
        ? await changedPage(svc, adapter, opts, cursor, counts)
        : await adapter.source.page(opts.country, cursor, opts.pageSize ?? 1000, { historySince: adapter.historySince });
      let members = page.members;
      if (opts.mode === 'since-last' && members.length) {
        const who = members.map((m) => adapter.identify(m));
        const changed = changedSinceLoaded(await loadedMarks(svc.memberStore.db, who.map((w) => w.memberId)), opts.asOf);
        members = members.filter((_, i) => changed(who[i]!));
        counts.members += who.length - members.length;
        counts.unchanged += who.length - members.length;
      }
      const next = page.cursor ?? cursor;
      await loadPage(svc, ctx, members.map((m) => adapter.transform(m)), counts, (trx: Kysely<Schema>) => recordProgress(trx, runId, next, counts));
      cursor = next;
      await new Promise((resolve) => setImmediate(resolve));
      opts.onProgress?.(counts.members);
      if (page.cursor === null) break;
    } while (cursor !== null);
    await db.updateTable('migration_runs').set({ status: 'finished', finished_at: new Date().toISOString(), counts: JSON.stringify(counts) }).where('id', '=', runId).execute();
    return { country: opts.country, runId, mode: opts.mode, status: 'finished', resumedAfter, counts, seconds: (Date.now() - started) / 1000 };
  } catch (err) {
    await db.updateTable('migration_runs').set({
      status: 'failed', finished_at: new Date().toISOString(), counts: JSON.stringify(counts),
      errors: JSON.stringify([{ item: cursor ?? '*', message: err instanceof Error ? err.message : String(err) }]),
    }).where('id', '=', runId).execute().catch(() => undefined);
    throw err;
  }
}

/**
 * Re-migrate just these members (`--members-from REPORT`): each the source still has is read
 * whole and loaded like any other (written only where it changed, never over a member Tally
 * has changed since); one the source no longer has in the country is removed from Tally with
 * what the migration wrote for it (unless Tally changed it: then it is counted, not touched);
 * a quarantine entry of either is settled by the load or dropped.
 */
async function migrateMembers<M>(svc: Services, adapter: SourceAdapter<M>, ctx: LoadContext, ids: string[], pageSize: number, counts: LoadCounts, onProgress?: (done: number) => void): Promise<number> {
  const mdb = svc.memberStore.db;
  let removed = 0;
  for (let i = 0; i < ids.length; i += pageSize) {
    const wanted = ids.slice(i, i + pageSize);
    const found = await adapter.source.members(ctx.country, wanted, { historySince: adapter.historySince });
    await loadPage(svc, ctx, found.map((m) => adapter.transform(m)), counts, async () => {});
    const present = new Set(found.map((m) => adapter.identify(m).memberId));
    const gone = wanted.filter((id) => !present.has(id));
    if (gone.length) {
      const migrated = await mdb.selectFrom('migrated_members').select(['member_id', 'member_version']).where('member_id', 'in', gone)
        .where('source', '=', ctx.source).where('country', '=', ctx.country).execute();
      const touched = await changedSinceMigration(svc, migrated);
      const clear = migrated.map((m) => m.member_id).filter((id) => !touched.has(id));
      counts.changedInTally += touched.size;
      if (clear.length) removed += clear.length;
      if (clear.length) await clearMembers(svc, clear, ctx.runId, ctx.asOf);
      await mdb.deleteFrom('migration_quarantine').where('source', '=', ctx.source).where('country', '=', ctx.country).where('member_id', 'in', gone).execute();
    }
    onProgress?.(Math.min(ids.length, i + pageSize));
  }
  return removed;
}

/**
 * `--since-last` on a source with cheap marks: a page of marks, and only the members whose mark
 * moved past the one loaded (or was never loaded, or lies after the run's day) read whole; the
 * rest are counted unchanged without reading their history.
 */
async function changedPage<M>(svc: Services, adapter: SourceAdapter<M>, opts: MigrateOptions, cursor: string | null, counts: LoadCounts): Promise<{ members: M[]; cursor: string | null }> {
  const page = await adapter.source.marks!(opts.country, cursor, opts.pageSize ?? 1000);
  const changed = page.marks.filter(changedSinceLoaded(await loadedMarks(svc.memberStore.db, page.marks.map((m) => m.memberId)), opts.asOf));
  counts.members += page.marks.length - changed.length;
  counts.unchanged += page.marks.length - changed.length;
  const members = changed.length ? await adapter.source.members(opts.country, changed.map((m) => m.memberId), { historySince: adapter.historySince }) : [];
  return { members, cursor: page.cursor };
}

/**
 * `--since-last`'s test of a member against the marks loaded before (member id → mark): read it
 * again when it was never loaded, when its mark moved past the loaded one, or when the loaded
 * mark lies after the run's day. Such a mark is a row dated in the future (a source's scheduled
 * or mis-stamped row), not a change time: it would hide every later change behind it.
 */
function changedSinceLoaded(loaded: Map<string, string>, asOf: IsoDate): (m: { memberId: string; mark: string }) => boolean {
  const future = addDays(asOf, 2);
  return (m) => {
    const seen = loaded.get(m.memberId);
    return seen === undefined || seen < m.mark || seen.slice(0, 10) >= future;
  };
}

async function recordProgress(trx: Kysely<Schema>, runId: number, cursor: string | null, counts: LoadCounts): Promise<void> {
  await trx.updateTable('migration_runs').set({ cursor, counts: JSON.stringify(counts) }).where('id', '=', runId).execute();
}

async function loadedMarks(db: Kysely<Schema>, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 500) {
    for (const r of await db.selectFrom('migrated_members').select(['member_id', 'source_mark']).where('member_id', 'in', ids.slice(i, i + 500)).execute()) out.set(r.member_id, r.source_mark);
  }
  return out;
}
