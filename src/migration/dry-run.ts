import type { CatalogIndex } from '../domain/catalog.ts';
import { InvalidInput } from '../domain/errors.ts';
import { checkPlanMapping, type PlanMapping } from './plan-mapping.ts';
import type { SourceAdapter } from './migrate-country.ts';
import type { MigrationSource } from './source.ts';
import type { QuarantineReason } from './transform/legacy-member.ts';

/** What migrating a country would do, found without writing anything. */
export interface CountryDryRun {
  country: string;
  members: number;
  /** Members that transform whole. */
  ready: number;
  quarantined: number;
  /** Quarantined members by reason (a member may have several), with up to three examples each. */
  reasons: Record<string, { members: number; examples: { member: string; detail: string; source: QuarantineReason['source'] }[] }>;
}

/**
 * Read a country through the source a page at a time, check its plans against the mapping
 * (every unmapped code in use listed at once, before anything else), and transform every
 * member exactly as the migration would (aggregate and history, the same horizon): counts of
 * what would load and what would be quarantined, and why. Nothing is written anywhere;
 * memory holds one page.
 */
/**
 * Refuse a country before anything of it is written: the source has no members there, a plan
 * in use has no mapping (all listed), or the source's own preflight finds data Tally cannot
 * hold at all (a currency it does not know).
 */
export async function checkSourceCountry<M>(source: MigrationSource<M>, known: { country: string }[], country: string, ctx: { catalog: CatalogIndex; plans: PlanMapping }): Promise<void> {
  if (!known.some((c) => c.country === country)) {
    throw new InvalidInput('--country', `the source has no members in "${country}" (it has ${known.map((c) => c.country).join(', ') || 'none'})`, country);
  }
  checkPlanMapping(ctx.plans, ctx.catalog, await source.plansInUse(country), country, source.name === 'killbill' ? 'Kill Bill' : source.name);
  await source.preflight?.(country);
}

export async function dryRunCountry<M>(
  adapter: SourceAdapter<M>,
  country: string,
  ctx: { catalog: CatalogIndex; plans: PlanMapping },
  opts: { pageSize?: number; onProgress?: (done: number) => void } = {},
): Promise<CountryDryRun> {
  const { source } = adapter;
  await checkSourceCountry(source, await source.countries(), country, ctx);
  const result: CountryDryRun = { country, members: 0, ready: 0, quarantined: 0, reasons: {} };
  let cursor: string | null = null;
  do {
    const page: { members: M[]; cursor: string | null } = await source.page(country, cursor, opts.pageSize ?? 1000, { historySince: adapter.historySince });
    for (const m of page.members) {
      result.members++;
      const r = adapter.transform(m);
      if (!r.reasons) {
        result.ready++;
        continue;
      }
      result.quarantined++;
      for (const reason of new Set(r.reasons.map((q) => q.reason))) {
        const entry = (result.reasons[reason] ??= { members: 0, examples: [] });
        entry.members++;
        const q = r.reasons.find((x) => x.reason === reason)!;
        if (entry.examples.length < 3) entry.examples.push({ member: r.memberId, detail: q.detail, source: q.source });
      }
    }
    cursor = page.cursor;
    opts.onProgress?.(result.members);
  } while (cursor !== null);
  return result;
}
