import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { businessDate, parseIsoDate } from '../domain/calendar.ts';
import { InvalidInput, NotFound } from '../domain/errors.ts';
import { revenueCsv } from '../domain/revenue.ts';
import { runCollection } from '../jobs/collect.ts';
import { runRenewal } from '../jobs/renew.ts';
import { runRevenueReport } from '../jobs/revenue-report.ts';
import { JobBusy, withLocks } from '../jobs/job-lock.ts';
import { runDay } from '../jobs/run-day.ts';
import { listRuns } from '../jobs/run-record.ts';
import { closeServices, type Services } from '../jobs/services.ts';
import { mismatches } from '../scenario/expectations.ts';
import { runScenario } from '../scenario/run-scenario.ts';
import { readScenarioFile } from '../scenario/scenario-file.ts';
import { StoreError } from '../store/connect.ts';
import { configFromEnv, logger, openServices, type Config } from '../wiring.ts';
import { followCatalog } from '../operations/catalog-operations.ts';
import { wholeSetting } from '../settings.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../api/api-keys.ts';
import { BrokerError, messagingConfigFromEnv, relayOutbox, transportKind, type Messaging } from '../messaging/index.ts';
import { withConfiguredMessaging } from '../operations/messaging-operations.ts';
import { catalogCommand } from './catalog.ts';
import { runDemo } from './demo.ts';
import { followUntilSignal } from './follow-outbox.ts';
import { jobProgress } from './progress.ts';

const usage = `usage: tally <command> [options]

  renew [--date D]                   bill every member due by business date D (default: today in TALLY_REPORTING_TZ)
  collect [--date D]                 charge due invoices and retries for D
  report revenue --date D [--format json|csv] [--out FILE]
                                     close and report business day D
  run-day [--date D]                 renew, collect and report D, in that order
  runs [--limit N]                   recent job runs
  scenario FILE [--out FILE]         run a billing story on a fresh in-memory store
  demo [--members N] [--days N]      seed the embedded store and bill day after day
  serve                              the HTTP service with the daily jobs on a schedule
  keys create --name NAME --role ROLE | keys revoke ID | keys list
                                     API keys (roles: member-app, cs-agent, finance, admin, dvd-partner)
  relay [--follow] [--transport embedded|amqp]
                                     publish the outbox once (or keep at it) to the in-process bus or RabbitMQ
  dlq list [--limit N] | dlq show ID | dlq replay ID | dlq replay --all | dlq purge [--transport embedded|amqp] [--legacy URL]
                                     dead letters: inspect, redeliver to the consumer that gave up, or drop
  backsync run [--follow] [--transport embedded|amqp] [--legacy URL]
                                     write Tally's changes of the countries it serves back into the legacy (queue, DLQ, in order per member)
  backsync status [--json] [--legacy URL]
                                     per served country: events waiting, oldest waiting, last applied, parked
  legacy seed --url URL --members N [--countries XX,YY] [--seed S] [--as-of D]
                                     create and fill the reference legacy billing system (deterministic)
  legacy run-day --url URL --date D  the legacy's own nightly billing and charging for day D
  legacy serve --url URL [--host H] [--port P] [--plans FILE]
                                     the member API answered from the legacy schema (port 3100; plan ids by the migration's mapping)
  legacy keys create --url URL --name NAME --role member-app|admin
                                     a key for the legacy member API (the secret is printed once)
  migrate --source legacy --from URL --country XX[,YY] [--plans FILE] [--resume | --since-last] [--as-of D] [--horizon-months N] [--page-size N]
                                     move countries' members and their history into Tally: idempotent, resumable, quarantine
  migrate --source legacy --from URL --country XX[,YY] [--plans FILE] --dry-run
                                     check a country's migration: plan mapping, members ready, quarantined and why; writes nothing
  migrate --source legacy --from URL --country XX --members-from REPORT [--plans FILE] [--as-of D]
                                     re-migrate only the members of a compare report (after a fix, or a --clear of them)
  migrate --source killbill --from URL --country XX[,YY] --plans FILE [--tenant T] [--resume | --since-last | --dry-run | --members-from REPORT]
                                     the same from a Kill Bill database (MariaDB/MySQL or PostgreSQL): one tenant, by record id or API key
  migrate --country XX[,YY] --clear  remove exactly what the countries' migration wrote
  migrate report --country XX [--json]
                                     what a country's migration loaded, left out and quarantined, and why
  cutover XX --from URL [--cohort P%] [--plans FILE] [--rules FILE] [--dry-run | --abort | --status]
                                     move country XX (or a canary cohort of it) to Tally live: freeze, drain, migrate --since-last, compare,
                                     route, unfreeze, back-sync on, legacy billing off; each step persisted (run it again to continue)
  proxy [--host H] [--port P]        the routing proxy in front of both member APIs: each call to the legacy or Tally by the member's country
                                     (TALLY_PROXY_LEGACY_URL, TALLY_PROXY_TALLY_URL, TALLY_PROXY_LEGACY_KEY; port 3200)
  proxy route XX legacy|frozen|tally [--canary P] [--reason TEXT]
                                     where country XX's calls go (frozen: writes get 503 + Retry-After), seen by every proxy within a second
  proxy routes [--json] · proxy directory sync [--legacy-db URL]
                                     the route table and its recent changes · fill the member directory (member id → country) from both sides
  killbill fixture --url URL         a small Kill Bill database (2 tenants, 10 accounts, every item and transaction type) to try the migration on
  catalog import FILE [--dry-run] [--reason TEXT]
                                     check a catalog (YAML or JSON) and put it in force as the next version (same content: unchanged)
  catalog export [--format yaml|json] [--version N] [--out FILE]
                                     the catalog in force (or version N; 0 is the built-in one), ready to edit and import
  catalog versions                   every stored catalog version: when, by whom, why, content hash
  compare --source legacy|killbill --from URL --country XX [--tenant T] [--members-from REPORT] [--rules FILE] [--out DIR] [--plans FILE]
                                     each member derived from the source by its own path against Tally, field by field;
                                     exit 0 clean, 1 differences, 2 error; report.jsonl, report.parquet, summary.json in DIR
  compare tables --left URL --right URL --table T [--key COLS] [--columns COLS]
                                     two copies of a table on any two engines by checksum bisection: inserted, updated, deleted keys
  shadow --country XX --date D --from URL [--plans FILE] [--rules FILE] [--shadow-db URL] [--out DIR] [--json]
                                     bill a rewound copy of XX's members for day D in a throwaway store, charging nobody, and compare
                                     with the legacy's invoices of D; exit 0 clean (or declared), 1 differences, 2 error
  members show ID [--archive] [--json]
                                     the customer-service view of one member (--json: the body of GET /v1/cs/members/{id});
                                     --archive: the whole history, hot and archived, each item marked by its source
  export --country XX --to DIR [--from URL]
                                     the country's legacy tables, Tally's member and ledger tables and its latest compare report, as Parquet
  query DIR "SQL" [--format table|csv|json]
                                     DuckDB SQL over an export's Parquet files (legacy × Tally × report in one join)
  archive policy show [--json] | archive policy set FILE [--name WHO]
                                     the retention policy per data class: hot window, then archived until a keep date, or purge-only
  archive run [--before D] [--dry-run] [--to DIR] [--class C,…]
                                     move what the policy says into verified Parquet (class/table/country/year), purge, expire;
                                     a killed run is finished by the next (archive dir: --to, TALLY_ARCHIVE_DIR, var/archive)
  archive legacy --source legacy|killbill --from URL --country XX[,YY]
                                     the history a migration left in its source (before its horizon), into the archive
  archive query "SQL" [--format table|csv|json] · archive status [--json]
                                     DuckDB SQL over the archive (a view per table) · rows and bytes hot and archived per class
  archive forget MEMBER --reason TEXT
                                     remove a member's personal data from the hot store and the archive; the financial records stay

environment: TALLY_DB_URL (default sqlite:var/tally.db; or mysql://USER:PASS@HOST:PORT/DB, postgres://…),
  TALLY_MEMBER_DB_URL / TALLY_LEDGER_DB_URL (split the member store from the ledger; both default to TALLY_DB_URL),
  TALLY_REPORTING_TZ (UTC), TALLY_LOG_LEVEL (info), TALLY_ARCHIVE_DIR (var/archive),
  TALLY_HOST (127.0.0.1), TALLY_PORT (3000), TALLY_RATE_LIMIT (6000 per key per minute),
  TALLY_DVD_PORT (3443), TALLY_DVD_TLS_KEY / _CERT / _CA (files; the DVD listener is off without them),
  TALLY_AMQP_URL (RabbitMQ; unset: in-process bus), TALLY_AMQP_PREFIX (tally), TALLY_WEBHOOK_URL / _SECRET,
  TALLY_WEBHOOK_TIMEOUT_MS (5000), TALLY_WEBHOOK_CONCURRENCY (4), TALLY_WEBHOOK_MAX_ATTEMPTS (8),
  TALLY_RETRY_INITIAL_MS (1000), TALLY_RETRY_MAX_MS (60000), TALLY_RELAY_BATCH (200), TALLY_RELAY_POLL_MS (1000),
  TALLY_RELAY_LEASE_MS (15000), TALLY_LEGACY_HOST (127.0.0.1), TALLY_LEGACY_PORT (3100),
  TALLY_LEGACY_URL (back-sync's legacy database), TALLY_BACKSYNC_CONCURRENCY (4), TALLY_BACKSYNC_MAX_ATTEMPTS (5)`;

/**
 * Batch jobs from the command line take the same leases as the service's schedule: a
 * second run of a job already running anywhere is refused in one line (JobBusy, exit 75)
 * instead of doing the work twice and reporting it twice.
 */
function leased<T>(svc: Services, jobs: string[], work: () => Promise<T>): Promise<T> {
  return withLocks(svc.store.db, jobs, `${hostname()}:${process.pid} (tally ${jobs.join('+')})`, work);
}

/** A usage mistake: one line on stderr and exit code 2. */
class UsageError extends Error {}

function option(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** The business date to run for: --date, or today in the reporting time zone (where finance's day begins and ends). */
function dateOption(values: Record<string, unknown>, required = false): string {
  const d = option(values, 'date');
  // Reporting closes the day, so it is never run for an implied date.
  if (!d && required) throw new UsageError('--date is required (YYYY-MM-DD)');
  if (!d) return businessDate(Date.now(), configFromEnv().reportingTimeZone);
  return parseIsoDate(d, '--date');
}

function emit(text: string, out: string | undefined): void {
  if (out) writeFileSync(out, text);
  else process.stdout.write(text);
}

async function withServices<T>(work: (svc: Services) => Promise<T>, config: Config = configFromEnv()): Promise<T> {
  const svc = await openServices(config);
  try {
    return await work(svc);
  } finally {
    await closeServices(svc);
  }
}

/** Messaging as configured, with back-sync among the consumers when a legacy URL is given (--legacy or TALLY_LEGACY_URL). */
async function withMessaging<T>(kind: 'embedded' | 'amqp', work: (svc: Services, messaging: Messaging) => Promise<T>, legacyOption?: string): Promise<T> {
  return withServices((svc) => withConfiguredMessaging(svc, kind, (messaging) => work(svc, messaging), { legacyOption }));
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      date: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      limit: { type: 'string' },
      members: { type: 'string' },
      days: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      follow: { type: 'boolean' },
      all: { type: 'boolean' },
      transport: { type: 'string' },
      url: { type: 'string' },
      countries: { type: 'string' },
      seed: { type: 'string' },
      'as-of': { type: 'string' },
      source: { type: 'string' },
      from: { type: 'string' },
      tenant: { type: 'string' },
      canary: { type: 'string' },
      cohort: { type: 'string' },
      abort: { type: 'boolean' },
      status: { type: 'boolean' },
      'legacy-db': { type: 'string' },
      country: { type: 'string' },
      plans: { type: 'string' },
      'dry-run': { type: 'boolean' },
      resume: { type: 'boolean' },
      clear: { type: 'boolean' },
      'since-last': { type: 'boolean' },
      'horizon-months': { type: 'string' },
      'page-size': { type: 'string' },
      json: { type: 'boolean' },
      version: { type: 'string' },
      reason: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'members-from': { type: 'string' },
      rules: { type: 'string' },
      left: { type: 'string' },
      right: { type: 'string' },
      table: { type: 'string' },
      key: { type: 'string' },
      columns: { type: 'string' },
      to: { type: 'string' },
      direction: { type: 'string' },
      legacy: { type: 'string' },
      'shadow-db': { type: 'string' },
      before: { type: 'string' },
      class: { type: 'string' },
      archive: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (!command || values.help) {
    console.log(usage);
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case 'renew':
    case 'collect': {
      const date = dateOption(values);
      const result = await withServices((svc) => leased(svc, [command], () => {
        const run = command === 'renew' ? runRenewal : runCollection;
        const progress = jobProgress(svc.log, command, date);
        return run(svc, date, { onProgress: progress.tick }).finally(progress.stop);
      }));
      console.log(JSON.stringify({ job: command, date, ...result }));
      return 0;
    }
    case 'report': {
      if (rest[0] !== 'revenue') throw new UsageError('usage: tally report revenue --date D [--format json|csv] [--out FILE]');
      const date = dateOption(values, true);
      const format = option(values, 'format') ?? 'json';
      if (format !== 'json' && format !== 'csv') throw new UsageError(`--format must be json or csv, got "${format}"`);
      const report = await withServices((svc) => leased(svc, ['report-revenue'], () => runRevenueReport(svc, date)));
      emit(format === 'csv' ? revenueCsv(report) : JSON.stringify(report, null, 2) + '\n', option(values, 'out'));
      return report.balanced ? 0 : 1;
    }
    case 'run-day': {
      const date = dateOption(values);
      const day = await withServices((svc) => leased(svc, ['renew', 'collect', 'report-revenue'], () => runDay(svc, date)));
      console.log(JSON.stringify({ date, renew: day.renew.counts, collect: day.collect.counts, balanced: day.revenue.balanced }));
      return day.revenue.balanced ? 0 : 1;
    }
    case 'runs': {
      const limit = Number(option(values, 'limit') ?? 50);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive whole number`);
      const runs = await withServices((svc) => listRuns(svc.store.db, limit));
      console.log(JSON.stringify(runs, null, 2));
      return 0;
    }
    case 'scenario': {
      const file = rest[0];
      if (!file) throw new UsageError('usage: tally scenario FILE [--out FILE]');
      const scenario = readScenarioFile(file);
      const result = await runScenario(scenario);
      emit(JSON.stringify(result, null, 2) + '\n', option(values, 'out'));
      const diff = scenario.expect ? mismatches(scenario.expect, result) : [];
      if (diff.length) {
        process.stderr.write(`scenario "${scenario.name}" failed ${diff.length} expectation(s):\n${diff.map((d) => `  ${d}`).join('\n')}\n`);
        return 1;
      }
      return 0;
    }
    case 'demo': {
      const members = Number(option(values, 'members') ?? 10_000);
      const days = Number(option(values, 'days') ?? 60);
      if (!Number.isInteger(members) || members < 1) throw new UsageError('--members must be a positive whole number');
      if (!Number.isInteger(days) || days < 1) throw new UsageError('--days must be a positive whole number');
      // The demo prints its own per-day summary; job logs would drown it unless asked for.
      const config = configFromEnv();
      await withServices((svc) => runDemo(svc, { members, days }), { ...config, logLevel: process.env.TALLY_LOG_LEVEL ?? 'warn' });
      return 0;
    }
    case 'serve': {
      // Loaded only here: the HTTP stack is most of the command's start-up time, and no other command needs it.
      const { serve, serveOptionsFromEnv } = await import('./serve.ts');
      const opts = serveOptionsFromEnv();
      await withServices(async (svc) => {
        // A catalog imported while the service runs is billed with within seconds, without a restart (see followCatalog).
        const catalog = followCatalog(svc, wholeSetting(process.env, 'TALLY_CATALOG_POLL_MS', 5000));
        try {
          await serve(svc, opts);
        } finally {
          catalog.stop();
        }
      });
      return 0;
    }
    case 'keys': {
      const [sub, id] = rest;
      if (sub === 'create') {
        const name = option(values, 'name');
        const role = option(values, 'role');
        if (!name || !role) throw new UsageError('usage: tally keys create --name NAME --role ROLE');
        const { key, secret } = await withServices((svc) => createApiKey(svc.store.db, name, role));
        console.log(JSON.stringify({ ...key, secret }));
        process.stderr.write('the secret is shown only now; store it safely\n');
        return 0;
      }
      if (sub === 'revoke' && id) {
        await withServices((svc) => revokeApiKey(svc.store.db, id));
        return 0;
      }
      if (sub === 'list') {
        console.log(JSON.stringify(await withServices((svc) => listApiKeys(svc.store.db)), null, 2));
        return 0;
      }
      throw new UsageError('usage: tally keys create --name NAME --role ROLE | keys revoke ID | keys list');
    }
    case 'relay': {
      if (rest.length) throw new UsageError('usage: tally relay [--follow] [--transport embedded|amqp]');
      const config = messagingConfigFromEnv();
      const kind = transportKind(config, option(values, 'transport'));
      // Marking events published with nobody subscribed would lose them for every consumer configured later.
      if (kind === 'embedded' && !config.webhook && !option(values, 'legacy') && !process.env.TALLY_LEGACY_URL) throw new UsageError('no consumer would receive the events: set TALLY_WEBHOOK_URL or TALLY_LEGACY_URL (or TALLY_AMQP_URL for RabbitMQ); until then they wait in the outbox');
      const result = await withMessaging(kind, async (svc, messaging) => {
        const relay = { owner: `${hostname()}:${process.pid}`, batchSize: config.relayBatchSize, leaseMs: config.relayLeaseMs };
        if (!values.follow) return relayOutbox(svc.store.db, messaging.transport, relay);
        const published = await followUntilSignal(svc.store.db, messaging, { ...relay, pollMs: config.relayPollMs }, svc.log);
        return { published, busy: false };
      }, option(values, 'legacy'));
      if (result.busy) process.stderr.write('another relay holds the outbox lease; nothing done\n');
      console.log(JSON.stringify({ transport: kind, ...result }));
      return 0;
    }
    case 'dlq': {
      const [sub, id, extra] = rest;
      const usageLine = 'usage: tally dlq list [--limit N] | dlq show ID | dlq replay ID | dlq replay --all | dlq purge';
      if (extra !== undefined || !sub || !['list', 'show', 'replay', 'purge'].includes(sub)) throw new UsageError(usageLine);
      if ((sub === 'list' || sub === 'purge') && id !== undefined) throw new UsageError(usageLine);
      if (sub === 'show' && id === undefined) throw new UsageError('usage: tally dlq show ID');
      if (sub === 'replay' && (id === undefined) === !values.all) throw new UsageError('usage: tally dlq replay ID | dlq replay --all (one or the other)');
      if (values.all && sub !== 'replay') throw new UsageError('--all goes with dlq replay');
      const limit = Number(option(values, 'limit') ?? 100);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive whole number');
      const kind = transportKind(messagingConfigFromEnv(), option(values, 'transport'));
      const out = await withMessaging(kind, async (_svc, { deadLetters }) => {
        if (sub === 'list') return deadLetters.list(limit);
        if (sub === 'show') {
          const entry = await deadLetters.show(id!);
          if (!entry) throw new NotFound('ID', `no dead letter "${id}" (see tally dlq list)`, id);
          return entry;
        }
        if (sub === 'replay') return deadLetters.replay(values.all ? 'all' : id!);
        return { purged: await deadLetters.purge() };
      }, option(values, 'legacy'));
      console.log(JSON.stringify(out, null, 2));
      return 'failed' in out && out.failed > 0 ? 1 : 0;
    }
    case 'backsync': {
      const { backsyncCommand } = await import('./backsync.ts');
      return backsyncCommand(rest, values, (message) => new UsageError(message));
    }
    case 'migrate': {
      const usageLine = 'usage: tally migrate --source legacy|killbill --from URL --country XX[,YY] [--plans FILE] [--tenant T] [--resume | --since-last | --clear | --dry-run | --members-from REPORT]'
        + ' [--as-of D] [--horizon-months N] | tally migrate report --country XX';
      const membersFrom = option(values, 'members-from');
      const earlier = membersFrom && rest[0] !== 'report' ? await (await import('../compare/report-files.ts')).readEarlierReport(membersFrom) : undefined;
      const countries = (option(values, 'country') ?? earlier?.country ?? '').split(',').map((c) => c.trim().toUpperCase()).filter(Boolean);
      if (!countries.length) throw new UsageError(`--country is required; ${usageLine}`);
      if (earlier && (countries.length !== 1 || countries[0] !== earlier.country)) throw new UsageError(`--members-from: ${membersFrom} is a report of country ${earlier.country}, not ${countries.join(',')}`);
      if (earlier && earlier.source !== (option(values, 'source') ?? earlier.source)) throw new UsageError(`--members-from: ${membersFrom} is a report of source ${earlier.source}, not ${option(values, 'source')}`);
      const bad = countries.find((c) => !/^[A-Z]{2}$/.test(c));
      if (bad) throw new UsageError(`--country takes ISO 3166 alpha-2 codes, got "${bad}"`);
      if (rest[0] === 'report' && rest.length === 1) {
        const { migrationReport } = await import('../migration/report.ts');
        return withServices(async (svc) => {
          for (const country of countries) console.log(JSON.stringify(await migrationReport(svc.store.db, svc.memberStore.db, country), null, values.json ? undefined : 2));
          return 0;
        });
      }
      if (rest.length) throw new UsageError(usageLine);
      const modes = (['resume', 'since-last', 'clear', 'dry-run', 'members-from'] as const).filter((m) => values[m]);
      if (modes.length > 1) throw new UsageError(`--${modes[0]} and --${modes[1]} cannot be used together; ${usageLine}`);
      const asOf = option(values, 'as-of') ? parseIsoDate(option(values, 'as-of'), '--as-of') : businessDate(Date.now(), configFromEnv().reportingTimeZone);
      const { clear, dryRun, migrate } = await import('./migrate.ts');
      if (values.clear) {
        // Clearing needs only Tally's store: what the migration wrote is recorded there.
        return withServices(async (svc) => {
          await clear(svc, countries, asOf, (line) => console.log(JSON.stringify(line)));
          return 0;
        });
      }
      const source = option(values, 'source');
      if (source !== 'legacy' && source !== 'killbill') throw new UsageError(source ? `--source must be legacy or killbill, got "${source}"` : `--source is required; ${usageLine}`);
      const from = option(values, 'from');
      if (!from) throw new UsageError(`--from is required (the ${source === 'killbill' ? 'Kill Bill' : 'legacy'} database URL); ${usageLine}`);
      const horizonText = option(values, 'horizon-months') ?? '24';
      const horizonMonths = Number(horizonText);
      if (!/^\d+$/.test(horizonText) || horizonMonths > 1200) throw new UsageError(`--horizon-months must be a whole number of months (0 to 1200), got "${horizonText}"`);
      const pageText = option(values, 'page-size') ?? '1000';
      if (!/^\d+$/.test(pageText) || Number(pageText) < 1 || Number(pageText) > 10_000) throw new UsageError(`--page-size must be a whole number of members from 1 to 10000, got "${pageText}"`);
      const request = { source: source as 'legacy' | 'killbill', from, tenant: option(values, 'tenant'), countries, plansFile: option(values, 'plans'), mode: values.resume ? 'resume' as const : values['since-last'] ? 'since-last' as const : earlier ? 'members' as const : 'load' as const, asOf, horizonMonths, pageSize: Number(pageText), ...(earlier ? { members: earlier.members } : {}) };
      if (values['dry-run']) {
        return withServices(async (svc) => {
          for (const r of await dryRun(svc, request)) console.log(JSON.stringify(r));
          return 0;
        });
      }
      return withServices(async (svc) => {
        await migrate(svc, request, (line) => console.log(JSON.stringify(line)));
        return 0;
      });
    }
    case 'legacy': {
      const legacyUsage = 'usage: tally legacy seed --url URL --members N [--countries XX,YY] [--seed S] [--as-of D] | legacy run-day --url URL --date D'
        + ' | legacy serve --url URL [--host H] [--port P] [--plans FILE] | legacy keys create --url URL --name NAME --role member-app|admin';
      const form = rest[0] === 'keys' ? (rest[1] === 'create' && rest.length === 2 ? 'keys' : undefined) : rest.length === 1 ? rest[0] : undefined;
      if (!['seed', 'run-day', 'serve', 'keys'].includes(form ?? '')) throw new UsageError(legacyUsage);
      const url = option(values, 'url');
      if (!url) throw new UsageError('--url is required (sqlite:PATH, mysql://… or postgres://…)');
      // Loaded here only: the legacy is the other side, and no other command needs it.
      const legacy = await import('../legacy/index.ts');
      if (form === 'keys') {
        const name = option(values, 'name');
        const role = option(values, 'role');
        if (!name || !role) throw new UsageError('usage: tally legacy keys create --url URL --name NAME --role member-app|admin');
        const conn = await legacy.openLegacy(url, '--url', { mustExist: true });
        try {
          const { client, secret } = await legacy.createLegacyApiKey(conn.db, name, role);
          console.log(JSON.stringify({ ...client, secret }));
          process.stderr.write('the secret is shown only now; store it safely\n');
        } finally {
          await conn.close();
        }
        return 0;
      }
      if (form === 'serve') {
        const host = option(values, 'host') ?? process.env.TALLY_LEGACY_HOST ?? '127.0.0.1';
        const portText = option(values, 'port') ?? process.env.TALLY_LEGACY_PORT ?? '3100';
        const port = Number(portText);
        if (!/^\d{1,5}$/.test(portText) || port > 65535) throw new UsageError(`--port must be a port number 0 to 65535, got "${portText}"`);
        // The member app knows Tally's plan ids: the legacy shows and takes them through the migration's plan mapping.
        const { parsePlanMapping, referenceLegacyPlans } = await import('../migration/plan-mapping.ts');
        const plansFile = option(values, 'plans');
        let planNames = referenceLegacyPlans;
        if (plansFile) {
          let text: string;
          try {
            text = readFileSync(plansFile, 'utf8');
          } catch (err) {
            throw new UsageError(`--plans: cannot read ${plansFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
          }
          planNames = parsePlanMapping(text, plansFile.endsWith('.json') ? 'json' : 'yaml');
        }
        const conn = await legacy.openLegacy(url, '--url', { mustExist: true });
        const app = await legacy.serveLegacy(conn, { host, port }, { planNames }).catch(async (err: unknown) => {
          await conn.close();
          throw err;
        });
        const address = app.server.address();
        process.stderr.write(`tally legacy serve: the legacy member API on ${typeof address === 'object' && address ? `http://${host}:${address.port}` : `${host}:${port}`}\n`);
        await new Promise<void>((resolve) => {
          const stop = () => void app.close().finally(resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        return 0;
      }
      if (rest[0] === 'run-day') {
        const date = option(values, 'date');
        if (!date) throw new UsageError('--date is required (YYYY-MM-DD)');
        const conn = await legacy.openLegacy(url, '--url', { mustExist: true });
        try {
          console.log(JSON.stringify({ date, ...(await legacy.runLegacyDay(conn.db, date)) }));
        } finally {
          await conn.close();
        }
        return 0;
      }
      const members = Number(option(values, 'members') ?? NaN);
      if (!Number.isInteger(members) || members < 1) throw new UsageError('--members must be a positive whole number');
      const seed = Number(option(values, 'seed') ?? 1);
      if (!Number.isSafeInteger(seed)) throw new UsageError('--seed must be a whole number');
      const asOf = option(values, 'as-of') ?? businessDate(Date.now(), 'America/Los_Angeles');
      const countries = option(values, 'countries')?.split(',').map((c) => c.trim().toUpperCase()).filter(Boolean);
      const conn = await legacy.openLegacy(url);
      try {
        const progress = jobProgress(logger(process.env.TALLY_LOG_LEVEL || 'info'), 'legacy seed', asOf, members);
        const result = await legacy.seedLegacy(conn.db, { members, countries, seed, asOf }, progress.tick).finally(progress.stop);
        console.log(JSON.stringify({ engine: conn.engine, asOf, seed, ...result }));
      } finally {
        await conn.close();
      }
      return 0;
    }
    case 'cutover': {
      // Loaded here only: the cut-over pulls in the migration, the comparator and back-sync.
      const { cutoverCommand } = await import('./cutover.ts');
      return withServices((svc) => cutoverCommand(svc, rest, values, (message) => new UsageError(message)));
    }
    case 'proxy': {
      // Loaded here only: the proxy's HTTP stack is no other command's.
      const { proxyCommand } = await import('./proxy.ts');
      return withServices((svc) => proxyCommand(svc, rest, values, (message) => new UsageError(message)));
    }
    case 'killbill': {
      const killBillUsage = 'usage: tally killbill fixture --url URL   (an empty MariaDB/MySQL or PostgreSQL database)';
      if (rest.length !== 1 || rest[0] !== 'fixture') throw new UsageError(killBillUsage);
      const url = option(values, 'url');
      if (!url) throw new UsageError(`--url is required; ${killBillUsage}`);
      // Loaded here only: Kill Bill is the other side, and no other command needs it.
      const killbill = await import('../killbill/index.ts');
      const kb = await killbill.openKillBill(url, '--url');
      try {
        const present = await killbill.liveColumns(kb.db);
        if (present.has('accounts')) {
          const held = await kb.db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
          if (Number(held.n)) throw new UsageError(`--url: the database already holds a Kill Bill with ${held.n} account(s); give an empty database`);
        }
        const fixture = await killbill.buildKillBillFixture(kb.db);
        console.log(JSON.stringify({ engine: kb.engine, asOf: fixture.asOf, tenants: fixture.tenants.map((t) => ({ recordId: t.recordId, externalKey: t.externalKey, apiKey: t.apiKey })), accounts: fixture.accounts.length, rows: fixture.rows }));
      } finally {
        await kb.close();
      }
      return 0;
    }
    case 'catalog':
      return catalogCommand(rest, values, (message) => new UsageError(message));
    case 'compare': {
      if (rest[0] === 'tables') {
        const { compareTablesCommand } = await import('./compare-tables.ts');
        return compareTablesCommand(rest.slice(1), values, (message) => new UsageError(message));
      }
      const { compareCommand } = await import('./compare.ts');
      return compareCommand(rest, values, (message) => new UsageError(message));
    }
    case 'shadow': {
      // Loaded here only: shadow billing pulls in the migration and the comparator.
      const { shadowCommand } = await import('./shadow.ts');
      return shadowCommand(rest, values, (message) => new UsageError(message));
    }
    case 'members': {
      const { membersCommand } = await import('./members.ts');
      return membersCommand(rest, values, (message) => new UsageError(message));
    }
    case 'export': {
      const { exportCommand } = await import('./export.ts');
      return exportCommand(rest, values, (message) => new UsageError(message));
    }
    case 'archive': {
      const { archiveCommand } = await import('./archive.ts');
      return archiveCommand(rest, values, (message) => new UsageError(message));
    }
    case 'query': {
      const { queryCommand } = await import('./export.ts');
      return queryCommand(rest, values, (message) => new UsageError(message));
    }
    default:
      throw new UsageError(`unknown command "${command}"; run tally --help`);
  }
}

/** Bad input is one readable line and exit 2; a job already running elsewhere one line and exit 75; a bug one line and exit 70. */
export async function runCli(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    if (err instanceof InvalidInput || err instanceof UsageError || err instanceof StoreError || err instanceof BrokerError || (err instanceof Error && (err.name === 'LegacyError' || err.name === 'KillBillError' || err.name === 'LegacyRefusal'))) {
      process.stderr.write(`tally: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    if (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`tally: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    if (err instanceof JobBusy) {
      // EX_TEMPFAIL: nothing is wrong with the request; try again once the other run is done.
      process.stderr.write(`tally: ${err.message}\n`);
      process.exitCode = 75;
      return;
    }
    // A bug, not the user's doing: one line for the user; the stack goes to the structured log at debug level.
    process.stderr.write(`tally: internal error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} (set TALLY_LOG_LEVEL=debug for details)\n`);
    if (process.env.TALLY_LOG_LEVEL === 'debug' || process.env.TALLY_LOG_LEVEL === 'trace') process.stderr.write(`${err instanceof Error ? err.stack : ''}\n`);
    // A compare's exit code is its verdict (0 clean, 1 differences): any failure to reach one is 2, never mistaken for either.
    process.exitCode = ['compare', 'shadow', 'export', 'query'].includes(argv.find((a) => !a.startsWith('-')) ?? '') ? 2 : 70;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runCli(process.argv.slice(2));
