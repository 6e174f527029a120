import { pino, type Logger } from 'pino';
import { catalogIndex, type Catalog } from './domain/catalog.ts';
import { builtInTaxRules, tableTaxEngine, type TaxRule } from './domain/tax/index.ts';
import type { Services } from './jobs/services.ts';
import { catalogInForce } from './operations/catalog-operations.ts';
import { simulatedProcessor } from './payments/simulated-processor.ts';
import { openStore } from './store/connect.ts';

export interface Config {
  dbUrl: string;
  /** The environment variable dbUrl came from, named in errors. */
  dbSetting?: string;
  /** Where member aggregates and the audit log live; the ledger store unless set. */
  memberDbUrl?: string;
  reportingTimeZone: string;
  logLevel: string;
}

/** Configuration from the environment, with safe defaults: the embedded store under var/. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    // The ledger store (invoices, payments, journal, outbox, job records) and, unless split off, the members.
    dbUrl: env.TALLY_LEDGER_DB_URL || env.TALLY_DB_URL || 'sqlite:var/tally.db',
    dbSetting: env.TALLY_LEDGER_DB_URL ? 'TALLY_LEDGER_DB_URL' : 'TALLY_DB_URL',
    memberDbUrl: env.TALLY_MEMBER_DB_URL || undefined,
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
  const store = await openStore(config.dbUrl, { setting: config.dbSetting ?? 'TALLY_DB_URL' });
  const split = config.memberDbUrl !== undefined && config.memberDbUrl !== config.dbUrl;
  let memberStore = store;
  if (split) {
    memberStore = await openStore(config.memberDbUrl!, { setting: 'TALLY_MEMBER_DB_URL' }).catch(async (err: unknown) => {
      await store.close();
      throw err;
    });
  }
  // A catalog given here (a scenario's) is billed as it is; otherwise the latest version stored, or the built-in one while none is.
  const catalog = overrides.catalog ? catalogIndex(overrides.catalog) : await catalogInForce(store.db).catch(async (err: unknown) => {
    await store.close();
    if (memberStore !== store) await memberStore.close();
    throw err;
  });
  return {
    store,
    memberStore,
    billing: { catalog, tax: tableTaxEngine(overrides.taxRules ?? builtInTaxRules) },
    gateway: simulatedProcessor(store.db),
    log: overrides.log ?? logger(config.logLevel),
    reportingTimeZone: config.reportingTimeZone,
  };
}
