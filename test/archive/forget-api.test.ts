import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadMember, saveMembers } from '../../src/store/members.ts';
import { testApi } from '../support/api.ts';
import { seedDueMembers } from '../support/population.ts';

test('POST /v1/admin/members/{id}/forget: admins only, a reason required, audited under the key, idempotent; an unknown member is a 404 problem', async () => {
  process.env.TALLY_ARCHIVE_DIR = mkdtempSync(join(tmpdir(), 'tally-forget-api-'));
  const t = await testApi();
  try {
    await seedDueMembers(t.svc, 2, '2026-03-10');
    const m = (await loadMember(t.svc.memberStore.db, 'b00000001'))!;
    await t.svc.memberStore.db.transaction().execute((trx) => saveMembers(trx, [{ ...m, email: 'kim@example.org', subscriptions: m.subscriptions.map((s) => ({ ...s, status: 'cancelled' as const })) }]));
    const post = (role: 'admin' | 'cs-agent', id: string, body: unknown) => t.app.inject({ method: 'POST', url: `/v1/admin/members/${id}/forget`, headers: t.auth(role), payload: body as object });

    assert.equal((await post('cs-agent', 'b00000001', { reason: 'asked' })).statusCode, 403);
    const noReason = await post('admin', 'b00000001', {});
    assert.equal(noReason.statusCode, 400);
    assert.equal(noReason.headers['content-type'], 'application/problem+json; charset=utf-8');
    const unknown = await post('admin', 'nobody', { reason: 'asked' });
    assert.equal(unknown.statusCode, 404);
    assert.match((unknown.json() as { detail: string }).detail, /unknown member "nobody"/);

    const first = await post('admin', 'b00000001', { reason: 'ticket 99' });
    assert.equal(first.statusCode, 200, first.body);
    const body = first.json() as { memberId: string; forgottenAt: string; forgottenBy: string; alreadyForgotten: boolean; filesRewritten: number; scrubbed: { member: boolean } };
    const key = (await t.svc.store.db.selectFrom('api_keys').select(['id', 'name']).where('role', '=', 'admin').executeTakeFirstOrThrow());
    assert.deepEqual([body.memberId, body.forgottenBy, body.alreadyForgotten, body.filesRewritten, body.scrubbed.member, body.forgottenAt],
      ['b00000001', `${key.name} (${key.id})`, false, 0, true, '2026-03-10T12:00:00.000Z']);
    assert.equal((await loadMember(t.svc.memberStore.db, 'b00000001'))!.email, null);
    const audit = await t.svc.memberStore.db.selectFrom('audit_log').selectAll().where('member_id', '=', 'b00000001').execute();
    assert.deepEqual(audit.map((a) => [a.action, a.actor, a.reason]), [['forget', `${key.name} (${key.id})`, 'ticket 99']]);

    const again = await post('admin', 'b00000001', { reason: 'once more' });
    assert.equal(again.statusCode, 200);
    assert.deepEqual(again.json(), { ...body, alreadyForgotten: true, scrubbed: { member: false, auditRows: 0, outboxRows: 0, quarantineRows: 0, idempotencyKeys: 0, deadLetters: 0, rejectedFilesRemoved: 0 } });
    assert.equal((await t.svc.memberStore.db.selectFrom('audit_log').select('id').where('member_id', '=', 'b00000001').execute()).length, 1);
    assert.equal((await loadMember(t.svc.memberStore.db, 'b00000000'))!.paymentToken, 'tok_ok', 'another member untouched');
  } finally {
    await t.close();
  }
});
