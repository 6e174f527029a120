import { hostname } from 'node:os';
import { closeServices } from '../jobs/services.ts';
import { backsyncLegacyUrl, backsyncStatus, openBacksync, servedCountries, type CountryLag } from '../migration/backsync/index.ts';
import { messagingConfigFromEnv, openMessaging, relayOutbox, transportKind } from '../messaging/index.ts';
import { openLegacy } from '../legacy/index.ts';
import { configFromEnv, openServices } from '../wiring.ts';
import { followUntilSignal } from './follow-outbox.ts';

const usageLine = 'usage: tally backsync run [--follow] [--transport embedded|amqp] [--legacy URL] | tally backsync status [--json] [--legacy URL]   (URL: --legacy or TALLY_LEGACY_URL)';

const text = (values: Record<string, unknown>, name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);

/**
 * `tally backsync run`: the back-sync worker. It relays the outbox (under the one relay lease)
 * with the back-sync consumer subscribed: embedded, once until the outbox is drained (or, with
 * --follow, until SIGINT/SIGTERM); on RabbitMQ it consumes its queue (P.legacy-backsync) until
 * stopped, since the broker, not this process, holds what is waiting.
 * `tally backsync status`: per served country, events waiting, the oldest one's age, the last
 * one applied, and what is parked.
 */
export async function backsyncCommand(rest: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  const [sub, ...extra] = rest;
  if (extra.length || (sub !== 'run' && sub !== 'status')) throw usageError(usageLine);
  const target = backsyncLegacyUrl(text(values, 'legacy'));
  const config = messagingConfigFromEnv();
  const kind = transportKind(config, text(values, 'transport'));
  if (sub === 'status') {
    const svc = await openServices(configFromEnv());
    try {
      const legacy = target ? await openLegacy(target.url, target.setting, { mustExist: true }) : null;
      try {
        // Parked entries are read where they are: the dead_letters table, or the broker's DLQ.
        const messaging = await openMessaging(svc.store.db, { ...config, webhook: null }, kind, svc.log);
        let lag: CountryLag[];
        try {
          lag = await backsyncStatus(svc, { countries: await servedCountries(svc.store.db), legacy: legacy?.db ?? null, parked: await messaging.deadLetters.list(100_000) });
        } finally {
          await messaging.stop();
        }
        if (values.json) console.log(JSON.stringify({ transport: kind, countries: lag }));
        else printStatus(lag, kind, legacy !== null);
        return 0;
      } finally {
        await legacy?.close();
      }
    } finally {
      await closeServices(svc);
    }
  }
  if (!target) throw usageError(`back-sync needs the legacy database: --legacy URL or TALLY_LEGACY_URL; ${usageLine}`);
  const svc = await openServices(configFromEnv());
  try {
    const backsync = await openBacksync(svc, target, svc.log);
    try {
      // This worker consumes back-sync only (webhook deliveries stay with the service).
      const messaging = await openMessaging(svc.store.db, { ...config, webhook: null }, kind, svc.log, [backsync.consumer]);
      try {
        const relay = { owner: `${hostname()}:${process.pid} (tally backsync)`, batchSize: config.relayBatchSize, leaseMs: config.relayLeaseMs };
        if (kind === 'embedded' && !values.follow) {
          const result = await relayOutbox(svc.store.db, messaging.transport, relay);
          if (result.busy) process.stderr.write('another relay holds the outbox lease; nothing done\n');
          console.log(JSON.stringify({ transport: kind, ...result }));
          return 0;
        }
        await messaging.start();
        const published = await followUntilSignal(svc.store.db, messaging, { ...relay, pollMs: config.relayPollMs }, svc.log);
        console.log(JSON.stringify({ transport: kind, published }));
        return 0;
      } finally {
        await messaging.stop();
      }
    } finally {
      await backsync.close();
    }
  } finally {
    await closeServices(svc);
  }
}

function printStatus(lag: CountryLag[], kind: string, legacyRead: boolean): void {
  if (!lag.length) {
    console.log('back-sync: no country is served by Tally (tally proxy route XX tally)');
    return;
  }
  const lines = [`back-sync (${kind}): ${'country'.padEnd(8)}${'waiting'.padStart(9)}${'oldest s'.padStart(10)}${'parked'.padStart(8)}  last applied`];
  for (const l of lag) {
    lines.push(`${' '.repeat(22)}${l.country.padEnd(8)}${String(l.waiting).padStart(9)}${l.oldestWaitingSeconds.toFixed(1).padStart(10)}${String(l.parked).padStart(8)}  ${l.lastAppliedAt ?? (legacyRead ? 'never' : '(give --legacy to read it)')}`);
  }
  console.log(lines.join('\n'));
}
