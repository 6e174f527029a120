import { InvalidInput } from '../domain/errors.ts';
import { openingBalanceEntries, noOpeningBalances } from '../domain/journal.ts';
import type { IsoDate } from '../domain/calendar.ts';
import type { Services } from '../jobs/services.ts';
import { insertReturningId } from '../store/bulk.ts';
import { insertJournal, lastClosedDay } from '../store/ledger.ts';
import { loadMembers } from '../store/members.ts';
import { bookedOpenings, changedByTally, deleteLedgerRows, inStores, openBookingDay } from './load.ts';

export interface CountryCleared {
  country: string;
  runId: number;
  members: number;
  quarantined: number;
  /** Opening-balance lines on days already closed, which never change: reversed on the first open day instead of deleted. */
  reversedMembers: number;
}

/**
 * `tally migrate --clear`: remove exactly what a country's migration wrote — its members,
 * their invoices, lines, history, payments, attempts, refunds, chargebacks, credits, gift
 * cards and claims, the migration's own records and the country's quarantine — and nothing
 * else. Opening-balance journal lines on days not yet closed are deleted; on a closed day
 * (which never changes) they are reversed on the first open day.
 *
 * A member Tally has changed since it was migrated (billed, paid, refunded, changed plan)
 * is Tally's now: clearing would lose what Tally did, so then nothing is cleared and the
 * members are named. Killed part way, the same command finishes the job.
 */
export async function clearCountry(svc: Services, country: string, asOf: IsoDate, opts: { onProgress?: (done: number) => void } = {}): Promise<CountryCleared> {
  const mdb = svc.memberStore.db;
  const migrated = await mdb.selectFrom('migrated_members').select(['member_id', 'member_version', 'source']).where('country', '=', country).orderBy('member_id').execute();
  const touched = [...(await changedSinceMigration(svc, migrated))].sort();
  if (touched.length) {
    throw new InvalidInput('--clear', `${touched.length} member(s) of ${country} were changed by Tally since they were migrated (${touched.slice(0, 5).join(', ')}${touched.length > 5 ? ', …' : ''}): clearing would lose what Tally did; nothing was cleared`, country);
  }
  const runId = await insertReturningId(svc.store.db, 'migration_runs', {
    source: migrated[0]?.source ?? '-', country, mode: 'clear', status: 'running', started_at: new Date().toISOString(), finished_at: null, cursor: null,
    options: JSON.stringify({ clear: true }), counts: '{}', errors: '[]',
  });
  const reversedMembers = await clearMembers(svc, migrated.map((m) => m.member_id), runId, asOf, opts.onProgress);
  const { numDeletedRows } = await mdb.deleteFrom('migration_quarantine').where('country', '=', country).executeTakeFirst();
  const result = { country, runId, members: migrated.length, quarantined: Number(numDeletedRows), reversedMembers };
  await svc.store.db.updateTable('migration_runs').set({ status: 'finished', finished_at: new Date().toISOString(), counts: JSON.stringify(result) }).where('id', '=', runId).execute();
  return result;
}

/**
 * Which of these migrated members Tally has changed since the migration wrote them (billed,
 * paid, refunded, changed plan): Tally's now, so neither a clear nor a re-migration may touch them.
 */
export async function changedSinceMigration(svc: Services, migrated: readonly { member_id: string; member_version: number | string }[]): Promise<Set<string>> {
  const versions = new Map<string, number>();
  for (let i = 0; i < migrated.length; i += 1000) {
    const ids = migrated.slice(i, i + 1000).map((m) => m.member_id);
    for (const r of await svc.memberStore.db.selectFrom('members').select(['id', 'version']).where('id', 'in', ids).execute()) versions.set(r.id, Number(r.version));
  }
  return changedByTally(svc.store.db, migrated.map((m) => ({ memberId: m.member_id, version: Number(m.member_version) })), versions);
}

/**
 * Remove these migrated members and everything the migration wrote for them (see
 * clearCountry), 500 at a time, each batch in one transaction per store. The caller has
 * checked that Tally has not changed them. Returns how many had opening balances on closed
 * days, reversed instead of deleted.
 */
export async function clearMembers(svc: Services, memberIds: string[], runId: number, asOf: IsoDate, onProgress?: (done: number) => void): Promise<number> {
  const mdb = svc.memberStore.db;
  const closed = await lastClosedDay(svc.store.db);
  const bookOn = await openBookingDay(svc.store.db, asOf);
  let reversedMembers = 0;
  let done = 0;
  for (let i = 0; i < memberIds.length; i += 500) {
    const ids = memberIds.slice(i, i + 500);
    const members = await loadMembers(mdb, ids);
    await inStores(
      svc,
      async (trx) => {
        let lines = trx.deleteFrom('journal').where('member_id', 'in', ids).where('kind', '=', 'migration_opening');
        if (closed) lines = lines.where('business_date', '>', closed);
        await lines.execute();
        const left = await bookedOpenings(trx, ids);
        reversedMembers += left.size;
        await insertJournal(trx, [...left].flatMap(([id, booked]) => {
          const m = members.get(id);
          return m ? openingBalanceEntries({ memberId: id, country: m.country, currency: m.currency }, `migration-clear:${id}:${runId}`, bookOn, noOpeningBalances, booked) : [];
        }));
        await deleteLedgerRows(trx, ids);
      },
      async (trx) => {
        await trx.deleteFrom('member_claims').where('scope', '=', 'gift-card').where('member_id', 'in', ids).execute();
        await trx.deleteFrom('members').where('id', 'in', ids).execute();
        await trx.deleteFrom('migrated_members').where('member_id', 'in', ids).execute();
      },
    );
    done += ids.length;
    onProgress?.(done);
  }
  return reversedMembers;
}
