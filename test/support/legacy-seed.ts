import { openLegacy, seedLegacy, type LegacyDb } from '../../src/legacy/index.ts';
import { freshStoreUrl } from './engine.ts';

/** A fresh legacy database of the engine under test, seeded: its URL. */
export async function seededLegacy(members: number, countries: string[], seed: number, asOf = '2026-11-28', opts: { warts?: boolean } = {}): Promise<string> {
  const url = await freshStoreUrl();
  await withLegacy(url, (legacy) => seedLegacy(legacy.db, { members, seed, asOf, countries, ...opts }));
  return url;
}

/** Work on the legacy at `url`, closed afterwards. */
export async function withLegacy<T>(url: string, work: (legacy: LegacyDb) => Promise<T>): Promise<T> {
  const legacy = await openLegacy(url);
  try {
    return await work(legacy);
  } finally {
    await legacy.close();
  }
}
