import type { Kysely } from 'kysely';
import { columnTypes } from './column-types.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  await t
    .table('api_keys')
    .addColumn('id', t.varchar(32), (c) => c.primaryKey())
    .addColumn('name', t.varchar(120), (c) => c.notNull())
    .addColumn('role', t.varchar(32), (c) => c.notNull())
    // SHA-256 of the secret: keys are 32 random bytes, so a fast hash is enough and a stolen table reveals no usable key.
    .addColumn('secret_hash', t.varchar(64), (c) => c.notNull())
    .addColumn('created_at', t.varchar(30), (c) => c.notNull())
    .addColumn('revoked_at', t.varchar(30))
    .execute();

  await t
    .table('idempotency_keys')
    .addColumn('api_key_id', t.varchar(32), (c) => c.notNull())
    .addColumn('idem_key', t.varchar(255), (c) => c.notNull())
    .addColumn('request_hash', t.varchar(64), (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('response', t.text)
    .addColumn('created_at', t.varchar(30), (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['api_key_id', 'idem_key'])
    .execute();

  await t
    .table('audit_log')
    .addColumn('id', t.serial, t.serialKey)
    .addColumn('at', t.varchar(30), (c) => c.notNull())
    .addColumn('actor', t.varchar(160), (c) => c.notNull())
    .addColumn('action', t.varchar(64), (c) => c.notNull())
    .addColumn('member_id', t.varchar(64), (c) => c.notNull())
    .addColumn('reason', t.varchar(500), (c) => c.notNull())
    .addColumn('request', t.text, (c) => c.notNull())
    .addColumn('before', t.text)
    .addColumn('after', t.text)
    .execute();
  await db.schema.createIndex('audit_log_member').on('audit_log').columns(['member_id', 'id']).execute();

  await t
    .table('job_locks')
    .addColumn('job', t.varchar(32), (c) => c.primaryKey())
    .addColumn('owner', t.varchar(120), (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['job_locks', 'audit_log', 'idempotency_keys', 'api_keys']) await db.schema.dropTable(t).ifExists().execute();
}
