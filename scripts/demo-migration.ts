/**
 * `npm run demo:migration`: the whole migration story in one process (issue 13).
 *
 * A legacy of --members members in 8 countries is seeded (warts fixed), migrated ahead into Tally,
 * then for --days billing days the legacy bills its night, Tally renews and collects (leaving
 * the legacy's members to it), back-sync writes Tally's changes back; each country is shadow-billed
 * the day before its cut-over and cut over (smallest first, US last, the first one as a 10%
 * canary cohort before the whole). All along, a member app drives traffic through the routing
 * proxy in front of the legacy API and Tally's API (loopback ports): reads, sign-ups, plan
 * changes, cancellations, each write retried with its Idempotency-Key until answered.
 *
 *   npm run demo:migration -- [--members 20000] [--days 5] [--concurrency 4] [--db URL] [--legacy-db URL]
 *
 * Tally's store: SQLite under var/demo-migration/ unless --db (or TALLY_DB_URL) names an empty
 * MariaDB/PostgreSQL database; messaging: in process unless TALLY_AMQP_URL names RabbitMQ.
 * Ends with a table per country and one JSON line.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { pino } from 'pino';
import { apiKeyVerifier, createApiKey } from '../src/api/api-keys.ts';
import { serviceMetrics } from '../src/api/metrics.ts';
import { buildApi } from '../src/api/server.ts';
import { compareCountry } from '../src/cli/compare.ts';
import { legacyWork } from '../src/cli/cutover.ts';
import { migrate } from '../src/cli/migrate.ts';
import { runCollection } from '../src/jobs/collect.ts';
import { runRenewal } from '../src/jobs/renew.ts';
import { dailySchedule } from '../src/jobs/scheduler.ts';
import { closeServices } from '../src/jobs/services.ts';
import { buildLegacyApi, createLegacyApiKey, legacyCountries, openLegacy, runLegacyDay, seedLegacy } from '../src/legacy/index.ts';
import { messagingConfigFromEnv, openMessaging, relayOutbox, transportKind } from '../src/messaging/index.ts';
import { backsyncConsumer, backsyncStatus, servedByRoutes } from '../src/migration/backsync/index.ts';
import { runCutover, type CutoverResult } from '../src/migration/cutover/cutover.ts';
import { referenceLegacyPlans } from '../src/migration/plan-mapping.ts';
import { shadowCountry } from '../src/migration/shadow/shadow-billing.ts';
import { legacyCountries as legacyCountrySource, MemberDirectory, tallyCountries } from '../src/proxy/member-directory.ts';
import { buildProxy, proxyMetrics, WritesInFlight } from '../src/proxy/proxy-server.ts';
import { RouteCache } from '../src/proxy/route-table.ts';
import { openServices } from '../src/wiring.ts';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '20000' },
    days: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '8' },
    countries: { type: 'string', default: 'US,CA,GB,DE,JP,BR,AU,KW' },
    db: { type: 'string' },
    'legacy-db': { type: 'string' },
    dir: { type: 'string', default: 'var/demo-migration' },
  },
});
const whole = (name: string, min: number) => {
  const n = Number(values[name as keyof typeof values]);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be a whole number from ${min}, got "${String(values[name as keyof typeof values])}"`);
  return n;
};
const members = whole('members', 100);
const days = whole('days', 2);
const concurrency = whole('concurrency', 1);
const countries = values.countries!.split(',').map((c) => c.trim().toUpperCase()).filter(Boolean);
process.env.TALLY_LOG_LEVEL ??= 'silent';
const log = pino({ level: process.env.TALLY_LOG_LEVEL });
const dir = resolve(values.dir!);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const legacyUrl = values['legacy-db'] ?? `sqlite:${join(dir, 'legacy.db')}`;
const tallyUrl = values.db || process.env.TALLY_DB_URL || `sqlite:${join(dir, 'tally.db')}`;
const asOf = '2026-11-28';
const addDays = (d: string, n: number) => new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const started = Date.now();
const phases: Record<string, number> = {};
const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
  const t = Date.now();
  try {
    return await work();
  } finally {
    phases[name] = Number(((phases[name] ?? 0) + (Date.now() - t) / 1000).toFixed(2));
  }
};
const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);

// ---- the legacy, seeded; Tally's store, migrated ahead -------------------------------------------------------------
const legacy = await openLegacy(legacyUrl);
await timed('seed', () => seedLegacy(legacy.db, { members, countries, seed: 13, asOf, warts: false }));
const sizes = new Map<string, number>();
for (const r of await legacy.db.selectFrom('customer').select(['country_cd', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('country_cd').execute()) sizes.set(String(r.country_cd).trim().toUpperCase(), Number(r.n));
say(`legacy seeded: ${members.toLocaleString('en-US')} members in ${countries.length} countries (${phases.seed} s)`);

const svc = await openServices({ dbUrl: tallyUrl, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log });
// The simulated clock: a moment of the day being played, running on in real time from there (changes made one after the other
// are stamped one after the other, as the legacy's --since-last marks need).
let clockBase = Date.parse(`${asOf}T12:00:00Z`);
let clockSetAt = Date.now();
const now = () => clockBase + (Date.now() - clockSetAt);
const setClock = (iso: string) => {
  clockBase = Date.parse(iso);
  clockSetAt = Date.now();
};
svc.clock = now;

// ---- messaging with back-sync as a consumer ------------------------------------------------------------------------
const msgConfig = messagingConfigFromEnv();
const kind = transportKind(msgConfig);
// Patient enough for a legacy SQLite file the legacy's own API writes at the same time (a busy machine can hold its lock for seconds).
const backsync = await backsyncConsumer({ legacy: legacy.db, tally: svc, servedByTally: servedByRoutes(svc.store.db, 0), tuning: { concurrency: 4, maxAttempts: 6, backoff: { initialMs: 20, maxMs: 1000 } }, log });
const messaging = await openMessaging(svc.store.db, msgConfig, kind, log, [backsync]);
await messaging.start();
const relay = () => relayOutbox(svc.store.db, messaging.transport, { owner: `${hostname()}:${process.pid}:demo-migration` });

// ---- the legacy API, Tally's API and the proxy on loopback ports --------------------------------------------------
const base = (app: FastifyInstance) => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const legacyApi = await buildLegacyApi(legacy, { planNames: referenceLegacyPlans, now });
await legacyApi.listen({ host: '127.0.0.1', port: 0 });
const tallyApi = await buildApi({ svc, now, schedule: dailySchedule(svc, { owner: 'demo', firstDay: async () => null, now }) }, { metrics: serviceMetrics(svc.store.db), rateLimit: 100_000_000 });
await tallyApi.listen({ host: '127.0.0.1', port: 0 });
const { secret: legacyKey } = await createLegacyApiKey(legacy.db, 'demo proxy', 'member-app');
const { secret: memberAppKey } = await createApiKey(svc.store.db, 'demo member app', 'member-app');
const writes = new WritesInFlight();
const routes = new RouteCache(svc.store.db, 100, (err) => log.warn({ err }, 'route refresh failed'), { proxyId: `${hostname()}:${process.pid}:demo-proxy`, inFlight: () => writes.snapshot() });
await routes.start();
const metrics = proxyMetrics(routes);
const proxy = await buildProxy(
  { routes, writes, metrics, keys: apiKeyVerifier(svc.store.db), directory: new MemberDirectory(svc.store.db, [tallyCountries(svc.memberStore.db), legacyCountrySource(legacy)]) },
  { upstreams: { legacy: base(legacyApi), tally: base(tallyApi) }, legacyKey, retryAfterSeconds: 1, timeoutMs: 10_000 },
);
await proxy.listen({ host: '127.0.0.1', port: 0 });
const proxyUrl = base(proxy);
say(`legacy API ${base(legacyApi)}, Tally API ${base(tallyApi)}, proxy ${proxyUrl}; messaging ${kind}`);

// ---- the member app: traffic through the proxy all along ----------------------------------------------------------
interface Tally { requests: number; served: number; frozen503: number; frozen503InFreeze: number; writes: number; failedWrites: number; refused: number; signups: number }
const traffic = new Map<string, Tally>(countries.map((c) => [c, { requests: 0, served: 0, frozen503: 0, frozen503InFreeze: 0, writes: 0, failedWrites: 0, refused: 0, signups: 0 }]));
const failures: { country: string; what: string; status: number | string; body: string }[] = [];
const known = new Map<string, string[]>();
for (const c of countries) {
  const rows = await legacy.db.selectFrom('customer').select('acct_no').where(sql<string>`upper(trim(country_cd))`, '=', c).where('deleted_flg', '=', 'N').orderBy('acct_no').limit(400).execute();
  known.set(c, rows.map((r) => r.acct_no));
}
const freezing = new Set<string>();
const tz = new Map(legacyCountries.map((c) => [c.cd, c.tz]));
const regionOf: Record<string, string> = { US: 'WA', CA: 'ON' };
let seq = 0;
let driving = true;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;

async function call(country: string, method: 'GET' | 'POST', path: string, body?: object): Promise<void> {
  const t = traffic.get(country)!;
  const key = `demo-${process.pid}-${++seq}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    t.requests++;
    let status: number | string;
    let text = '';
    try {
      const r = await fetch(`${proxyUrl}${path}`, {
        method, body: body ? JSON.stringify(body) : undefined,
        headers: { authorization: `Bearer ${memberAppKey}`, ...(body ? { 'content-type': 'application/json', 'idempotency-key': key } : {}) },
      });
      status = r.status;
      text = `${r.headers.get('x-tally-backend') ?? '?'} ${((Date.now() - started) / 1000).toFixed(1)} s: ${await r.text()}`;
    } catch (err) {
      status = (err as { cause?: { code?: string } }).cause?.code ?? 'error';
    }
    if (status === 503) {
      t.frozen503++;
      if (freezing.has(country)) t.frozen503InFreeze++;
    }
    const retry = status === 503 || status === 502 || status === 504 || typeof status === 'string';
    if (!retry) {
      t.served++;
      if (method === 'GET') {
        if (status !== 200) failures.push({ country, what: `${method} ${path}`, status, body: text.slice(0, 200) });
        return;
      }
      t.writes++;
      if (status === 200 || status === 201) return;
      // A refusal the member app expects (already cancelled, the same plan, not possible now): answered, not lost.
      if (status === 409 || status === 422) {
        t.refused++;
        return;
      }
      t.failedWrites++;
      failures.push({ country, what: `${method} ${path}`, status, body: text.slice(0, 200) });
      return;
    }
    if (Date.now() > deadline) {
      if (method !== 'GET') t.failedWrites++;
      failures.push({ country, what: `${method} ${path} (gave up retrying)`, status, body: text.slice(0, 200) });
      return;
    }
    await sleep(200);
  }
}

async function oneCall(): Promise<void> {
  const country = pick(countries);
  const ids = known.get(country)!;
  const id = pick(ids);
  const r = Math.random();
  if (r < 0.45) return call(country, 'GET', `/v1/members/${id}`);
  if (r < 0.7) return call(country, 'GET', `/v1/members/${id}/invoices`);
  if (r < 0.8) {
    const newId = `DEMO${country}${process.pid}x${++seq}`;
    await call(country, 'POST', '/v1/members', { id: newId, email: `${newId.toLowerCase()}@example.com`, country, region: regionOf[country] ?? null, timezone: tz.get(country) ?? 'UTC', paymentToken: 'tok_ok', plan: pick(['basic', 'standard', 'premium']) });
    traffic.get(country)!.signups++;
    ids.push(newId);
    return;
  }
  if (r < 0.92) return call(country, 'POST', `/v1/members/${id}/plan-change`, { plan: pick(['basic', 'standard', 'premium']) });
  return call(country, 'POST', `/v1/members/${id}/cancellation`, {});
}

// The member app's clock starts just after the seeded legacy's last moment (its rows reach the end of asOf in the data centre's
// time, Los Angeles): a change it makes is stamped after every row the migration ahead reads, as a live system's would be.
setClock(`${addDays(asOf, 1)}T08:30:00Z`);
const drivers = Array.from({ length: concurrency }, async () => {
  while (driving) {
    await oneCall();
    await sleep(5);
  }
});

// The migration ahead, with the member app already calling the legacy through the proxy (what changes meanwhile, the cut-over's --since-last moves).
await timed('migrate', () => migrate(svc, { source: 'legacy', from: legacyUrl, countries, mode: 'load', asOf, horizonMonths: 24 }, () => {}));
say(`migrated ahead into Tally (${tallyUrl.replace(/\/\/[^@]*@/, '//…@')}): ${countries.join(', ')} (${phases.migrate} s)`);

// ---- the schedule: which country is shadowed and cut over on which day -------------------------------------------
const order = [...countries].sort((a, b) => (a === 'US' ? 1 : b === 'US' ? -1 : (sizes.get(a) ?? 0) - (sizes.get(b) ?? 0) || (a < b ? -1 : 1)));
const steps = [{ country: order[0]!, cohort: 10 }, ...order.map((country) => ({ country, cohort: 100 }))];
// Cut-overs on days 2..days, spread evenly; each country shadow-billed on the day before its first step.
const cutDays = days - 1;
const stepDay = steps.map((_, i) => 2 + Math.floor((i * cutDays) / steps.length));
const shadowDay = new Map<string, number>();
steps.forEach((s, i) => { if (!shadowDay.has(s.country)) shadowDay.set(s.country, stepDay[i]! - 1); });

// The shadow's one declared difference: the legacy rounds a tax-inclusive price's tax half to even, Tally half up (a cent at most).
const shadowRules = join(dir, 'shadow-rules.yaml');
writeFileSync(shadowRules, 'rules:\n  - name: inclusive-tax-half-rounding\n    field: shadow.tax\n    within: 1\n    reason: the legacy rounds the tax in a tax-inclusive price half to even, Tally half up\n');

interface CountryResult { shadow: string; shadowDetail: string; cutovers: { cohort: number; status: string; freezeSeconds: number | null; compare: string }[]; compareBack?: string }
const results = new Map<string, CountryResult>(countries.map((c) => [c, { shadow: '-', shadowDetail: '', cutovers: [] }]));
const dayLog: Record<string, unknown>[] = [];
let lastBilled: string | null = null;

for (let d = 1; d <= days; d++) {
  const day = addDays(asOf, d);
  setClock(`${day}T12:00:00Z`);
  const night = await timed('legacy nights', () => runLegacyDay(legacy.db, day));
  const renewal = await timed('tally jobs', () => runRenewal(svc, day));
  const collection = await timed('tally jobs', () => runCollection(svc, day));
  const relayed = await timed('back-sync relay', relay);
  say(`day ${d} ${day}: the legacy billed ${night.billed}; Tally renewed ${renewal.counts.invoices ?? 0} (left ${renewal.counts.leftToSource ?? 0} to the legacy), collected ${collection.counts.paid ?? 0} paid; relayed ${relayed.published}`);
  dayLog.push({ day, legacyBilled: night.billed, tallyInvoices: renewal.counts.invoices ?? 0, relayed: relayed.published });
  // A billing night: one that billed at least one member in 200 (the legacy bills nobody on the 29th to 31st but a few new members).
  if (night.billed >= Math.max(1, Math.floor(members / 200))) lastBilled = day;
  for (const [country, sd] of shadowDay) {
    if (sd !== d) continue;
    // The latest billing night (a night that billed nobody proves nothing).
    const shadowDate = lastBilled ?? day;
    const { summary } = await timed('shadow', () => shadowCountry(svc, {
      from: legacyUrl, country, date: shadowDate, out: join(dir, 'shadow', `${country}-${shadowDate}`), rulesFile: shadowRules, shadowDb: `sqlite:${join(dir, 'shadow', `${country}-${shadowDate}.db`)}`,
    }));
    const declared = Object.values(summary.declared).reduce((n, x) => n + x.count, 0);
    results.get(country)!.shadow = summary.status;
    results.get(country)!.shadowDetail = `${summary.clean}/${summary.compared}${declared ? ` (${declared} declared)` : ''}`;
    say(`  shadow ${country} ${shadowDate}: ${summary.status} — ${summary.compared} billed by either side, ${summary.clean} clean (legacy ${summary.invoices.legacy} invoices, Tally ${summary.invoices.tally}) in ${summary.seconds} s`);
  }
  for (let i = 0; i < steps.length; i++) {
    if (stepDay[i] !== d) continue;
    const { country, cohort } = steps[i]!;
    const work = legacyWork(svc, legacy, { from: legacyUrl, asOf: day, reportDir: (c) => join(dir, 'cutover', `${c}-${cohort}-${Date.now()}`) });
    // Before the data moves, what Tally changed of the country's canary members is written back (the legacy is the source the
    // --since-last reads): the outbox relayed and back-sync of the country drained, the country frozen meanwhile.
    const hooked = {
      ...work,
      async migrate(c: string) {
        const until = Date.now() + 30_000;
        await relay();
        while ((await work.backsyncWaiting(c)) > 0 && Date.now() < until) {
          await sleep(50);
          await relay();
        }
        return work.migrate(c);
      },
    };
    let r: CutoverResult;
    freezing.add(country);
    try {
      r = await timed('cut-over', () => runCutover(svc.store.db, hooked, { country, cohortPercent: cohort, waitMs: 30_000, options: { demo: true, cohort, asOf: day } }));
    } catch (err) {
      // A drain that never ends is a parked event: say which, and why the legacy refused it.
      for (const d of await messaging.deadLetters.list(5)) say(`  parked: ${d.consumer} ${d.type} ${d.eventId} after ${d.attempts} attempt(s): ${d.error}`);
      throw err;
    } finally {
      // The window the proxy refuses writes in ends once it has seen the flip; writes refused after are counted apart.
      freezing.delete(country);
    }
    const compared = r.steps.find((s) => s.step === 'compare')?.detail as { differences?: number; checked?: number } | undefined;
    results.get(country)!.cutovers.push({ cohort, status: r.status, freezeSeconds: r.freezeSeconds, compare: compared ? `${compared.differences === 0 ? 'clean' : `${compared.differences} diff`} (${compared.checked})` : '-' });
    say(`  cut-over ${country}${cohort < 100 ? ` (${cohort}% cohort)` : ''}: ${r.status}${r.reason ? ` — ${r.reason}` : ''}, freeze ${r.freezeSeconds} s, compare ${JSON.stringify(compared ?? {})}`);
    await timed('back-sync relay', relay);
  }
}

// ---- the end: traffic stopped, back-sync drained, compared back ----------------------------------------------------
driving = false;
await Promise.all(drivers);
// The morning after, traffic stopped: the last night on both sides, so every member signed up in Tally has been billed
// (one signed up and not billed yet has a paid-through date in the legacy's reading and none in Tally's).
{
  const day = addDays(asOf, days + 1);
  setClock(`${day}T12:00:00Z`);
  const night = await timed('legacy nights', () => runLegacyDay(legacy.db, day));
  const renewal = await timed('tally jobs', () => runRenewal(svc, day));
  await timed('tally jobs', () => runCollection(svc, day));
  const relayed = await timed('back-sync relay', relay);
  say(`closing night ${day} (traffic stopped): the legacy billed ${night.billed}; Tally renewed ${renewal.counts.invoices ?? 0}; relayed ${relayed.published}`);
  dayLog.push({ day, legacyBilled: night.billed, tallyInvoices: renewal.counts.invoices ?? 0, relayed: relayed.published });
}
const lagUntil = Date.now() + 30_000;
let lags = await backsyncStatus(svc, { countries, legacy: legacy.db });
while (lags.some((l) => l.waiting > 0) && Date.now() < lagUntil) {
  await sleep(200);
  await relay();
  lags = await backsyncStatus(svc, { countries, legacy: legacy.db });
}
const lagOf = new Map(lags.map((l) => [l.country, l]));
await timed('compare back', async () => {
  for (const country of order) {
    if (results.get(country)!.cutovers.at(-1)?.status !== 'finished') continue;
    const { outcome } = await compareCountry(svc, { source: 'legacy', from: legacyUrl, country, direction: 'tally-to-source', out: join(dir, 'compare-back', country) });
    results.get(country)!.compareBack = outcome.status === 'clean' ? `clean (${outcome.counts.checked})` : `${outcome.counts.differences} diff (${outcome.counts.checked})`;
  }
});
say(`back-sync drained; the cut-over countries compared back (tally → legacy) in ${phases['compare back']} s`);

const frozenByMetrics = new Map<string, number>();
for (const v of (await metrics.frozen.get()).values) frozenByMetrics.set(String(v.labels.country), v.value);

const rows = order.map((country) => {
  const r = results.get(country)!;
  const t = traffic.get(country)!;
  const lag = lagOf.get(country);
  return {
    country, members: sizes.get(country) ?? 0, signups: t.signups,
    cutovers: r.cutovers.map((c) => `${c.cohort}%:${c.status}`).join(' '),
    freezeSeconds: Number(r.cutovers.reduce((s, c) => s + (c.freezeSeconds ?? 0), 0).toFixed(2)),
    shadow: r.shadow, shadowClean: r.shadowDetail, compare: r.cutovers.map((c) => c.compare).join(' / ') || '-', compareBack: r.compareBack ?? '-',
    requests: t.requests, served: t.served, frozen503: frozenByMetrics.get(country) ?? 0, frozen503InFreeze: t.frozen503InFreeze, refused: t.refused,
    failedWrites: t.failedWrites, backsyncWaiting: lag?.waiting ?? 0, backsyncParked: lag?.parked ?? 0,
  };
});
const head = ['country', 'members', 'cut over', 'freeze s', 'shadow', 'compare at cut-over', 'compare back', 'requests', '503s', 'failed writes', 'back-sync waiting'];
const body = rows.map((r) => [r.country, r.members.toLocaleString('en-US'), r.cutovers, r.freezeSeconds.toFixed(2), `${r.shadow} ${r.shadowClean}`, r.compare, r.compareBack, r.served.toLocaleString('en-US'), String(r.frozen503), String(r.failedWrites), String(r.backsyncWaiting)]);
const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 2 || i === 4 || i === 5 || i === 6 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log('');
console.log(line(head));
for (const b of body) console.log(line(b));
for (const f of failures.slice(0, 10)) console.log(`failure: ${f.country} ${f.what} → ${f.status} ${f.body}`);
const totals = {
  requests: rows.reduce((s, r) => s + r.served, 0), frozen503: rows.reduce((s, r) => s + r.frozen503, 0), failedWrites: rows.reduce((s, r) => s + r.failedWrites, 0),
  failedReads: failures.filter((f) => f.what.startsWith('GET')).length, refusedWrites: rows.reduce((s, r) => s + r.refused, 0), backsyncWaiting: rows.reduce((s, r) => s + r.backsyncWaiting, 0),
};
const seconds = Number(((Date.now() - started) / 1000).toFixed(1));
console.log(`\n${members.toLocaleString('en-US')} members, ${days} days, ${countries.length} countries cut over in ${seconds} s (${kind} messaging, Tally on ${tallyUrl.split(':')[0]}); phases: ${Object.entries(phases).map(([k, v]) => `${k} ${v} s`).join(', ')}`);

await routes.stop();
await proxy.close();
await tallyApi.close();
await legacyApi.close();
await messaging.stop();
await legacy.close();
await closeServices(svc);
console.log(JSON.stringify({ demo: 'migration', members, days, countries: order, transport: kind, engine: tallyUrl.split(':')[0], seconds, phases, totals, nights: dayLog, perCountry: rows }));
process.exitCode = totals.failedWrites === 0 && rows.every((r) => r.cutovers.endsWith('100%:finished')) ? 0 : 1;
