import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { openStore } from '../../src/store/connect.ts';
import { openServices } from '../../src/wiring.ts';
import { assertEachRowOnce, hotRows, journalTotals, type Rows } from '../support/archive-checks.ts';
import { billedForYears } from '../support/archive-history.ts';
import { tally, tallyHere } from '../support/cli.ts';
import { engineUnderTest, freshStoreUrl } from '../support/engine.ts';

let url: string;
let dir: string;
let rows: Rows;
let totals: Awaited<ReturnType<typeof journalTotals>>;

async function withStore<T>(work: (s: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  const store = await openStore(url);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
const both = (store: Awaited<ReturnType<typeof openStore>>) => ({ store, memberStore: store });

before(async () => {
  url = await freshStoreUrl();
  dir = mkdtempSync(join(tmpdir(), 'tally-archive-cli-'));
  const svc = await openServices({ dbUrl: url, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  await billedForYears(svc, engineUnderTest === 'sqlite' ? 16 : 8, '2024-12-15');
  rows = await hotRows(svc);
  totals = await journalTotals(svc);
  await svc.store.close();
});
after(() => undefined);

const env = () => ({ TALLY_DB_URL: url, TALLY_ARCHIVE_DIR: join(dir, 'archive') });

test('bad input is one line, exit 2, and nothing moves', async () => {
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const notAFolder = file('plain-file', 'x');
  const cases: [string[], RegExp][] = [
    [['archive', 'policy', 'set', file('unknown.yaml', 'classes:\n  emails: { hot: 1 day, purge: true }\n')], /classes\.emails: .*not a data class/],
    [['archive', 'policy', 'set', file('zero.yaml', 'classes:\n  invoices: { hot: 0 days, keep: 0 days }\n')], /classes\.invoices\.keep: 0 days is shorter than the 10 years the law requires/],
    [['archive', 'policy', 'set', join(dir, 'missing.yaml')], /no such file/],
    [['archive', 'run', '--to', join(notAFolder, 'archive')], /is not a writable folder/],
    [['archive', 'run', '--before', '2099-01-01'], /--before: 2099-01-01 is in the future/],
    [['archive', 'run', '--before', '2024-02-30'], /--before/],
    [['archive', 'run', '--class', 'emails'], /--class: "emails" is not a data class/],
    [['archive', 'run', 'now'], /archive run takes no arguments/],
    [['archive', 'shred'], /usage: tally archive/],
  ];
  for (const [args, message] of cases) {
    // In process: refusals need no process of their own, and a spawn costs seconds.
    const r = await tallyHere(args, env());
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.equal(r.stdout, '');
  }
  await withStore(async (store) => {
    assert.deepEqual(await hotRows(both(store)), rows);
    assert.equal((await store.db.selectFrom('archive_files').select('id').execute()).length, 0);
    assert.equal((await store.db.selectFrom('archive_policy').select('version').execute()).length, 0);
  });
});

test('policy show prints the policy in force as the document policy set takes; set puts a new version in force', async () => {
  const shown = await tallyHere(['archive', 'policy', 'show'], env());
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /the defaults/);
  assert.match(shown.stdout, /invoices:\n\s+hot: 24 months\n\s+keep: 10 years/);
  assert.match(shown.stdout, /idempotency-keys:\n\s+hot: 24 hours\n\s+purge: true/);
  const p = join(dir, 'policy.yaml');
  writeFileSync(p, 'classes:\n  audit: { hot: 12 months, keep: 8 years }\n');
  const set = await tallyHere(['archive', 'policy', 'set', p, '--name', 'finance:eve'], env());
  assert.equal(set.status, 0, set.stderr);
  assert.deepEqual(JSON.parse(set.stdout), { policy: 'set', version: 1, by: 'finance:eve' });
  const json = JSON.parse((await tallyHere(['archive', 'policy', 'show', '--json'], env())).stdout);
  assert.equal(json.version, 1);
  assert.deepEqual(json.policy.audit, { hot: { amount: 12, unit: 'months' }, keep: { amount: 8, unit: 'years' }, purge: false });
  assert.deepEqual(json.policy.invoices.hot, { amount: 24, unit: 'months' });
});

test('--dry-run prints what would move and how many bytes, and moves nothing', async () => {
  const r = await tallyHere(['archive', 'run', '--dry-run'], env());
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^invoices\s+archive\s+\d+ rows\s+[\d.]+ MB/);
  const last = JSON.parse(lines.at(-1)!);
  assert.equal(last.dryRun, true);
  assert.ok(last.classes.find((c: { class: string }) => c.class === 'invoices').rows > 100);
  await withStore(async (store) => assert.deepEqual(await hotRows(both(store)), rows));
});

test('killed with SIGKILL while deleting, and again while writing: the same command finishes the work, every row in exactly one place', async () => {
  for (const point of ['delete:chunk:3', 'write:page:2']) {
    const killed = tally(['archive', 'run'], { ...env(), TALLY_ARCHIVE_KILL_AT: point });
    assert.equal(killed.signal, 'SIGKILL', `${point}: ${killed.stderr}`);
  }
  const r = tally(['archive', 'run'], env());
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(out.job, 'archive');
  assert.deepEqual(out.errors, []);
  await withStore(async (store) => {
    const placed = await assertEachRowOnce(both(store), rows, { growing: ['job_runs'] });
    assert.ok(placed.archived > 500, `archived ${placed.archived}`);
    assert.deepEqual(await journalTotals(both(store)), totals);
    const runs = await store.db.selectFrom('job_runs').select(['status', 'counts']).where('job', '=', 'archive').orderBy('id').execute();
    assert.deepEqual(runs.map((x) => x.status), ['interrupted', 'interrupted', 'finished'], 'every run recorded, the killed ones as interrupted');
  });
  const again = tally(['archive', 'run'], env());
  assert.equal(again.status, 0, again.stderr);
  assert.ok(JSON.parse(again.stdout.trim().split('\n').at(-1)!).classes.every((c: { archived: number }) => c.archived === 0));
});
