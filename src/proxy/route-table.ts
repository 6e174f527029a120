import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.ts';
import { upsert } from '../store/bulk.ts';
import { unrouted, type CountryRoute, type RouteState } from './routing.ts';

/** The route of every country that has one (a country without a row is on the legacy). */
export async function readRoutes(db: Kysely<Schema>): Promise<Map<string, CountryRoute>> {
  const rows = await db.selectFrom('proxy_routes').select(['country', 'state', 'canary_percent']).execute();
  return new Map(rows.map((r) => [r.country, { state: r.state as RouteState, canaryPercent: Number(r.canary_percent) }]));
}

/**
 * Change a country's route and record the change (from, to, when, by whom, why) in one
 * commit. Every proxy process sees it on its next refresh.
 */
export async function setRoute(db: Kysely<Schema>, country: string, route: CountryRoute, by: string, reason: string | null = null): Promise<{ from: CountryRoute }> {
  return db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('proxy_routes').select(['state', 'canary_percent']).where('country', '=', country).executeTakeFirst();
    const from: CountryRoute = before ? { state: before.state as RouteState, canaryPercent: Number(before.canary_percent) } : unrouted;
    const at = new Date().toISOString();
    await upsert(trx, 'proxy_routes', ['country'], [{ country, state: route.state, canary_percent: route.canaryPercent, updated_at: at, updated_by: by }], ['state', 'canary_percent', 'updated_at', 'updated_by']);
    await trx.insertInto('proxy_route_changes').values({
      country, from_state: before ? from.state : null, to_state: route.state, canary_percent: route.canaryPercent, changed_at: at, changed_by: by, reason,
    }).execute();
    return { from };
  });
}

function sameRoutes(a: Map<string, CountryRoute>, b: Map<string, CountryRoute>): boolean {
  if (a.size !== b.size) return false;
  for (const [country, r] of a) {
    const o = b.get(country);
    if (!o || o.state !== r.state || o.canaryPercent !== r.canaryPercent) return false;
  }
  return true;
}

/** A proxy process's heartbeat: its id and the writes it has forwarded and not yet seen answered, per country. */
export interface Heartbeat {
  proxyId: string;
  inFlight: () => Record<string, number>;
}

/**
 * A proxy process's copy of the route table, read again every `refreshMs` (a country
 * changed by the cut-over is seen by every process within that time). A failed refresh keeps
 * the last table read: routing on a slightly old table beats refusing every call. With a
 * heartbeat, each refresh also records when this process read the table and its writes in
 * flight, which is how the cut-over knows a freeze is in force everywhere and drained.
 */
export class RouteCache {
  private routes = new Map<string, CountryRoute>();
  private timer: NodeJS.Timeout | undefined;
  /** When the table was last read successfully (ms since the epoch), and failed refreshes since. */
  lastRead = 0;
  failures = 0;
  private lastBeat = 0;
  /** The last refresh saw a frozen country with writes in flight: beat once more to say they drained. */
  private drained = false;

  constructor(private readonly db: Kysely<Schema>, private readonly refreshMs = 250, private readonly onError: (err: unknown) => void = () => {}, private readonly heartbeat?: Heartbeat) {}

  async start(): Promise<void> {
    await this.refresh();
    if (this.failures) throw new Error('cannot read the route table (proxy_routes)');
    const tick = () => {
      this.timer = setTimeout(() => void this.refresh().finally(() => this.timer && tick()), this.refreshMs);
    };
    tick();
  }

  async refresh(): Promise<void> {
    try {
      // Taken before the read: the table read is at least as new as this instant.
      const at = new Date();
      const routes = await readRoutes(this.db);
      const changed = !sameRoutes(routes, this.routes);
      this.routes = routes;
      this.lastRead = at.getTime();
      this.failures = 0;
      if (this.heartbeat) {
        // A write per refresh would stall a proxy on a synchronous store (SQLite) for every caller: beat when the table
        // changed (a freeze or a flip to confirm), while a frozen country still has writes in flight (a drain to confirm),
        // and otherwise once a second (to stay alive).
        const inFlight = this.heartbeat.inFlight();
        const draining = Object.keys(inFlight).some((c) => routes.get(c)?.state === 'frozen') || this.drained;
        this.drained = Object.keys(inFlight).some((c) => routes.get(c)?.state === 'frozen');
        if (changed || draining || at.getTime() - this.lastBeat >= 1000) {
          await upsert(this.db, 'proxy_heartbeats', ['proxy_id'], [{ proxy_id: this.heartbeat.proxyId, routes_read_at: at.toISOString(), in_flight: JSON.stringify(inFlight) }], ['routes_read_at', 'in_flight']);
          this.lastBeat = at.getTime();
        }
      }
    } catch (err) {
      this.failures++;
      this.onError(err);
    }
  }

  get(country: string): CountryRoute {
    return this.routes.get(country) ?? unrouted;
  }

  all(): Map<string, CountryRoute> {
    return this.routes;
  }

  /** Stop refreshing; a process with a heartbeat takes it out, so no cut-over waits on a proxy that has gone. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.heartbeat) await this.db.deleteFrom('proxy_heartbeats').where('proxy_id', '=', this.heartbeat.proxyId).execute().catch(() => {});
  }
}

/** Proxies alive (a heartbeat within `aliveMs`), with when each last read the routes and its writes in flight per country. */
export async function liveProxies(db: Kysely<Schema>, aliveMs = 5000, now = Date.now()): Promise<{ proxyId: string; routesReadAt: number; inFlight: Record<string, number> }[]> {
  const rows = await db.selectFrom('proxy_heartbeats').selectAll().execute();
  return rows.map((r) => ({ proxyId: r.proxy_id, routesReadAt: Date.parse(r.routes_read_at), inFlight: JSON.parse(r.in_flight) as Record<string, number> }))
    .filter((p) => now - p.routesReadAt <= aliveMs);
}
