import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/store/connect.ts';
import { freshStoreUrl } from '../support/engine.ts';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tally-cli-'));

function tally(args: string[], dbUrl = `sqlite:${join(dir, 'cli.db')}`) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root, encoding: 'utf8', env: { ...process.env, TALLY_DB_URL: dbUrl, TALLY_LOG_LEVEL: 'silent' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function scenario(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
}

const base = `name: bad input
members:
  - { id: m1, country: DE, timezone: Europe/Berlin, payment: tok_ok }
until: 2026-02-10
`;

test('a date that does not exist: one readable line naming it, exit 2', () => {
  const r = tally(['renew', '--date', '2026-02-30']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^tally: .*2026-02-30.*\n$/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('unknown command and unknown option exit 2 with one line', () => {
  assert.equal(tally(['bill-everyone']).code, 2);
  const r = tally(['renew', '--dat', '2026-01-01']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('a malformed store URL is one readable line', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'renew', '--date', '2026-01-01'], {
    cwd: root, encoding: 'utf8', env: { ...process.env, TALLY_DB_URL: 'oracle://legacy', TALLY_LOG_LEVEL: 'silent' },
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /TALLY_DB_URL "oracle:\/\/legacy"/);
});

test('a bad service setting is one readable line naming the variable, before anything starts', () => {
  for (const [name, value, message] of [['TALLY_RATE_LIMIT', 'lots', /TALLY_RATE_LIMIT: must be a whole number of at least 1, got "lots"/], ['TALLY_PORT', '70000', /TALLY_PORT: must be a whole number from 0 to 65535, got "70000"/]] as const) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve'], {
      cwd: root, encoding: 'utf8', timeout: 30_000, env: { ...process.env, TALLY_DB_URL: 'sqlite::memory:', TALLY_DEMO_MEMBERS: '0', TALLY_LOG_LEVEL: 'silent', [name]: value },
    });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
  }
});

const invalid: [string, string, RegExp][] = [
  ['unknown plan', `actions:\n  - { on: 2026-01-01, do: signup, member: m1, plan: platinum }\n`, /actions\[0\]\.plan: .*unknown plan "platinum"/],
  ['unknown country', `actions:\n  - { on: 2026-01-01, do: signup, member: m1, plan: basic }\n`.replace('m1', 'm2'), /actions\[0\]\.member/],
  ['unknown token', `actions:\n  - { on: 2026-01-01, do: signup, member: m1, plan: basic }\n  - { on: 2026-01-02, do: update-payment, member: m1, payment: tok_stolen }\n`, /actions\[1\]\.payment: .*tok_stolen/],
  ['negative amount', `actions:\n  - { on: 2026-01-01, do: signup, member: m1, plan: basic }\n  - { on: 2026-01-02, do: credit, member: m1, amount: -5, reason: x }\n`, /actions\[1\]\.amount/],
  ['fractional amount', `actions:\n  - { on: 2026-01-01, do: signup, member: m1, plan: basic }\n  - { on: 2026-01-02, do: credit, member: m1, amount: 1.5, reason: x }\n`, /actions\[1\]\.amount/],
  ['date that does not exist', `actions:\n  - { on: 2026-02-30, do: signup, member: m1, plan: basic }\n`, /actions\[0\]\.on/],
  ['refund larger than paid', `actions:\n  - { on: 2026-01-01, do: signup, member: m1, plan: basic }\n  - { on: 2026-01-05, do: refund, member: m1, invoice: 1, amount: 100000 }\n`, /actions\[1\]\.amount: .*exceeds/],
  ['wrong currency gift card', `actions:\n  - { on: 2026-01-01, do: signup, member: m1, plan: basic }\n  - { on: 2026-01-05, do: redeem-gift-card, member: m1, amount: 500, currency: USD }\n`, /actions\[1\]\.currency: .*USD/],
  ['unknown currency gift card', `actions:\n  - { on: 2026-01-01, do: signup, member: m1, plan: basic }\n  - { on: 2026-01-05, do: redeem-gift-card, member: m1, amount: 500, currency: XYZ }\n`, /actions\[1\]\.currency/],
];

for (const [what, actions, message] of invalid) {
  test(`scenario with ${what}: exit 2 naming the field`, () => {
    const r = tally(['scenario', scenario(`${what.replaceAll(' ', '-')}.yaml`, base + actions)]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  });
}

test('an unknown member country is refused at sign-up', () => {
  const file = scenario('country.yaml', base.replace('country: DE', 'country: ZZ') + `actions:\n  - { on: 2026-01-01, do: signup, member: m1, plan: basic }\n`);
  const r = tally(['scenario', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /country.*"ZZ"/);
});

test('a failed expectation exits 1 with a readable diff', () => {
  const file = scenario('diff.yaml', base + `actions:\n  - { on: 2026-01-01, do: signup, member: m1, plan: basic }\nexpect:\n  invoices: [{ member: m1, number: 1, total: 1 }]\n`);
  const r = tally(['scenario', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /invoices\[member=m1,number=1\]\.total: expected 1, got \d+/);
});

test('bad input changes nothing in the store', async () => {
  const dbUrl = await freshStoreUrl();
  assert.equal(tally(['run-day', '--date', '2026-01-01'], dbUrl).code, 0);
  const count = async () => {
    const store = await openStore(dbUrl);
    try {
      let n = 0;
      for (const table of ['job_runs', 'journal', 'revenue_days'] as const) {
        n += Number((await store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      }
      return n;
    } finally {
      await store.close();
    }
  };
  const before = await count();
  assert.ok(before > 0);
  assert.equal(tally(['report', 'revenue', '--date', '2026-13-01'], dbUrl).code, 2);
  assert.equal(tally(['report', 'revenue', '--date', '2026-01-02', '--format', 'xml'], dbUrl).code, 2);
  assert.equal(await count(), before);
});
