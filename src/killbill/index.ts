/**
 * Kill Bill, as a source to migrate from: its schema, a connection that reads it exactly,
 * and a fixture for tests. Like src/legacy it imports nothing from Tally: it is the other side.
 */
export { KillBillError, killBillEngineOf, openKillBill, type KillBillDb, type KillBillEngine } from './connect.ts';
export { buildKillBillFixture, killBillFixtureAsOf, type KillBillFixture, type KillBillFixtureAccount } from './fixture.ts';
export {
  createKillBillSchema, describeMissing, killBillColumns, liveColumns, killBillRequiredColumns, killBillTables,
  type Decimal, type KillBillSchema, type KillBillTable, type LocalDate, type UtcDateTime,
} from './schema.ts';
