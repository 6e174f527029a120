import { sql, type Kysely } from 'kysely';
import { columnTypes } from './column-types.ts';

/**
 * What money under concurrency needs from the schema:
 * - refunds.status: a refund is first a `pending` intent, committed before the gateway is
 *   called, then `succeeded` or `failed` once its answer is booked;
 * - member_claims: a value unique across members (a gift-card code) is claimed in the
 *   member store's commit, so two members racing for it cannot both commit;
 * - job_locks.acquired_at: who has held a job's lease since when, for the one line a
 *   refused second run prints;
 * - applied_postings: the keys of split-store postings the ledger has applied, so each is
 *   applied once (see ledger-postings.ts);
 * - an index on idempotency_keys.created_at for purging expired keys.
 * Each step checks what is there first, so a MySQL run interrupted between two
 * non-transactional DDL statements finishes when it is run again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  const columns = async (table: string) => new Set((await db.introspection.getTables()).find((x) => x.name === table)?.columns.map((c) => c.name) ?? []);
  if (!(await columns('refunds')).has('status')) {
    await db.schema.alterTable('refunds').addColumn('status', t.varchar(16), (c) => c.notNull().defaultTo('succeeded')).execute();
  }
  await t
    .table('member_claims')
    .ifNotExists()
    .addColumn('scope', t.varchar(32), (c) => c.notNull())
    .addColumn('claim', t.varchar(200), (c) => c.notNull())
    .addColumn('member_id', t.varchar(64), (c) => c.notNull())
    .addColumn('claimed_at', t.varchar(30), (c) => c.notNull())
    .addPrimaryKeyConstraint('member_claims_pk', ['scope', 'claim'])
    .execute();
  // Codes redeemed before claims existed are claimed by their members (where the ledger shares this store).
  await sql`insert into member_claims (scope, claim, member_id, claimed_at)
    select 'gift-card', code, member_id, redeemed_on from gift_cards g
    where member_id is not null and redeemed_on is not null
      and not exists (select 1 from member_claims c where c.scope = 'gift-card' and c.claim = g.code)`.execute(db);
  await t
    .table('applied_postings')
    .ifNotExists()
    .addColumn('posting_key', t.varchar(64), (c) => c.primaryKey())
    .addColumn('applied_at', t.varchar(30), (c) => c.notNull())
    .execute();
  if (!(await columns('job_locks')).has('acquired_at')) {
    await db.schema.alterTable('job_locks').addColumn('acquired_at', t.varchar(30)).execute();
  }
  await t.indexOnce('idempotency_keys_created', 'idempotency_keys', ['created_at']);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('member_claims').ifExists().execute();
  await db.schema.dropTable('applied_postings').ifExists().execute();
}
