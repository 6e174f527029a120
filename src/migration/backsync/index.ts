import type { Logger } from 'pino';
import type { Services } from '../../jobs/services.ts';
import { LegacyError, legacyTables, openLegacy, type LegacyDb } from '../../legacy/index.ts';
import type { Consumer } from '../../messaging/message.ts';
import { backsyncConsumer, backsyncTuningFromEnv, servedByRoutes, type ServedByTally } from './consumer.ts';

/**
 * Back-sync: every change Tally makes to a member of a country it serves, written back into the
 * legacy database by one more consumer of Tally's events (consumer.ts), through the legacy
 * writer (legacy-writer.ts) and the pure Tally → legacy mapping (legacy-rows.ts); its lag per
 * country in status.ts.
 */
export { backsyncConsumer, backsyncConsumerName, backsyncTuningFromEnv, HeldBehind, servedByRoutes, type ServedByTally } from './consumer.ts';
export { applyToLegacy, ensureBacksyncTables } from './legacy-writer.ts';
export { LegacyRefusal } from './legacy-rows.ts';
export { backsyncStatus, registerBacksyncMetrics, servedCountries, type CountryLag } from './status.ts';

/** The legacy URL back-sync writes to: --legacy, else TALLY_LEGACY_URL; null when neither is set (back-sync off). */
export function backsyncLegacyUrl(option: string | undefined, env: NodeJS.ProcessEnv = process.env): { url: string; setting: string } | null {
  if (option) return { url: option, setting: '--legacy' };
  return env.TALLY_LEGACY_URL ? { url: env.TALLY_LEGACY_URL, setting: 'TALLY_LEGACY_URL' } : null;
}

export interface Backsync {
  consumer: Consumer;
  legacy: LegacyDb;
  close(): Promise<void>;
}

/**
 * Open the legacy database (refused in one line if it is not the legacy's schema) and build
 * the consumer, served countries read from the proxy's route table unless given.
 */
export async function openBacksync(svc: Pick<Services, 'store' | 'memberStore'>, target: { url: string; setting: string }, log?: Logger, served?: ServedByTally): Promise<Backsync> {
  const legacy = await openLegacy(target.url, target.setting, { mustExist: true });
  try {
    const present = new Set((await legacy.db.introspection.getTables()).map((t) => t.name));
    const missing = legacyTables.filter((t) => !present.has(t));
    if (missing.length) throw new LegacyError(`${target.setting}: the database is not the legacy schema: it has no table ${missing.join(', ')}`);
    const consumer = await backsyncConsumer({ legacy: legacy.db, tally: svc, servedByTally: served ?? servedByRoutes(svc.store.db), tuning: backsyncTuningFromEnv(), log });
    return { consumer, legacy, close: () => legacy.close() };
  } catch (err) {
    await legacy.close();
    throw err;
  }
}
