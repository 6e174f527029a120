import { parse as parseYaml } from 'yaml';
import type { CatalogIndex } from '../domain/catalog.ts';
import { InvalidInput } from '../domain/errors.ts';

/**
 * Which Tally plan each legacy plan code becomes. The legacy's catalog is its own (its codes,
 * its 2010 launch plans), so the mapping is the user's, given as a file:
 *
 *     plans:
 *       STRM_STD_M: standard
 *       STRM_1S_2010: basic      # obsolete code: its members keep their legacy price
 *
 * (YAML or JSON). Every error names its field.
 */
export type PlanMapping = ReadonlyMap<string, string>;

/** The mapping for the reference legacy system (src/legacy): what `--plans` defaults to for `--source legacy`. */
export const referenceLegacyPlans: PlanMapping = new Map([
  ['STRM_BAS_M', 'basic'], ['STRM_STD_M', 'standard'], ['STRM_PRE_M', 'premium'], ['STRM_STD_Y', 'standard-annual'],
  ['STRM_TRL_M', 'standard-trial'], ['STRM_1S_2010', 'basic'], ['STRM_2S_2010', 'standard'], ['DVD_1', 'dvd-1'], ['DVD_2', 'dvd-2'],
]);

export function parsePlanMapping(text: string, format: 'yaml' | 'json'): PlanMapping {
  let data: unknown;
  try {
    data = format === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new InvalidInput('plans', `the mapping is not valid ${format.toUpperCase()}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new InvalidInput('plans', 'the mapping must be an object with a "plans" key');
  const extra = Object.keys(data).filter((k) => k !== 'plans');
  if (extra.length) throw new InvalidInput(extra[0]!, 'is not a known field (the mapping has "plans" only)');
  const plans = (data as { plans?: unknown }).plans;
  if (!plans || typeof plans !== 'object' || Array.isArray(plans)) throw new InvalidInput('plans', 'must map legacy plan codes to Tally plan ids, e.g. plans: { STRM_STD_M: standard }');
  const out = new Map<string, string>();
  for (const [code, plan] of Object.entries(plans)) {
    if (typeof plan !== 'string' || !plan.trim()) throw new InvalidInput(`plans.${code}`, `must be a Tally plan id, got ${JSON.stringify(plan)}`, plan);
    out.set(code, plan.trim());
  }
  return out;
}

/**
 * Check a mapping against Tally's catalog and the legacy codes a country uses. Every code in
 * use without a mapping is listed (all of them, so one edit fixes the file), and so is every
 * mapping to a plan Tally does not have; either refuses the country before anything is written.
 */
export function checkPlanMapping(mapping: PlanMapping, catalog: CatalogIndex, codesInUse: Iterable<string>, country: string, sourceName = 'legacy'): void {
  const unmapped = [...new Set(codesInUse)].filter((c) => !mapping.has(c)).sort();
  if (unmapped.length) {
    throw new InvalidInput('plans', `${sourceName} plans in use in ${country} without a mapping: ${unmapped.join(', ')}; add them to the mapping (nothing of ${country} was written)`, unmapped);
  }
  const unknown = [...mapping].filter(([, plan]) => !catalog.hasPlan(plan));
  if (unknown.length) {
    throw new InvalidInput(`plans.${unknown[0]![0]}`, `maps to plans Tally does not have: ${unknown.map(([code, plan]) => `${code} → ${plan}`).join(', ')}`, unknown.map(([, p]) => p));
  }
}
