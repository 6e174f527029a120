import type { Kysely } from 'kysely';
import { columnTypes } from './column-types.ts';

/**
 * The per-country cut-over, persisted so a run killed at any step continues where it stopped:
 * - cutover_runs: one run per `tally cutover XX` (its cohort, the route it started from, its
 *   status: running, finished, stopped (a check failed, the country is back where it was),
 *   aborted, and the freeze window it measured);
 * - cutover_steps: each step of a run with its start, end and what it found;
 * - proxy_heartbeats: every proxy process says when it last read the route table and how many
 *   writes per country it has in flight, so the cut-over knows when a freeze or a flip is seen
 *   everywhere and the writes let in before the freeze have drained.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  await t
    .table('cutover_runs')
    .ifNotExists()
    .addColumn('id', t.serial, t.serialKey)
    .addColumn('country', t.varchar(2), (c) => c.notNull())
    .addColumn('cohort_percent', 'integer', (c) => c.notNull())
    .addColumn('status', t.varchar(16), (c) => c.notNull())
    .addColumn('from_state', t.varchar(8), (c) => c.notNull())
    .addColumn('from_canary_percent', 'integer', (c) => c.notNull())
    .addColumn('options', t.text, (c) => c.notNull())
    .addColumn('started_at', t.varchar(30), (c) => c.notNull())
    .addColumn('finished_at', t.varchar(30))
    .addColumn('freeze_seconds', 'real')
    .addColumn('outcome', t.text)
    .execute();
  await t.indexOnce('cutover_runs_country', 'cutover_runs', ['country', 'id']);
  await t
    .table('cutover_steps')
    .ifNotExists()
    .addColumn('run_id', 'integer', (c) => c.notNull())
    .addColumn('step', t.varchar(16), (c) => c.notNull())
    .addColumn('started_at', t.varchar(30), (c) => c.notNull())
    .addColumn('finished_at', t.varchar(30))
    .addColumn('detail', t.text)
    .addPrimaryKeyConstraint('cutover_steps_pk', ['run_id', 'step'])
    .execute();
  await t
    .table('proxy_heartbeats')
    .ifNotExists()
    .addColumn('proxy_id', t.varchar(200), (c) => c.primaryKey())
    .addColumn('routes_read_at', t.varchar(30), (c) => c.notNull())
    .addColumn('in_flight', t.text, (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['proxy_heartbeats', 'cutover_steps', 'cutover_runs']) await db.schema.dropTable(table).ifExists().execute();
}
