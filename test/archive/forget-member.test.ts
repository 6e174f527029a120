import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { Temporal } from 'temporal-polyfill';
import { runArchive, type Checkpoint } from '../../src/archive/archive-run.ts';
import { forgetMember, rewrittenPath, type ForgetCheckpoint, type ForgetOptions } from '../../src/archive/forget-member.ts';
import { cutoffs, dataClasses, defaultPolicy, type DataClass } from '../../src/archive/policy.ts';
import { memberView } from '../../src/api/views.ts';
import { InvalidInput, NotFound } from '../../src/domain/errors.ts';
import { closeServices, type Services } from '../../src/jobs/services.ts';
import { insertRows } from '../../src/store/bulk.ts';
import { loadMember, saveMembers } from '../../src/store/members.ts';
import { quoteText } from '../../src/troubleshoot/parquet-writer.ts';
import { billedForYears } from '../support/archive-history.ts';
import { openTestServices } from '../support/engine.ts';

const now = Temporal.Instant.from('2026-11-30T00:00:00Z');
const purgeOnly = new Set(dataClasses.filter((c) => defaultPolicy[c].purge));
const root = mkdtempSync(join(tmpdir(), 'tally-forget-'));
let runs = 0;

let svc: Services;
const stores = () => ({ ledger: svc.store.db, member: svc.memberStore.db });
const archive = (classes?: DataClass[], checkpoint?: (p: Checkpoint) => void) =>
  runArchive(stores(), { cutoffs: cutoffs(defaultPolicy, now), purgeOnly, root, runId: ++runs, classes, checkpoint });
const forget = (memberId: string, extra: Partial<ForgetOptions> = {}) => forgetMember(stores(), { memberId, reason: 'the member asked (ticket 4711)', by: 'dpo@example.org', root, ...extra });
const crashAt = (point: ForgetCheckpoint) => (p: ForgetCheckpoint) => {
  if (p === point) throw new Error(`killed at ${p}`);
};

// Three members of one country (GB), so their old audit rows share archive files.
const ann = { id: 'b00000005', email: 'Ann.Lee@example.org' };
const bo = { id: 'b00000018', email: 'bo@example.org' };
const cy = { id: 'b00000031', email: 'cy@example.org' };
const di = { id: 'b00000007', email: 'di@example.org' };

async function giveEmail(id: string, email: string): Promise<void> {
  const m = (await loadMember(svc.memberStore.db, id))!;
  await svc.memberStore.db.transaction().execute((trx) => saveMembers(trx, [{ ...m, email, subscriptions: m.subscriptions.map((s) => ({ ...s, status: 'cancelled' as const })) }]));
}

/** Audit rows of a member as an agent's actions would have left them, the member's email in the views and its token in a request. */
async function oldAudit(id: string, ats: string[]): Promise<void> {
  const m = (await loadMember(svc.memberStore.db, id))!;
  await insertRows(svc.memberStore.db, 'audit_log', ats.map((at) => ({
    at, actor: 'cs:eve', action: 'payment-method', member_id: id, reason: 'card replaced on the phone',
    request: JSON.stringify({ paymentToken: m.paymentToken }), before: JSON.stringify(memberView(m)), after: JSON.stringify(memberView(m)),
  })));
}

/** Every row the archive answers for, of a table, as text (all columns joined), by the files the manifest says answer. */
async function archivedTexts(table: string): Promise<{ member: string; text: string }[]> {
  const files = await svc.store.db.selectFrom('archive_files').select('path').where('table_name', '=', table).where('state', 'in', ['verified', 'archived']).execute();
  if (!files.length) return [];
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  try {
    const read = await duck.runAndReadAll(`select member_id as member, to_json(t)::varchar as text from read_parquet([${files.map((f) => quoteText(f.path)).join(', ')}]) t`);
    return read.getRowObjects() as { member: string; text: string }[];
  } finally {
    duck.closeSync();
    instance.closeSync();
  }
}

/** Hot and archived together: invoice totals and journal debits and credits, which forgetting must never change. */
async function ledgerTotals(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  try {
    for (const [table, sums] of [['invoices', ['total', 'amount_due']], ['journal', ['debit', 'credit']]] as const) {
      const hot = await svc.store.db.selectFrom(table as 'invoices').select((eb) => [eb.fn.countAll<number>().as('n'), ...sums.map((s) => eb.fn.sum<number>(s as 'total').as(s))]).executeTakeFirstOrThrow() as Record<string, unknown>;
      const files = await svc.store.db.selectFrom('archive_files').select('path').where('table_name', '=', table).where('state', '=', 'archived').execute();
      const cold = files.length
        ? (await duck.runAndReadAll(`select count(*)::varchar as n, ${sums.map((s) => `sum(${s})::varchar as ${s}`).join(', ')} from read_parquet([${files.map((f) => quoteText(f.path)).join(', ')}])`)).getRowObjects()[0] as Record<string, unknown>
        : {};
      for (const k of ['n', ...sums]) out[`${table}.${k}`] = `${Number(hot[k] ?? 0)} hot + ${Number(cold[k] ?? 0)} archived`;
    }
  } finally {
    duck.closeSync();
    instance.closeSync();
  }
  return out;
}

const manifest = () => svc.store.db.selectFrom('archive_files').selectAll().orderBy('id').execute();
const hotAudit = (id: string) => svc.memberStore.db.selectFrom('audit_log').selectAll().where('member_id', '=', id).orderBy('id').execute();
const mentions = (value: unknown, needle: string) => JSON.stringify(value).toLowerCase().includes(needle.toLowerCase());

before(async () => {
  svc = await openTestServices({}, { split: true });
  await billedForYears(svc, 40);
  for (const m of [ann, bo, cy, di]) await giveEmail(m.id, m.email);
  await oldAudit(ann.id, ['2023-03-01T10:00:00Z', '2024-02-01T10:00:00Z', '2026-10-01T10:00:00Z']);
  await oldAudit(bo.id, ['2023-04-01T10:00:00Z']);
  const annNow = (await loadMember(svc.memberStore.db, ann.id))!;
  const reasons = (who: { id: string; email: string }) => JSON.stringify([{ reason: 'email-undeliverable', detail: `${who.email} bounced`, source: [{ table: 'account', key: who.id }] }]);
  await insertRows(svc.store.db, 'migration_quarantine', [
    { source: 'legacy', source_key: `acct-${ann.id}`, member_id: ann.id, country: 'GB', run_id: 1, reasons: reasons(ann), quarantined_at: '2025-06-01T00:00:00Z' },
    { source: 'legacy', source_key: `acct-${bo.id}`, member_id: bo.id, country: 'GB', run_id: 1, reasons: reasons(bo), quarantined_at: '2025-06-01T00:00:00Z' },
  ]);
  await insertRows(svc.store.db, 'outbox', [{ event_id: 'member.contact:ann', member_id: ann.id, type: 'member.contact_changed', occurred_on: '2026-11-29', payload: JSON.stringify({ email: ann.email }), created_at: '2026-11-29T00:00:00Z', published_at: null }]);
  await insertRows(svc.store.db, 'idempotency_keys', [{ api_key_id: 'k1', idem_key: 'signup-ann', request_hash: 'h', status_code: 200, response: JSON.stringify(memberView(annNow)), created_at: '2026-11-29T23:00:00Z' }]);
  await insertRows(svc.store.db, 'dead_letters', [{ consumer: 'webhook', destination: 'dlq', event_id: 'e1', type: 'member.contact_changed', message: JSON.stringify({ memberId: ann.id, data: { email: ann.email } }), error: 'timeout', attempts: 5, failed_at: '2026-11-29T00:00:00Z' }]);
  const r = await archive();
  assert.deepEqual(r.errors, []);
});
after(async () => closeServices(svc));

test('forgetting a member: email and token gone from the hot store and from every archived row; the files holding them rewritten, verified and switched; the ledger untouched', async () => {
  const totals = await ledgerTotals();
  const filesBefore = await manifest();
  const auditBefore = await archivedTexts('audit_log');
  const quarantineBefore = await archivedTexts('migration_quarantine');
  assert.equal(auditBefore.filter((r) => r.member === ann.id).length, 2, 'the member\'s 2023 and 2024 audit rows are archived');
  assert.ok(auditBefore.some((r) => mentions(r.text, ann.email)) && quarantineBefore.some((r) => mentions(r.text, ann.email)));
  const holding = filesBefore.filter((f) => ['audit_log', 'migration_quarantine'].includes(f.table_name) && f.state === 'archived' && f.country === 'GB');
  assert.equal(holding.length, 3, 'audit GB 2023 (with the other member\'s row), audit GB 2024, quarantine GB 2025 (inside its 2-year keep)');

  const r = await forget(ann.id);
  assert.equal(r.alreadyForgotten, false);
  assert.equal(r.filesRewritten, 3);
  assert.deepEqual(r.scrubbed, { member: true, auditRows: 1, outboxRows: 1, quarantineRows: 0, idempotencyKeys: 1, deadLetters: 1, rejectedFilesRemoved: 0 });

  // The archive: the same rows, none holding the member's email; the other member's row as it was.
  const auditAfter = await archivedTexts('audit_log');
  const quarantineAfter = await archivedTexts('migration_quarantine');
  assert.equal(auditAfter.length, auditBefore.length);
  assert.equal(quarantineAfter.length, quarantineBefore.length);
  for (const row of [...auditAfter, ...quarantineAfter]) assert.ok(!mentions(row.text, ann.email), row.text);
  for (const row of auditAfter.filter((x) => x.member === ann.id)) assert.ok(!row.text.includes('tok_'), `no token in ${row.text}`);
  assert.deepEqual(auditAfter.filter((x) => x.member === bo.id), auditBefore.filter((x) => x.member === bo.id));
  assert.ok(quarantineAfter.some((x) => x.member === ann.id && x.text.includes('[forgotten] bounced')));

  // The manifest: each old file superseded and gone from disk, a new one in its state at the new path.
  const filesAfter = await manifest();
  for (const old of holding) {
    const now = filesAfter.find((f) => f.id === old.id)!;
    assert.equal(now.state, 'superseded');
    assert.ok(!existsSync(old.path), `${old.path} deleted`);
    const replacement = filesAfter.find((f) => f.path === rewrittenPath(old.path, old.id))!;
    assert.equal(replacement.state, 'archived');
    assert.equal(Number(replacement.row_count), Number(old.row_count));
    assert.ok(existsSync(replacement.path));
    assert.match(now.error!, new RegExp(`^forgotten ${ann.id}: superseded by file ${replacement.id}$`));
  }
  const untouched = (files: typeof filesBefore) => files.filter((f) => !holding.some((h) => h.id === f.id) && f.id <= filesBefore.at(-1)!.id);
  assert.deepEqual(untouched(filesAfter), untouched(filesBefore), 'every other file as it was');

  // The hot store.
  const member = await svc.memberStore.db.selectFrom('members').selectAll().where('id', '=', ann.id).executeTakeFirstOrThrow();
  assert.equal(member.email, null);
  const data = JSON.parse(member.data) as { email: unknown; paymentToken: unknown; country: string };
  assert.deepEqual([data.email, data.paymentToken, data.country], [null, '', 'GB']);
  const audit = await hotAudit(ann.id);
  for (const a of audit) assert.ok(!mentions(a, ann.email) && !mentions([a.request, a.before, a.after], 'tok_'), JSON.stringify(a));
  const forgetting = audit.find((a) => a.action === 'forget')!;
  assert.deepEqual([forgetting.actor, forgetting.reason, JSON.parse(forgetting.before!), JSON.parse(forgetting.after!)],
    ['dpo@example.org', 'the member asked (ticket 4711)', { personalData: ['email', 'paymentToken'] }, { personalData: [], filesRewritten: 3 }]);
  for (const t of ['outbox', 'idempotency_keys', 'dead_letters'] as const) {
    assert.ok(!mentions(await svc.store.db.selectFrom(t).selectAll().execute(), ann.email), `${t} holds no email`);
  }
  assert.equal((await loadMember(svc.memberStore.db, bo.id))!.email, bo.email, 'another member keeps theirs');

  // The record, and the money.
  const record = await svc.store.db.selectFrom('forgotten_members').selectAll().where('member_id', '=', ann.id).executeTakeFirstOrThrow();
  assert.deepEqual([record.forgotten_by, record.reason, Number(record.files_rewritten)], ['dpo@example.org', 'the member asked (ticket 4711)', 3]);
  assert.deepEqual(await ledgerTotals(), totals);
  assert.ok(Number((await svc.store.db.selectFrom('invoices').select((eb) => eb.fn.countAll<number>().as('n')).where('member_id', '=', ann.id).executeTakeFirstOrThrow()).n) > 0, 'the member\'s invoices stay, under the member id');
});

test('forgetting again is a no-op: the first record answered, nothing rewritten or written', async () => {
  const files = await manifest();
  const audit = await hotAudit(ann.id);
  const r = await forget(ann.id, { reason: 'asked twice', by: 'someone else' });
  assert.equal(r.alreadyForgotten, true);
  assert.deepEqual([r.filesRewritten, r.reason, r.forgottenBy], [3, 'the member asked (ticket 4711)', 'dpo@example.org']);
  assert.deepEqual(await manifest(), files);
  assert.deepEqual(await hotAudit(ann.id), audit);
});

test('killed after writing the new file (before the switch), then after the switch (before the old file is deleted): the old file answers until the switch, and a re-run finishes', async () => {
  await oldAudit(cy.id, ['2023-05-01T10:00:00Z']);
  assert.deepEqual((await archive(['audit'])).errors, []);
  const old = (await manifest()).find((f) => f.table_name === 'audit_log' && f.run_id === runs)!;
  assert.ok((await archivedTexts('audit_log')).some((r) => r.member === cy.id && mentions(r.text, cy.email)));

  await assert.rejects(forget(cy.id, { checkpoint: crashAt('file:written') }), /killed at file:written/);
  let now = (await manifest()).find((f) => f.id === old.id)!;
  assert.equal(now.state, 'archived', 'the old file still answers');
  assert.ok(existsSync(old.path));
  assert.ok(existsSync(rewrittenPath(old.path, old.id)), 'the new file was written, but nothing points to it');
  assert.equal((await manifest()).filter((f) => f.path === rewrittenPath(old.path, old.id)).length, 0);
  assert.ok((await archivedTexts('audit_log')).some((r) => r.member === cy.id && mentions(r.text, cy.email)), 'what answers is the old file');
  assert.equal((await loadMember(svc.memberStore.db, cy.id))!.email, cy.email, 'the hot store not reached');

  await assert.rejects(forget(cy.id, { checkpoint: crashAt('file:switched') }), /killed at file:switched/);
  now = (await manifest()).find((f) => f.id === old.id)!;
  assert.equal(now.state, 'superseded');
  assert.ok(existsSync(old.path), 'killed before the old file was deleted');
  assert.ok(!(await archivedTexts('audit_log')).some((r) => mentions(r.text, cy.email)), 'the new file answers');
  assert.equal(await svc.store.db.selectFrom('forgotten_members').select('member_id').where('member_id', '=', cy.id).executeTakeFirst(), undefined);

  const r = await forget(cy.id);
  assert.equal(r.alreadyForgotten, false);
  assert.equal(r.filesRewritten, 1, 'counted over the attempts');
  assert.ok(!existsSync(old.path), 'the superseded file left behind is deleted');
  assert.equal((await loadMember(svc.memberStore.db, cy.id))!.email, null);
  assert.equal((await manifest()).filter((f) => f.state === 'superseded' && f.error?.startsWith(`forgotten ${cy.id}:`)).length, 1);
});

test('a batch an archive run left verified (killed before deleting its hot rows) is finished first, then rewritten', async () => {
  await oldAudit(di.id, ['2023-07-01T10:00:00Z']);
  await assert.rejects(archive(['audit'], (p) => {
    if (p === 'verify:done') throw new Error('killed at verify:done');
  }), /killed at verify:done/);
  const left = (await manifest()).find((f) => f.state === 'verified')!;
  assert.equal(left.table_name, 'audit_log');
  assert.equal((await hotAudit(di.id)).filter((a) => a.at < '2024').length, 1, 'still hot');

  const r = await forget(di.id);
  assert.equal(r.filesRewritten, 1);
  assert.equal((await hotAudit(di.id)).filter((a) => a.at < '2024').length, 0, 'the run was finished: the row is archived only');
  const files = await manifest();
  assert.deepEqual(files.filter((f) => ['writing', 'written', 'verified'].includes(f.state)), []);
  assert.equal(files.find((f) => f.id === left.id)!.state, 'superseded');
  const rows = (await archivedTexts('audit_log')).filter((x) => x.member === di.id);
  assert.equal(rows.length, 1);
  assert.ok(!mentions(rows[0]!.text, di.email));
});

test('an unknown member and an empty reason are refused, changing nothing', async () => {
  const files = await manifest();
  await assert.rejects(forget('nobody-here'), (err: unknown) => err instanceof NotFound && /unknown member "nobody-here"/.test(err.message));
  await assert.rejects(forget(bo.id, { reason: '  ' }), (err: unknown) => err instanceof InvalidInput && err.field === 'reason');
  assert.deepEqual(await manifest(), files);
  assert.equal((await loadMember(svc.memberStore.db, bo.id))!.email, bo.email);
});
