import type { Services } from '../jobs/services.ts';
import { messagingConfigFromEnv, openMessaging, type Messaging, type MessagingConfig, type TransportKind } from '../messaging/index.ts';

/**
 * Messaging as configured, opened for one operator action and closed after it, with back-sync
 * among the consumers when a legacy URL is given (--legacy, else TALLY_LEGACY_URL). `tally dlq`,
 * `tally relay` and the admin API's dead-letter replay all deliver through it, so a replay reaches
 * the same consumers whether it was asked on the command line or in the console.
 */
export async function withConfiguredMessaging<T>(
  svc: Services, kind: TransportKind, work: (messaging: Messaging) => Promise<T>,
  opts: { config?: MessagingConfig; legacyOption?: string } = {},
): Promise<T> {
  // Loaded only when asked for: back-sync brings the legacy database drivers with it.
  const { backsyncLegacyUrl, openBacksync } = await import('../migration/backsync/index.ts');
  const target = backsyncLegacyUrl(opts.legacyOption);
  const backsync = target ? await openBacksync(svc, target, svc.log) : null;
  try {
    const messaging = await openMessaging(svc.store.db, opts.config ?? messagingConfigFromEnv(), kind, svc.log, backsync ? [backsync.consumer] : []);
    try {
      return await work(messaging);
    } finally {
      await messaging.stop();
    }
  } finally {
    await backsync?.close();
  }
}
