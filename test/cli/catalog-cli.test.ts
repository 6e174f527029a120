import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/store/connect.ts';
import { freshStoreUrl } from '../support/engine.ts';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tally-catalog-cli-'));

function tally(args: string[], dbUrl: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root, encoding: 'utf8', env: { ...process.env, TALLY_DB_URL: dbUrl, TALLY_LOG_LEVEL: 'silent' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

async function storedVersions(url: string): Promise<number[]> {
  const store = await openStore(url);
  try {
    return (await store.db.selectFrom('catalog_versions').select('version').orderBy('version').execute()).map((r) => r.version);
  } finally {
    await store.close();
  }
}

function oneLine(r: { code: number | null; stderr: string }, field: RegExp) {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, field);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('bad input is one line naming the field, exit 2, and nothing written', async () => {
  const url = await freshStoreUrl();
  const misspelt = file('misspelt.yaml', 'plans:\n  - id: basic\n    product: streaming\n    period: month\n    prices:\n      - { country: US, currency: USD, amount: 799, from: 2030-01-01, grandfatherUntill: 2030-04-01 }\n');
  oneLine(tally(['catalog', 'import', misspelt], url), /^tally: catalog\.plans\[0\]\.prices\[0\]\.grandfatherUntill: is not a field of a price/);
  oneLine(tally(['catalog', 'import', file('yen.json', '{"plans":[{"id":"b","product":"streaming","period":"month","prices":[{"country":"JP","currency":"JPY","price":"8.90"}]}]}')], url), /catalog\.plans\[0\]\.prices\[0\]\.price: JPY allows at most 0 decimal places/);
  oneLine(tally(['catalog', 'import', join(dir, 'no-such-file.yaml')], url), /^tally: FILE: cannot read .*no-such-file\.yaml: ENOENT/);
  oneLine(tally(['catalog', 'import'], url), /usage: tally catalog import FILE/);
  oneLine(tally(['catalog', 'export', '--version', 'latest'], url), /--version: must be a catalog version number/);
  oneLine(tally(['catalog', 'export', '--format', 'xml'], url), /--format must be yaml or json/);
  if (url.startsWith('sqlite:')) assert.throws(() => readFileSync(url.slice('sqlite:'.length)), /ENOENT/, 'a bad file does not even create the store');
  assert.deepEqual(await storedVersions(url), []);
});

test('export, edit, import: a new version; the export of any version imports back unchanged; a price in force cannot be rewritten', async () => {
  const url = await freshStoreUrl();
  const exported = tally(['catalog', 'export'], url);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /^# Tally's built-in catalog \(version 0/);
  const builtIn = file('built-in.yaml', exported.stdout);
  assert.deepEqual(JSON.parse(tally(['catalog', 'import', builtIn], url).stdout), {
    status: 'unchanged', version: 0, previous: 0, hash: JSON.parse(tally(['catalog', 'import', builtIn, '--dry-run'], url).stdout).hash, plans: 7, prices: 129,
    changes: { plansAdded: [], plansRemoved: [], pricesAdded: 0, pricesChanged: 0, pricesRemoved: 0 },
  });

  // Basic in the US goes to 8.99 in 2099, written in major units.
  const rise = file('rise.yaml', exported.stdout.replace('{ country: "US", currency: "USD", amount: 799 }', '{ country: "US", currency: "USD", amount: 799 }\n      - { country: US, currency: USD, price: "8.99", from: 2099-01-01 }'));
  const checked = JSON.parse(tally(['catalog', 'import', rise, '--dry-run'], url).stdout);
  assert.deepEqual([checked.status, checked.version, checked.prices], ['checked', 1, 130]);
  assert.deepEqual(await storedVersions(url), []);
  const created = tally(['catalog', 'import', rise, '--reason', 'US basic 2099'], url);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stdout.trim().split('\n').length, 1, 'one JSON line');
  assert.deepEqual([JSON.parse(created.stdout).status, JSON.parse(created.stdout).version], ['created', 1]);

  const json = join(dir, 'v1.json');
  assert.equal(tally(['catalog', 'export', '--format', 'json', '--version', '1', '--out', json], url).code, 0);
  assert.ok(JSON.parse(readFileSync(json, 'utf8')).plans[0].prices.some((p: { amount: number; from?: string }) => p.amount === 899 && p.from === '2099-01-01'));
  assert.deepEqual([JSON.parse(tally(['catalog', 'import', json], url).stdout).status], ['unchanged']);

  // Rewriting the price in force instead is refused, naming it.
  const rewrite = file('rewrite.yaml', exported.stdout.replace('{ country: "US", currency: "USD", amount: 799 }', '{ country: "US", currency: "USD", amount: 899 }'));
  oneLine(tally(['catalog', 'import', rewrite], url), /^tally: catalog\.plans\[0\]\.prices\[24\]\.amount: plan "basic" in "US" with no "from" \(in force since ever\) was 799/);

  const versions = JSON.parse(tally(['catalog', 'versions'], url).stdout);
  assert.deepEqual(versions.map((v: { version: number; reason: string; prices: number }) => [v.version, v.reason, v.prices]), [[1, 'US basic 2099', 130]]);
  assert.match(versions[0].createdBy, /^cli \S+@\S+$/);
  assert.deepEqual(await storedVersions(url), [1]);
});
