import { pino, type Logger } from 'pino';
import { builtInCatalog, catalogIndex, type Catalog } from './domain/catalog.ts';
import { builtInTaxRules, tableTaxEngine, type TaxRule } from './domain/tax/index.ts';
import type { Services } from './jobs/services.ts';
import { simulatedProcessor } from './payments/simulated-processor.ts';
import { openStore } from './store/connect.ts';

export interface Config {
  dbUrl: string;
  reportingTimeZone: string;
  logLevel: string;
}

/** Configuration from the environment, with safe defaults: the embedded store under var/. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    dbUrl: env.TALLY_DB_URL || 'sqlite:var/tally.db',
    reportingTimeZone: env.TALLY_REPORTING_TZ || 'UTC',
    logLevel: env.TALLY_LOG_LEVEL || 'info',
  };
}

export function logger(level: string): Logger {
  // Logs go to stderr so a command's stdout stays its result (JSON, CSV).
  return pino({ level, base: undefined, redact: ['paymentToken', '*.paymentToken', 'token'] }, pino.destination(2));
}

export async function openServices(
  config: Config,
  overrides: { catalog?: Catalog; taxRules?: TaxRule[]; log?: Logger } = {},
): Promise<Services> {
  const store = await openStore(config.dbUrl);
  return {
    store,
    billing: { catalog: catalogIndex(overrides.catalog ?? builtInCatalog), tax: tableTaxEngine(overrides.taxRules ?? builtInTaxRules) },
    gateway: simulatedProcessor(store.db),
    log: overrides.log ?? logger(config.logLevel),
    reportingTimeZone: config.reportingTimeZone,
  };
}
