import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { apiKeyVerifier } from '../api/api-keys.ts';
import { InvalidInput } from '../domain/errors.ts';
import type { Services } from '../jobs/services.ts';
import type { LegacyDb } from '../legacy/index.ts';
import { legacyCountries, MemberDirectory, syncDirectory, tallyCountries, type CountrySource } from '../proxy/member-directory.ts';
import { buildDvdProxy, buildProxy, proxyMetrics, WritesInFlight } from '../proxy/proxy-server.ts';
import { RouteCache, readRoutes, setRoute } from '../proxy/route-table.ts';
import { parseRoute } from '../proxy/routing.ts';
import { wholeSetting } from '../settings.ts';
import { logger } from '../wiring.ts';
import { jobProgress } from './progress.ts';

const usage = 'usage: tally proxy [--host H] [--port P] | tally proxy route XX legacy|frozen|tally [--canary P] [--reason TEXT] | tally proxy routes [--json]'
  + ' | tally proxy directory sync [--legacy-db URL]';

export interface ProxySettings {
  host: string;
  port: number;
  legacyUrl: string;
  tallyUrl: string;
  legacyKey: string;
  legacyDbUrl: string | null;
  retryAfterSeconds: number;
  timeoutMs: number;
  refreshMs: number;
  /** The DVD partner's mutual-TLS listener, on when its certificates are given. */
  dvd: { port: number; tallyUrl: string; https: { key: string; cert: string; ca: string }; client: { key: string; cert: string; ca: string } } | null;
}

function httpBase(name: string, value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidInput(name, `must be an http(s) base URL, got "${value}"`, value);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidInput(name, `must be an http(s) base URL, got "${value}"`, value);
  return u.origin;
}

export function proxySettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ProxySettings {
  return {
    host: env.TALLY_PROXY_HOST || '127.0.0.1',
    port: wholeSetting(env, 'TALLY_PROXY_PORT', 3200, 0, 65535),
    legacyUrl: httpBase('TALLY_PROXY_LEGACY_URL', env.TALLY_PROXY_LEGACY_URL || 'http://127.0.0.1:3100'),
    tallyUrl: httpBase('TALLY_PROXY_TALLY_URL', env.TALLY_PROXY_TALLY_URL || 'http://127.0.0.1:3000'),
    legacyKey: env.TALLY_PROXY_LEGACY_KEY ?? '',
    legacyDbUrl: env.TALLY_PROXY_LEGACY_DB_URL || null,
    retryAfterSeconds: wholeSetting(env, 'TALLY_PROXY_RETRY_AFTER', 5, 1, 3600),
    timeoutMs: wholeSetting(env, 'TALLY_PROXY_TIMEOUT_MS', 10_000, 100, 600_000),
    refreshMs: wholeSetting(env, 'TALLY_PROXY_REFRESH_MS', 250, 10, 60_000),
    dvd: env.TALLY_PROXY_DVD_TLS_KEY && env.TALLY_PROXY_DVD_TLS_CERT && env.TALLY_PROXY_DVD_TLS_CA && env.TALLY_PROXY_DVD_CLIENT_KEY && env.TALLY_PROXY_DVD_CLIENT_CERT
      ? {
        port: wholeSetting(env, 'TALLY_PROXY_DVD_PORT', 3643, 0, 65535),
        tallyUrl: httpBase('TALLY_PROXY_TALLY_DVD_URL', env.TALLY_PROXY_TALLY_DVD_URL || 'https://127.0.0.1:3443'),
        // Files, as for Tally's own DVD listener (TALLY_DVD_TLS_*): the partners' side, and the proxy's client certificate towards Tally.
        https: { key: env.TALLY_PROXY_DVD_TLS_KEY, cert: env.TALLY_PROXY_DVD_TLS_CERT, ca: env.TALLY_PROXY_DVD_TLS_CA },
        client: { key: env.TALLY_PROXY_DVD_CLIENT_KEY, cert: env.TALLY_PROXY_DVD_CLIENT_CERT, ca: env.TALLY_PROXY_DVD_CLIENT_CA || env.TALLY_PROXY_DVD_TLS_CA },
      }
      : null,
  };
}

async function openLegacyDb(url: string | null): Promise<LegacyDb | null> {
  if (!url) return null;
  const { openLegacy } = await import('../legacy/index.ts');
  return openLegacy(url, 'TALLY_PROXY_LEGACY_DB_URL', { mustExist: true });
}

const sourcesOf = (svc: Services, legacy: LegacyDb | null): CountrySource[] => [tallyCountries(svc.memberStore.db), ...(legacy ? [legacyCountries(legacy)] : [])];

/** `tally proxy`: serve until SIGINT/SIGTERM, finishing the calls in flight. */
async function serveProxy(svc: Services, s: ProxySettings): Promise<void> {
  if (!s.legacyKey) throw new InvalidInput('TALLY_PROXY_LEGACY_KEY', 'is required: the proxy\'s member-app key on the legacy API (tally legacy keys create --role member-app)');
  const legacy = await openLegacyDb(s.legacyDbUrl);
  const writes = new WritesInFlight();
  const proxyId = `${hostname()}:${process.pid}:${s.port}`;
  const routes = new RouteCache(svc.store.db, s.refreshMs, (err) => svc.log.warn({ err }, 'route table refresh failed; routing on the last table read'), { proxyId, inFlight: () => writes.snapshot() });
  await routes.start();
  const metrics = proxyMetrics(routes);
  const app = await buildProxy(
    { routes, writes, metrics, keys: apiKeyVerifier(svc.store.db), directory: new MemberDirectory(svc.store.db, sourcesOf(svc, legacy)) },
    { upstreams: { legacy: s.legacyUrl, tally: s.tallyUrl }, legacyKey: s.legacyKey, retryAfterSeconds: s.retryAfterSeconds, timeoutMs: s.timeoutMs },
  );
  const url = await app.listen({ host: s.host, port: s.port });
  console.log(`tally proxy: routing the member API on ${url} between the legacy (${s.legacyUrl}) and Tally (${s.tallyUrl}); metrics at ${url}/metrics`);
  const read = (f: string) => readFileSync(f);
  const dvd = s.dvd
    ? await buildDvdProxy(
      { routes, writes, metrics, keys: apiKeyVerifier(svc.store.db), directory: new MemberDirectory(svc.store.db, sourcesOf(svc, legacy)) },
      {
        upstreams: { legacy: s.legacyUrl, tally: s.dvd.tallyUrl }, legacyKey: s.legacyKey, retryAfterSeconds: s.retryAfterSeconds, timeoutMs: s.timeoutMs,
        https: { key: read(s.dvd.https.key), cert: read(s.dvd.https.cert), ca: read(s.dvd.https.ca) }, clientTls: { key: read(s.dvd.client.key), cert: read(s.dvd.client.cert), ca: read(s.dvd.client.ca) },
      },
    )
    : null;
  if (dvd && s.dvd) console.log(`tally proxy: the DVD partner API (mutual TLS) on ${await dvd.listen({ host: s.host, port: s.dvd.port })}, Tally's side ${s.dvd.tallyUrl}`);
  await new Promise<void>((resolve) => {
    const shutdown = async () => {
      await Promise.all([app.close(), dvd?.close()]);
      await routes.stop();
      await legacy?.close();
      resolve();
    };
    process.once('SIGINT', () => void shutdown());
    process.once('SIGTERM', () => void shutdown());
  });
}

/** `tally proxy …`: the proxy itself, its route table and its member directory. */
export async function proxyCommand(svc: Services, rest: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const [sub, ...args] = rest;
  if (sub === undefined) {
    const s = proxySettingsFromEnv({
      ...process.env,
      ...(text('host') ? { TALLY_PROXY_HOST: text('host') } : {}),
      ...(text('port') ? { TALLY_PROXY_PORT: text('port') } : {}),
    });
    await serveProxy(svc, s);
    return 0;
  }
  if (sub === 'route') {
    const [countryArg, state, ...extra] = args;
    if (!countryArg || !state || extra.length) throw usageError(usage);
    const country = countryArg.toUpperCase();
    if (!/^[A-Z]{2}$/.test(country)) throw new InvalidInput('country', `takes an ISO 3166 alpha-2 code, got "${countryArg}"`, countryArg);
    let route;
    try {
      route = parseRoute(state, text('canary'));
    } catch (err) {
      const [field, ...message] = (err as Error).message.split(': ');
      throw new InvalidInput(field === 'canary' ? '--canary' : 'state', message.join(': '));
    }
    const { from } = await setRoute(svc.store.db, country, route, `${hostname()}:${process.pid} (tally proxy route)`, text('reason') ?? null);
    console.log(JSON.stringify({ country, from, to: route }));
    return 0;
  }
  if (sub === 'routes' && !args.length) {
    const routes = [...(await readRoutes(svc.store.db))].map(([country, r]) => ({ country, ...r })).sort((a, b) => (a.country < b.country ? -1 : 1));
    const changes = await svc.store.db.selectFrom('proxy_route_changes').selectAll().orderBy('id', 'desc').limit(20).execute();
    if (values.json) console.log(JSON.stringify({ routes, changes }));
    else {
      console.log(routes.length ? routes.map((r) => `${r.country}  ${r.state.padEnd(6)}${r.canaryPercent ? `  canary ${r.canaryPercent}%` : ''}`).join('\n') : 'every country is on the legacy (no route set)');
      for (const c of changes) console.log(`  ${c.changed_at}  ${c.country}  ${c.from_state ?? '(none)'} → ${c.to_state}${c.canary_percent ? ` canary ${c.canary_percent}%` : ''}  by ${c.changed_by}${c.reason ? `: ${c.reason}` : ''}`);
    }
    return 0;
  }
  if (sub === 'directory' && args[0] === 'sync' && args.length === 1) {
    const legacy = await openLegacyDb(text('legacy-db') ?? process.env.TALLY_PROXY_LEGACY_DB_URL ?? null);
    try {
      const progress = jobProgress(logger(process.env.TALLY_LOG_LEVEL || 'info'), 'proxy directory sync', 'all');
      const counts = await syncDirectory(svc.store.db, sourcesOf(svc, legacy), 5000, progress.tick).finally(progress.stop);
      console.log(JSON.stringify({ synced: counts }));
    } finally {
      await legacy?.close();
    }
    return 0;
  }
  throw usageError(usage);
}
