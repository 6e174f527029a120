import type { Kysely } from 'kysely';
import type { LegacyDb } from '../legacy/index.ts';
import { customerCountry, legacyAlpha3 } from '../migration/sources/legacy-source.ts';
import { upsert } from '../store/bulk.ts';
import type { Schema } from '../store/schema.ts';

/** Where a member's country can be learnt: member ids → their countries (ids it does not know are left out). */
export interface CountrySource {
  name: 'tally' | 'legacy';
  countries(memberIds: string[]): Promise<Map<string, string>>;
  /** Every member it knows, a keyset page at a time (for `tally proxy directory sync`). */
  page(after: string, limit: number): Promise<{ memberId: string; country: string }[]>;
}

/** Tally's members: the member store knows each one's country. */
export function tallyCountries(db: Kysely<Schema>): CountrySource {
  return {
    name: 'tally',
    async countries(ids) {
      const rows = await db.selectFrom('members').select(['id', 'country']).where('id', 'in', ids).execute();
      return new Map(rows.map((r) => [r.id, r.country]));
    },
    async page(after, limit) {
      const rows = await db.selectFrom('members').select(['id', 'country']).where('id', '>', after).orderBy('id').limit(limit).execute();
      return rows.map((r) => ({ memberId: r.id, country: r.country }));
    },
  };
}

/** The legacy's customers: account number → country, however the legacy spelled it (three letters, lower case, spaces). */
export function legacyCountries(legacy: LegacyDb): CountrySource {
  let alpha3: Map<string, string> | undefined;
  const twoLetter = async (code: string | null) => {
    alpha3 ??= await legacyAlpha3(legacy.db);
    return code === null ? null : alpha3.get(code) ?? code;
  };
  const rows = async (found: { acct_no: string; cd: string | null }[]) => {
    const out: { memberId: string; country: string }[] = [];
    for (const r of found) {
      const country = await twoLetter(r.cd);
      if (country && /^[A-Z]{2}$/.test(country)) out.push({ memberId: r.acct_no, country });
    }
    return out;
  };
  return {
    name: 'legacy',
    async countries(ids) {
      const found = await legacy.db.selectFrom('customer').select(['acct_no', customerCountry.as('cd')]).where('acct_no', 'in', ids).execute();
      return new Map((await rows(found)).map((r) => [r.memberId, r.country]));
    },
    async page(after, limit) {
      return rows(await legacy.db.selectFrom('customer').select(['acct_no', customerCountry.as('cd')]).where('acct_no', '>', after).orderBy('acct_no').limit(limit).execute());
    },
  };
}

/**
 * Member id → country for the proxy, kept from both sides: a bounded in-process cache over
 * the member_directory table, which a miss fills from Tally's members, then the legacy's
 * customers; a sign-up through the proxy records its member as soon as it succeeds. A
 * member's country never changes (a move is a new account on both systems), so an entry
 * once known is never stale.
 */
export class MemberDirectory {
  private readonly cache = new Map<string, string>();

  constructor(private readonly db: Kysely<Schema>, private readonly sources: CountrySource[], private readonly maxCached = 500_000) {}

  async countryOf(memberId: string): Promise<string | null> {
    const cached = this.cache.get(memberId);
    if (cached) return cached;
    const row = await this.db.selectFrom('member_directory').select('country').where('member_id', '=', memberId).executeTakeFirst();
    if (row) return this.remember(memberId, row.country);
    for (const source of this.sources) {
      const country = (await source.countries([memberId])).get(memberId);
      if (country) {
        await this.record(memberId, country, source.name);
        return country;
      }
    }
    return null;
  }

  async record(memberId: string, country: string, seenIn: 'tally' | 'legacy' | 'signup'): Promise<void> {
    await upsert(this.db, 'member_directory', ['member_id'], [{ member_id: memberId, country, seen_in: seenIn, updated_at: new Date().toISOString() }], ['country', 'seen_in', 'updated_at']);
    this.remember(memberId, country);
  }

  private remember(memberId: string, country: string): string {
    // Oldest first out: a Map iterates in insertion order.
    if (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(memberId, country);
    return country;
  }
}

/** Fill the directory from each source, a page at a time; returns how many entries each gave. */
export async function syncDirectory(db: Kysely<Schema>, sources: CountrySource[], pageSize = 5000, onProgress?: (done: number) => void): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let done = 0;
  for (const source of sources) {
    counts[source.name] = 0;
    let after = '';
    for (;;) {
      const page = await source.page(after, pageSize);
      if (!page.length) break;
      const at = new Date().toISOString();
      await upsert(db, 'member_directory', ['member_id'], page.map((p) => ({ member_id: p.memberId, country: p.country, seen_in: source.name, updated_at: at })), ['country', 'seen_in', 'updated_at']);
      counts[source.name]! += page.length;
      done += page.length;
      onProgress?.(done);
      after = page.at(-1)!.memberId;
    }
  }
  return counts;
}
