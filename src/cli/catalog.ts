import { readFileSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { businessDate } from '../domain/calendar.ts';
import { catalogText, formatOfFile, parseCatalogText, priceCount, type CatalogFormat } from '../domain/catalog-document.ts';
import { InvalidInput } from '../domain/errors.ts';
import { closeServices, type Services } from '../jobs/services.ts';
import { catalogVersion, importCatalog } from '../operations/catalog-operations.ts';
import { listCatalogVersions } from '../store/catalog-versions.ts';
import { configFromEnv, openServices } from '../wiring.ts';

export const catalogUsage = 'usage: tally catalog import FILE [--dry-run] [--reason TEXT] | catalog export [--format yaml|json] [--version N] [--out FILE] | catalog versions';

/** Who runs the command, as the version and the audit log name them. */
function cliActor(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the environment's name will do.
  }
  return `cli ${user}@${hostname()}`;
}

function versionOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text)) throw new InvalidInput('--version', `must be a catalog version number (0 for the built-in catalog), got "${text}"`, text);
  return Number(text);
}

async function withServices<T>(work: (svc: Services) => Promise<T>): Promise<T> {
  const svc = await openServices(configFromEnv());
  try {
    return await work(svc);
  } finally {
    await closeServices(svc);
  }
}

/**
 * `tally catalog import|export|versions`. Import reads and checks the whole file before the
 * store is opened, so a bad file writes nothing and names its field; it prints one JSON line.
 * Export prints the version in force (or `--version N`) as YAML or JSON that imports back
 * as "unchanged".
 */
export async function catalogCommand(rest: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const [sub, file, extra] = rest;
  if (sub === 'import') {
    if (!file || extra !== undefined) throw usageError(catalogUsage);
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (err) {
      throw new InvalidInput('FILE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, file);
    }
    const catalog = parseCatalogText(source, formatOfFile(file));
    const reason = text('reason') ?? `imported from ${file}`;
    if (reason.length > 500) throw new InvalidInput('--reason', 'must be at most 500 characters', reason.length);
    const result = await withServices((svc) => importCatalog(svc, catalog, {
      // Prices in force are judged by the business day, the one renewal bills.
      on: businessDate(Date.now(), svc.reportingTimeZone),
      by: { actor: cliActor(), reason, source: 'cli' },
      dryRun: values['dry-run'] === true,
    }));
    console.log(JSON.stringify(result));
    return 0;
  }
  if (sub === 'export') {
    if (file !== undefined) throw usageError(catalogUsage);
    const format = text('format') ?? 'yaml';
    if (format !== 'yaml' && format !== 'json') throw usageError(`--format must be yaml or json, got "${format}"`);
    const version = versionOption(text('version'));
    const found = await withServices((svc) => catalogVersion(svc.store.db, version));
    const header = found.version === 0
      ? ["Tally's built-in catalog (version 0: no catalog version is stored)."]
      : [`Tally catalog version ${found.version}, created ${found.createdAt} by ${found.createdBy}${found.reason ? `: ${found.reason}` : ''}.`];
    header.push(`${found.catalog.plans.length} plans, ${priceCount(found.catalog)} prices; amounts in minor units; sha256 ${found.hash}.`);
    const out = catalogText(found.catalog, format as CatalogFormat, header);
    const target = text('out');
    if (target) writeFileSync(target, out);
    else process.stdout.write(out);
    return 0;
  }
  if (sub === 'versions') {
    if (file !== undefined) throw usageError(catalogUsage);
    console.log(JSON.stringify(await withServices((svc) => listCatalogVersions(svc.store.db)), null, 2));
    return 0;
  }
  throw usageError(catalogUsage);
}
