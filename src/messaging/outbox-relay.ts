import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { acquireLock, releaseLock } from '../jobs/job-lock.ts';
import type { Schema } from '../store/schema.ts';
import type { Message, Transport } from './message.ts';

/** The lease's name in job_locks: one relay at a time drains the outbox, across processes. */
const lease = 'outbox-relay';

export interface RelayOptions {
  /** Who holds the lease (host:pid). */
  owner: string;
  batchSize?: number;
  /** A relay that dies keeps others out this long; a live one renews its lease every third of it. */
  leaseMs?: number;
  now?: () => number;
  signal?: AbortSignal;
  /** Fault-injection hook at every point where a crash must be survivable; tests throw from it. */
  checkpoint?: (point: 'published' | 'marked') => void;
}

export interface RelayResult {
  published: number;
  /** Another relay holds the lease: nothing was done. */
  busy: boolean;
}

/**
 * Drain the outbox: unpublished rows in id order, a batch at a time, each batch
 * handed to the transport and marked published only once the transport has
 * accepted all of it. A relay killed between the two publishes that batch again
 * on its next run (at least once; consumers deduplicate by event id).
 */
export async function relayOutbox(db: Kysely<Schema>, transport: Transport, opts: RelayOptions): Promise<RelayResult> {
  const now = opts.now ?? Date.now;
  const leaseMs = opts.leaseMs ?? 15_000;
  const batchSize = opts.batchSize ?? 200;
  if (!(await acquireLock(db, lease, opts.owner, leaseMs, now()))) return { published: 0, busy: true };
  let published = 0;
  // Renewed on a timer, not per batch: a batch whose consumers are retrying may take longer than the lease.
  let held = true;
  let renewing: Promise<unknown> = Promise.resolve();
  const heartbeat = setInterval(() => {
    renewing = acquireLock(db, lease, opts.owner, leaseMs, now()).then((ok) => (held &&= ok), () => undefined);
  }, Math.max(1, Math.floor(leaseMs / 3)));
  heartbeat.unref();
  try {
    while (held && !opts.signal?.aborted) {
      const rows = await db.selectFrom('outbox').select(['id', 'event_id', 'member_id', 'type', 'occurred_on', 'payload'])
        .where('published_at', 'is', null).orderBy('id').limit(batchSize).execute();
      if (!rows.length) break;
      const messages: Message[] = rows.map((r) => ({
        id: r.event_id, type: r.type, memberId: r.member_id, occurredOn: r.occurred_on, data: JSON.parse(r.payload) as Record<string, unknown>,
      }));
      await transport.publish(messages);
      opts.checkpoint?.('published');
      await db.updateTable('outbox').set({ published_at: new Date(now()).toISOString() })
        .where('id', 'in', rows.map((r) => r.id)).where('published_at', 'is', null).execute();
      published += rows.length;
      opts.checkpoint?.('marked');
    }
  } finally {
    clearInterval(heartbeat);
    await renewing;
    // A relay that lost its lease (it stalled past it) must not release the new holder's.
    await releaseLock(db, lease, opts.owner);
  }
  return { published, busy: false };
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Keep relaying until the signal aborts: poll when the outbox is empty or
 * another relay holds the lease; back off (doubling, capped) while the
 * transport refuses, e.g. while the broker is away.
 */
export async function followOutbox(db: Kysely<Schema>, transport: Transport, opts: RelayOptions & { pollMs?: number; maxBackoffMs?: number; log?: Logger }): Promise<number> {
  const pollMs = opts.pollMs ?? 1000;
  let failures = 0;
  let total = 0;
  while (!opts.signal?.aborted) {
    try {
      const r = await relayOutbox(db, transport, opts);
      total += r.published;
      failures = 0;
      if (r.published) opts.log?.debug({ published: r.published }, 'outbox relayed');
      if (!r.published) await pause(pollMs, opts.signal);
    } catch (err) {
      failures++;
      const wait = Math.min(opts.maxBackoffMs ?? 30_000, pollMs * 2 ** (failures - 1));
      opts.log?.warn({ err: err instanceof Error ? err.message : String(err), retryInMs: wait }, 'outbox relay failed; will retry');
      await pause(wait, opts.signal);
    }
  }
  return total;
}

/** Age in seconds of the oldest event not yet published: 0 when the outbox is drained. */
export async function outboxLagSeconds(db: Kysely<Schema>, now = Date.now()): Promise<number> {
  const row = await db.selectFrom('outbox').select('created_at').where('published_at', 'is', null).orderBy('id').limit(1).executeTakeFirst();
  return row ? Math.max(0, (now - Date.parse(row.created_at)) / 1000) : 0;
}

/** The relay's health on /metrics, read at scrape time so it is right even when no relay runs. */
export function registerOutboxLag(registry: Registry, db: Kysely<Schema>): void {
  new Gauge({
    name: 'tally_outbox_lag_seconds', help: 'Age of the oldest event in the outbox not yet published (0 when drained)', registers: [registry],
    async collect() {
      this.set(await outboxLagSeconds(db));
    },
  });
}
