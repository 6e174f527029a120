import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Temporal } from 'temporal-polyfill';
import { runArchive } from '../../src/archive/archive-run.ts';
import { rewrittenPath } from '../../src/archive/forget-member.ts';
import { cutoffs, defaultPolicy } from '../../src/archive/policy.ts';
import { closeServices, type Services } from '../../src/jobs/services.ts';
import { insertRows } from '../../src/store/bulk.ts';
import { loadMember, saveMembers } from '../../src/store/members.ts';
import { openServices } from '../../src/wiring.ts';
import { tally, tallyHere } from '../support/cli.ts';
import { freshStoreUrl } from '../support/engine.ts';
import { seedDueMembers } from '../support/population.ts';

async function withStore<T>(dbUrl: string, work: (svc: Services) => Promise<T>): Promise<T> {
  const svc = await openServices({ dbUrl, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  try {
    return await work(svc);
  } finally {
    await closeServices(svc);
  }
}

test('tally archive forget: killed with SIGKILL after writing the new file, the same command finishes; refusals are one line, exit 2; status counts the archive; again is a no-op', async () => {
  const dbUrl = await freshStoreUrl();
  const root = mkdtempSync(join(tmpdir(), 'tally-forget-cli-'));
  const env = { TALLY_DB_URL: dbUrl, TALLY_ARCHIVE_DIR: root };
  const old = await withStore(dbUrl, async (svc) => {
    await seedDueMembers(svc, 2, '2023-01-15');
    const m = (await loadMember(svc.memberStore.db, 'b00000000'))!;
    await svc.memberStore.db.transaction().execute((trx) => saveMembers(trx, [{ ...m, email: 'zoe@example.org', subscriptions: m.subscriptions.map((s) => ({ ...s, status: 'cancelled' as const })) }]));
    await insertRows(svc.memberStore.db, 'audit_log', ['2023-02-01T00:00:00Z', '2023-03-01T00:00:00Z'].map((at) => ({
      at, actor: 'cs:eve', action: 'credit', member_id: 'b00000000', reason: 'late', request: '{}', before: '{"email":"zoe@example.org"}', after: '{"email":"zoe@example.org"}',
    })));
    const r = await runArchive({ ledger: svc.store.db, member: svc.memberStore.db }, {
      cutoffs: cutoffs(defaultPolicy, Temporal.Instant.from('2026-11-30T00:00:00Z')), purgeOnly: new Set(), root, runId: 1, classes: ['audit'],
    });
    assert.deepEqual(r.errors, []);
    return svc.store.db.selectFrom('archive_files').selectAll().where('table_name', '=', 'audit_log').executeTakeFirstOrThrow();
  });

  const killed = tally(['archive', 'forget', 'b00000000', '--reason', 'GDPR art. 17 request #12'], { ...env, TALLY_FORGET_KILL_AT: 'file:written' });
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  assert.ok(existsSync(old.path) && existsSync(rewrittenPath(old.path, old.id)), 'both files on disk, the old one answering');

  const done = tally(['archive', 'forget', 'b00000000', '--reason', 'GDPR art. 17 request #12', '--name', 'dpo'], env);
  assert.equal(done.status, 0, done.stderr);
  const result = JSON.parse(done.stdout) as { memberId: string; filesRewritten: number; alreadyForgotten: boolean; forgottenBy: string };
  assert.deepEqual([result.memberId, result.filesRewritten, result.alreadyForgotten, result.forgottenBy], ['b00000000', 1, false, 'dpo']);
  assert.ok(!existsSync(old.path));

  for (const [args, message] of [
    [['archive', 'forget', 'nobody', '--reason', 'x'], /^tally: member: unknown member "nobody"\n$/],
    [['archive', 'forget', 'b00000001'], /^tally: archive forget needs --reason TEXT/],
    [['archive', 'forget', 'b00000001', '--reason', 'asked'], /^tally: member: "b00000001" still has live subscriptions \(b00000001-s1 active\): cancel them first, then forget the member\n$/],
    [['archive', 'forget', '--reason', 'x'], /^tally: usage: tally archive forget MEMBER --reason TEXT/],
    [['archive', 'status', 'extra'], /^tally: usage: tally archive status/],
  ] as const) {
    // In process: a refusal needs no process of its own, and a spawn costs seconds.
    const r = await tallyHere([...args], env);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
  }

  const status = await tallyHere(['archive', 'status', '--json'], env);
  assert.equal(status.status, 0, status.stderr);
  const audit = (JSON.parse(status.stdout) as { classes: { class: string; archive: { rows: number; files: number } }[] }).classes.find((c) => c.class === 'audit')!;
  assert.deepEqual(audit.archive, { ...audit.archive, rows: 2, files: 1 });
  const text = await tallyHere(['archive', 'status'], env);
  assert.match(text.stdout, /^audit\s+\d+\s+[\d.?]+\s+2\s+[\d.]+\s+1\s+0$/m);
  assert.match(text.stdout, /^last run: none yet$/m);

  const again = await tallyHere(['archive', 'forget', 'b00000000', '--reason', 'again'], env);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual((JSON.parse(again.stdout) as { alreadyForgotten: boolean; reason: string }), { ...JSON.parse(again.stdout), alreadyForgotten: true, reason: 'GDPR art. 17 request #12' });
});
