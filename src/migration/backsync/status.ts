import type { Kysely } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import type { Services } from '../../jobs/services.ts';
import type { LegacySchema } from '../../legacy/index.ts';
import type { DeadLetter } from '../../messaging/index.ts';
import { readRoutes } from '../../proxy/route-table.ts';
import { tallyServes } from '../../proxy/routing.ts';
import type { Schema } from '../../store/schema.ts';
import { backsyncConsumerName } from './consumer.ts';
import type { BacksyncTables } from './legacy-writer.ts';

/** Back-sync's lag for one country Tally serves. */
export interface CountryLag {
  country: string;
  /** Events of the country's members not yet applied in the legacy (nor parked). */
  waiting: number;
  /** Age of the oldest of them, from when Tally committed it; 0 when none waits. */
  oldestWaitingSeconds: number;
  /** When the legacy last took one of the country's events (null: never, or the legacy was not read). */
  lastAppliedAt: string | null;
  /** The country's events in back-sync's dead-letter queue. */
  parked: number;
}

/**
 * How far an event can be from the relay and still be waiting: one published longer ago and
 * not handled is in a dead-letter queue (counted as parked), not in flight.
 */
const inFlightWindowMs = 7 * 24 * 3600_000;

/** The countries whose changes back-sync writes (see `tallyServes`), in order. */
export async function servedCountries(db: Kysely<Schema>): Promise<string[]> {
  return [...(await readRoutes(db))].filter(([, route]) => tallyServes(route)).map(([country]) => country).sort();
}

async function countriesOf(db: Kysely<Schema>, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 1000) {
    for (const r of await db.selectFrom('members').select(['id', 'country']).where('id', 'in', ids.slice(i, i + 1000)).execute()) out.set(r.id, r.country);
  }
  return out;
}

/**
 * Per served country: events waiting (in the outbox unpublished, or published and not yet
 * handled by back-sync), the oldest one's age, the last applied (from the legacy's own record,
 * when given), and what is parked (the consumer's dead letters, on either transport).
 */
export async function backsyncStatus(
  svc: Pick<Services, 'store' | 'memberStore'>,
  opts: { countries: string[]; legacy?: Kysely<LegacySchema> | null; parked?: DeadLetter[]; now?: number },
): Promise<CountryLag[]> {
  const now = opts.now ?? Date.now();
  const db = svc.store.db;
  const parkedIds = new Set((opts.parked ?? []).filter((d) => d.consumer === backsyncConsumerName).map((d) => d.eventId));
  const notHandled = (q: ReturnType<typeof base>) => q.where(({ not, exists, selectFrom }) => not(exists(selectFrom('processed_events as p').select('p.event_id')
    .where('p.consumer', '=', backsyncConsumerName).whereRef('p.event_id', '=', 'o.event_id'))));
  const base = () => db.selectFrom('outbox as o').select(['o.event_id', 'o.member_id', 'o.created_at']);
  // Two index ranges (unpublished; published within the window) rather than one OR the planner would scan the outbox for.
  const [unpublished, published] = await Promise.all([
    notHandled(base().where('o.published_at', 'is', null)).execute(),
    notHandled(base().where('o.published_at', '>=', new Date(now - inFlightWindowMs).toISOString())).execute(),
  ]);
  const pending = [...unpublished, ...published].filter((e) => !parkedIds.has(e.event_id));
  const members = [...new Set([...pending.map((e) => e.member_id), ...(opts.parked ?? []).flatMap((d) => (d.consumer === backsyncConsumerName && d.message ? [d.message.memberId] : []))])];
  const countryOf = await countriesOf(svc.memberStore.db, members);
  const lag = new Map(opts.countries.map((c): [string, CountryLag] => [c, { country: c, waiting: 0, oldestWaitingSeconds: 0, lastAppliedAt: null, parked: 0 }]));
  for (const e of pending) {
    const l = lag.get(countryOf.get(e.member_id) ?? '');
    if (!l) continue;
    l.waiting++;
    l.oldestWaitingSeconds = Math.max(l.oldestWaitingSeconds, Math.max(0, (now - Date.parse(e.created_at)) / 1000));
  }
  for (const d of opts.parked ?? []) {
    const l = d.consumer === backsyncConsumerName && d.message ? lag.get(countryOf.get(d.message.memberId) ?? '') : undefined;
    if (l) l.parked++;
  }
  if (opts.legacy) {
    const legacy = opts.legacy as unknown as Kysely<BacksyncTables>;
    const rows = await legacy.selectFrom('tally_backsync_applied').select((eb) => ['country', eb.fn.max('applied_at').as('last')]).groupBy('country').execute();
    for (const r of rows) {
      const l = lag.get(String(r.country).trim());
      if (l) l.lastAppliedAt = r.last ? String(r.last) : null;
    }
  }
  return [...lag.values()];
}

/**
 * Back-sync's lag on /metrics, per country, read at scrape time (at most once a second,
 * however many gauges ask).
 */
export function registerBacksyncMetrics(registry: Registry, read: () => Promise<CountryLag[]>): void {
  let cached: { at: number; value: Promise<CountryLag[]> } | null = null;
  const status = () => {
    if (!cached || Date.now() - cached.at > 1000) cached = { at: Date.now(), value: read().catch(() => []) };
    return cached.value;
  };
  const gauge = (name: string, help: string, value: (l: CountryLag) => number | null) => new Gauge({
    name, help, labelNames: ['country'], registers: [registry],
    async collect() {
      this.reset();
      for (const l of await status()) {
        const v = value(l);
        if (v !== null) this.set({ country: l.country }, v);
      }
    },
  });
  gauge('tally_backsync_waiting_events', 'Events of a country Tally serves not yet written back to the legacy', (l) => l.waiting);
  gauge('tally_backsync_oldest_waiting_seconds', 'Age of the oldest event waiting to be written back (0 when none)', (l) => l.oldestWaitingSeconds);
  gauge('tally_backsync_last_applied_timestamp_seconds', 'When the legacy last took one of the country\'s events (unix seconds)', (l) => (l.lastAppliedAt ? Date.parse(l.lastAppliedAt) / 1000 : null));
  gauge('tally_backsync_parked_events', 'Events of the country parked in back-sync\'s dead-letter queue', (l) => l.parked);
}
