import type { Kysely } from 'kysely';
import { LegacyError } from './connect.ts';
import { generateMember, type MemberRows, type PopulationOptions } from './generator.ts';
import { legacyCountries, legacyReferenceRows } from './reference-data.ts';
import { createLegacySchema, legacyTables, type LegacySchema, type LegacyTable } from './schema.ts';

export interface SeedResult {
  members: number;
  rows: Partial<Record<LegacyTable, number>>;
}

// Stay under SQLite's 32,766 bound parameters per statement (the servers allow more).
const maxParams = 30_000;

async function insertAll(db: Kysely<LegacySchema>, rows: MemberRows, counts: Partial<Record<LegacyTable, number>>): Promise<void> {
  for (const table of legacyTables) {
    const list = (rows[table] ?? []) as Record<string, unknown>[];
    if (!list.length) continue;
    const size = Math.max(1, Math.floor(maxParams / Object.keys(list[0]!).length));
    for (let i = 0; i < list.length; i += size) {
      await (db as unknown as Kysely<Record<string, Record<string, unknown>>>).insertInto(table).values(list.slice(i, i + size)).execute();
    }
    counts[table] = (counts[table] ?? 0) + list.length;
  }
}

/**
 * Create the legacy schema on an empty database and fill it with a deterministic
 * population (see generator.ts), a batch of members per transaction. A database that
 * already holds customers is refused: seeding twice would mix two populations.
 */
export async function seedLegacy(db: Kysely<LegacySchema>, opts: PopulationOptions, onProgress?: (done: number) => void, batch = 500): Promise<SeedResult> {
  const unknown = (opts.countries ?? []).filter((cd) => !legacyCountries.some((c) => c.cd === cd));
  if (unknown.length) throw new LegacyError(`--countries: the legacy does not sell in ${unknown.join(', ')} (it sells in ${legacyCountries.map((c) => c.cd).join(', ')})`);
  if (!Number.isSafeInteger(opts.members) || opts.members < 1 || opts.members > 10_000_000) throw new LegacyError(`--members must be a whole number from 1 to 10000000, got ${opts.members}`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(opts.asOf) || opts.asOf < '2010-02-01') throw new LegacyError(`--as-of must be a date after 2010-02-01, got "${opts.asOf}"`);
  await createLegacySchema(db);
  const existing = await db.selectFrom('customer').select('cust_id').limit(1).execute();
  if (existing.length) throw new LegacyError('the legacy database already holds customers; seed an empty database');
  const counts: Partial<Record<LegacyTable, number>> = {};
  const countries = opts.countries?.length ? legacyCountries.filter((c) => opts.countries!.includes(c.cd)) : legacyCountries;
  await db.transaction().execute((trx) => insertAll(trx, legacyReferenceRows(countries), counts));
  for (let from = 0; from < opts.members; from += batch) {
    const merged: MemberRows = {};
    for (let n = from; n < Math.min(opts.members, from + batch); n++) {
      const rows = generateMember(n, opts);
      for (const table of legacyTables) {
        const list = rows[table];
        if (list?.length) ((merged[table] ??= []) as unknown[]).push(...list);
      }
    }
    await db.transaction().execute((trx) => insertAll(trx, merged, counts));
    onProgress?.(Math.min(opts.members, from + batch));
  }
  return { members: opts.members, rows: counts };
}
