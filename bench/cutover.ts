/**
 * The freeze window of a whole country's cut-over: a legacy country of `--members` members
 * (default 100,000) migrated ahead, its night run, then `tally cutover` — the window is from the
 * freeze to the moment every proxy has seen the flip, and is dominated by the `--since-last`
 * migration and the compare it takes in between. A proxy heartbeat runs in this process so the
 * drain and the flip are waited for as in production.
 *
 *   npm run bench:cutover -- [--members 100000] [--engine sqlite]
 *
 * The bound next to it: the same country's `tally compare` alone, measured in the same run (the
 * cut-over cannot be faster than proving the country). Goal: a window under 60 s for 100,000 members.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { legacyWork } from '../src/cli/cutover.ts';
import { compareCountry } from '../src/cli/compare.ts';
import { migrate } from '../src/cli/migrate.ts';
import { closeServices } from '../src/jobs/services.ts';
import { openLegacy, runLegacyDay, seedLegacy } from '../src/legacy/index.ts';
import { runCutover } from '../src/migration/cutover/cutover.ts';
import { RouteCache } from '../src/proxy/route-table.ts';
import { openServices } from '../src/wiring.ts';

const { values } = parseArgs({ options: { members: { type: 'string', default: '100000' } } });
const members = Number(values.members);
const dir = resolve('var/bench-cutover');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
process.env.TALLY_LOG_LEVEL = 'warn';
const asOf = '2026-11-28';
const legacyUrl = `sqlite:${join(dir, 'legacy.db')}`;
const seconds = (t: number) => Number(((Date.now() - t) / 1000).toFixed(2));

let t = Date.now();
const legacy = await openLegacy(legacyUrl);
await seedLegacy(legacy.db, { members, countries: ['DE'], seed: 7, asOf, warts: false });
console.log(`legacy seeded: ${members} members of DE in ${seconds(t)} s`);
const svc = await openServices({ dbUrl: `sqlite:${join(dir, 'tally.db')}`, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
t = Date.now();
await migrate(svc, { source: 'legacy', from: legacyUrl, countries: ['DE'], mode: 'load', asOf, horizonMonths: 24 }, (l) => console.log(`migrated ahead: ${JSON.stringify(l.counts)}`));
const migrateSeconds = seconds(t);
console.log(`the country migrated ahead in ${migrateSeconds} s`);
const night = await runLegacyDay(legacy.db, '2026-11-29');
console.log(`the legacy's night of 2026-11-29: ${JSON.stringify(night)}`);

t = Date.now();
const bound = await compareCountry(svc, { source: 'legacy', from: legacyUrl, country: 'DE', out: join(dir, 'compare-bound') });
const compareSeconds = seconds(t);
console.log(`bound: compare of DE alone ${compareSeconds} s (${bound.outcome.counts.checked} members, ${bound.outcome.counts.members.stale} stale)`);

const proxy = new RouteCache(svc.store.db, 250, () => {}, { proxyId: 'bench-proxy', inFlight: () => ({}) });
await proxy.start();
t = Date.now();
const run = await runCutover(svc.store.db, legacyWork(svc, legacy, { from: legacyUrl, asOf: '2026-11-29', reportDir: () => join(dir, 'cutover-compare') }), { country: 'DE', cohortPercent: 100 });
const total = seconds(t);
await proxy.stop();
for (const s of run.steps) console.log(`  ${s.step.padEnd(11)} ${s.seconds.toFixed(2).padStart(7)} s  ${JSON.stringify(s.detail).slice(0, 140)}`);
console.log(`cut-over of ${members} members: ${run.status}, freeze window ${run.freezeSeconds} s (goal < 60 s), whole run ${total} s; the compare alone took ${compareSeconds} s`);
const step = (name: string) => run.steps.find((s) => s.step === name)?.seconds ?? null;
console.log(JSON.stringify({
  members, status: run.status, freezeSeconds: run.freezeSeconds, cutoverSeconds: total, migrateAheadSeconds: migrateSeconds, compareBoundSeconds: compareSeconds,
  drainSeconds: step('drain'), sinceLastSeconds: step('migrate'), compareSeconds: step('compare'), unfreezeSeconds: step('unfreeze'),
}));
await legacy.close();
await closeServices(svc);
