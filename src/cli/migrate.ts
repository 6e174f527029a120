import { readFileSync } from 'node:fs';
import { builtInCatalog, catalogIndex } from '../domain/catalog.ts';
import { InvalidInput } from '../domain/errors.ts';
import { dryRunCountry, type CountryDryRun } from '../migration/dry-run.ts';
import { parsePlanMapping, referenceLegacyPlans, type PlanMapping } from '../migration/plan-mapping.ts';
import { openLegacySource } from '../migration/sources/legacy-source.ts';
import { logger } from '../wiring.ts';
import { jobProgress } from './progress.ts';

function readMapping(file: string | undefined): PlanMapping {
  if (!file) return referenceLegacyPlans;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidInput('--plans', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parsePlanMapping(text, file.endsWith('.json') ? 'json' : 'yaml');
}

/** `tally migrate --dry-run`: each country checked and counted against Tally's catalog, nothing written. */
export async function dryRun(opts: { from: string; countries: string[]; plansFile?: string }): Promise<CountryDryRun[]> {
  const plans = readMapping(opts.plansFile);
  const source = await openLegacySource(opts.from);
  try {
    const reference = await source.reference();
    const log = logger(process.env.TALLY_LOG_LEVEL || 'info');
    const out: CountryDryRun[] = [];
    for (const country of opts.countries) {
      const progress = jobProgress(log, 'migrate --dry-run', country);
      out.push(await dryRunCountry(source, country, { catalog: catalogIndex(builtInCatalog), plans, ...reference }, { onProgress: progress.tick }).finally(progress.stop));
    }
    return out;
  } finally {
    await source.close();
  }
}
