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

/**
 * A proxy process's copy of the route table, read again every `refreshMs` (a country
 * changed by the cut-over is seen by every process within that time). A failed refresh keeps
 * the last table read: routing on a slightly old table beats refusing every call.
 */
export class RouteCache {
  private routes = new Map<string, CountryRoute>();
  private timer: NodeJS.Timeout | undefined;
  /** When the table was last read successfully (ms since the epoch), and failed refreshes since. */
  lastRead = 0;
  failures = 0;

  constructor(private readonly db: Kysely<Schema>, private readonly refreshMs = 250, private readonly onError: (err: unknown) => void = () => {}) {}

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
      this.routes = await readRoutes(this.db);
      this.lastRead = Date.now();
      this.failures = 0;
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

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
