/**
 * The reference legacy billing system: the other side of a migration. It imports nothing
 * from Tally; Tally's migration tools read it through its own schema.
 */
export {
  accountsBilledElsewhere, accountsOfCountries, billingStoppedCountries, ensureMemberBillingStopTable, memberBillingStopRow, resumeBillingCountry, resumeBillingMembers,
  stopBillingCountry, stopBillingMembers,
} from './billing-stop.ts';
export { LegacyError, legacyEngineOf, openLegacy, type LegacyDb, type LegacyEngine } from './connect.ts';
export { dec4, formatDec4, includedTax, roundBankers, timesRate, type Dec4 } from './decimal.ts';
export { generateMember, legacyWartRates, type MemberRows, type PopulationOptions } from './generator.ts';
export { legacyCountries, legacyPlans, legacyReferenceRows } from './reference-data.ts';
export { runLegacyDay, type LegacyDayResult } from './run-day.ts';
export { createLegacySchema, legacyTables, memberApiTables, operationTables, type LegacySchema, type LegacyTable } from './schema.ts';
export { seedLegacy, type SeedResult } from './seed.ts';
export { createLegacyApiKey, legacyApiRoles, type LegacyApiClient, type LegacyApiRole } from './member-api-keys.ts';
export { minorUnits as legacyMinorUnits } from './member-api-views.ts';
export { buildLegacyApi, serveLegacy, type LegacyApiOptions } from './serve.ts';
