import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Services } from '../../jobs/services.ts';
import type { LegacySchema } from '../../legacy/index.ts';
import type { Consumer, Message } from '../../messaging/message.ts';
import { readRoutes } from '../../proxy/route-table.ts';
import { tallyServes, unrouted, type CountryRoute } from '../../proxy/routing.ts';
import { wholeSetting } from '../../settings.ts';
import { alreadyProcessed } from '../../store/deliveries.ts';
import { loadMember } from '../../store/members.ts';
import type { Schema } from '../../store/schema.ts';
import { referenceLegacyPlans, type PlanMapping } from '../plan-mapping.ts';
import { LegacyRefusal, legacyPlanCodes } from './legacy-rows.ts';
import { appliedInLegacy, applyToLegacy, ensureBacksyncTables } from './legacy-writer.ts';

/** The consumer's name: its processed events, its queue (P.legacy-backsync) and its dead letters. */
export const backsyncConsumerName = 'legacy-backsync';

/**
 * Is this country served by Tally now? The wiring answers from the proxy's route table
 * (servedByRoutes); tests pass a function. Only a served country's changes are written back:
 * another country's members are the legacy's, and it bills them itself.
 */
export type ServedByTally = (country: string) => Promise<boolean>;

export type BacksyncTuning = Pick<Consumer, 'concurrency' | 'maxAttempts' | 'backoff'>;

/**
 * The legacy database is one shared server: a few writers at once, and patient retries,
 * since a refusal (a constraint, an unknown customer) is fixed by an operator, not by time.
 */
export function backsyncTuningFromEnv(env: NodeJS.ProcessEnv = process.env): BacksyncTuning {
  return {
    concurrency: wholeSetting(env, 'TALLY_BACKSYNC_CONCURRENCY', 4),
    maxAttempts: wholeSetting(env, 'TALLY_BACKSYNC_MAX_ATTEMPTS', 5),
    backoff: { initialMs: wholeSetting(env, 'TALLY_RETRY_INITIAL_MS', 1000), maxMs: wholeSetting(env, 'TALLY_RETRY_MAX_MS', 60_000) },
  };
}

/** An event whose member has an earlier event the legacy has not taken yet: refused, so it cannot overtake it. */
export class HeldBehind extends Error {
  override name = 'HeldBehind';
}

export interface BacksyncOptions {
  legacy: Kysely<LegacySchema>;
  tally: Pick<Services, 'store' | 'memberStore'>;
  servedByTally: ServedByTally;
  tuning: BacksyncTuning;
  /** Tally plan → legacy code is this mapping inverted (default: the reference legacy's). */
  plans?: PlanMapping;
  now?: () => number;
  log?: Logger;
}

/**
 * Back-sync as one more consumer of Tally's events, on either transport, with its own
 * tuning, retries and dead-letter queue (so `tally dlq list|show|replay` park and replay its
 * failures like any other consumer's).
 *
 * In order per member. Deliveries of one member are run one after another in this process,
 * and each event first checks that the member's previous event in the outbox is settled
 * (applied in the legacy, or handled by this consumer as another country's). If it is not —
 * it is being retried, or it was parked — this event is refused too: it is retried on the
 * consumer's schedule and, if the earlier one is still not applied after the last attempt,
 * PARKED behind it in the dead-letter queue with a reason naming it. We park rather than hold
 * in memory: a held event would keep its relay batch (embedded) or its queue slot (RabbitMQ)
 * busy for as long as an operator needs to fix the cause, and a parked one is durable and
 * visible. `tally dlq replay --all` replays in the order they were parked, so the earlier event
 * is applied first and the later ones follow it.
 */
export async function backsyncConsumer(opts: BacksyncOptions): Promise<Consumer> {
  await ensureBacksyncTables(opts.legacy);
  const plans = await opts.legacy.selectFrom('plan_code').select(['plan_cd', 'obsolete_flg']).execute();
  const ctx = { legacy: opts.legacy, tally: opts.tally, codeFor: legacyPlanCodes(opts.plans ?? referenceLegacyPlans, plans), now: opts.now };
  const ledger = opts.tally.store.db;
  const running = new Map<string, Promise<unknown>>();

  /** One member's deliveries one after another, in the order they arrived (the outbox's, from the relay). */
  function inTurn<T>(memberId: string, work: () => Promise<T>): Promise<T> {
    const before = running.get(memberId) ?? Promise.resolve();
    const mine = before.then(work, work);
    const settled = mine.then(() => undefined, () => undefined);
    running.set(memberId, settled);
    void settled.then(() => {
      if (running.get(memberId) === settled) running.delete(memberId);
    });
    return mine;
  }

  async function settled(eventId: string): Promise<boolean> {
    return (await alreadyProcessed(ledger, backsyncConsumerName, eventId)) || appliedInLegacy(opts.legacy, eventId);
  }

  async function handle(m: Message): Promise<void> {
    const member = await loadMember(opts.tally.memberStore.db, m.memberId);
    if (!member) throw new LegacyRefusal(`Tally has no member "${m.memberId}" (event ${m.id})`);
    if (!(await opts.servedByTally(member.country))) return;
    const own = await ledger.selectFrom('outbox').select('id').where('event_id', '=', m.id).executeTakeFirst();
    if (!own) throw new LegacyRefusal(`event ${m.id} is not in this Tally's outbox`);
    const seq = Number(own.id);
    const previous = await ledger.selectFrom('outbox').select(['event_id']).where('member_id', '=', m.memberId).where('id', '<', seq).orderBy('id', 'desc').limit(1).executeTakeFirst();
    if (previous && !(await settled(previous.event_id))) {
      throw new HeldBehind(`held behind ${previous.event_id}, the member's earlier event, not applied in the legacy yet (replay it first: tally dlq replay --all keeps their order)`);
    }
    const { outcome } = await applyToLegacy(ctx, m, seq);
    opts.log?.debug({ consumer: backsyncConsumerName, event: m.id, outcome }, 'back-synced');
  }

  return {
    name: backsyncConsumerName,
    topics: ['#'],
    ...opts.tuning,
    handle: (m) => inTurn(m.memberId, () => handle(m)),
  };
}

/**
 * The wiring's answer to "is this country served by Tally" (see `tallyServes` in
 * proxy/routing.ts), from the proxy's route table. The table is read at most once a second, so a
 * route change is seen within a second without a read per event.
 */
export function servedByRoutes(db: Kysely<Schema>, cacheMs = 1000, now = Date.now): ServedByTally {
  let cache: { at: number; routes: Map<string, CountryRoute> } | null = null;
  return async (country) => {
    if (!cache || now() - cache.at >= cacheMs) cache = { at: now(), routes: await readRoutes(db) };
    return tallyServes(cache.routes.get(country) ?? unrouted);
  };
}
