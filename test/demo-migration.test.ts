import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { engineUnderTest } from './support/engine.ts';

const root = join(import.meta.dirname, '..');

// The whole story at a tiny size, on SQLite (the server engines run the same library functions in their own tests).
test('npm run demo:migration at 800 members over 2 days: every country cut over, compared clean both ways, no write lost, a JSON last line', { skip: engineUnderTest !== 'sqlite' && 'SQLite only' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-demo-'));
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/demo-migration.ts'), '--members', '800', '--days', '2', '--dir', dir], {
      cwd: root, env: { ...process.env, TALLY_LOG_LEVEL: 'silent', TALLY_DB_URL: '', TALLY_AMQP_URL: '' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    child.on('close', (c) => done({ code: c, stdout: out, stderr: err }));
  });
  assert.equal(code, 0, `${stdout.slice(-3000)}\n${stderr.slice(-2000)}`);
  const lines = stdout.trim().split('\n');
  const last = JSON.parse(lines.at(-1)!) as {
    members: number; countries: string[]; totals: { failedWrites: number; failedReads: number; requests: number; backsyncWaiting: number };
    perCountry: { country: string; cutovers: string; compare: string; compareBack: string; failedWrites: number }[];
  };
  assert.equal(last.members, 800);
  assert.equal(last.countries.at(-1), 'US', 'the US last');
  assert.equal(last.totals.failedWrites, 0);
  assert.equal(last.totals.failedReads, 0);
  assert.equal(last.totals.backsyncWaiting, 0);
  assert.ok(last.totals.requests > 0, 'traffic went through the proxy');
  assert.equal(last.perCountry.length, 8);
  assert.equal(last.perCountry[0]!.cutovers, '10%:finished 100%:finished', 'the first country as a canary cohort, then whole');
  for (const c of last.perCountry) {
    assert.match(c.cutovers, /100%:finished$/, c.country);
    assert.doesNotMatch(c.compare, /diff/, c.country);
    assert.match(c.compareBack, /^clean/, c.country);
  }
  assert.ok(lines.some((l) => l.startsWith('country  members')), 'the table is printed');
});
