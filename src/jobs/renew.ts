import { InvalidInput } from '../domain/errors.ts';
import type { DomainEvent } from '../domain/events.ts';
import type { Invoice } from '../domain/invoice.ts';
import { invoiceIssuedEntries } from '../domain/journal.ts';
import type { Member } from '../domain/member.ts';
import { renewMember } from '../domain/renewal.ts';
import { applyPendingPostings, commitMemberChange } from '../store/ledger-postings.ts';
import { dueMembers, loadMembers, saveMembers, type DueCursor } from '../store/members.ts';
import { billedBySource } from '../migration/billing-side.ts';
import { inChunkOrOneByOne } from './chunk-commit.ts';
import { bookingDate } from './booking.ts';
import { recordRun } from './run-record.ts';
import { chunkCommitted, type JobError, type JobOptions, type JobResult, type Services } from './services.ts';

/**
 * Subscription Renewal for a business date: walk the due index, bill every
 * started period, and commit each chunk's invoices, journal, events and
 * members together. A re-run finds only members not yet advanced, so a killed
 * run resumes where it stopped and nobody is billed twice. On split stores the
 * members commit first with the ledger writes as a posting (see ledger-postings.ts).
 */
export async function runRenewal(svc: Services, date: string, opts: JobOptions = {}): Promise<JobResult> {
  const { db } = svc.store;
  const members = svc.memberStore.db;
  return recordRun(db, 'renew', date, async () => {
    await applyPendingPostings(svc, opts.checkpoint);
    const chunkSize = opts.chunkSize ?? 1000;
    const businessDate = await bookingDate(db, date);
    const counts = { members: 0, invoices: 0 };
    let leftToSource = 0;
    const errors: JobError[] = [];
    const sourceBills = await billedBySource(svc);
    let cursor: DueCursor | null = null;
    for (;;) {
      const page = await dueMembers(members, date, cursor, chunkSize);
      if (!page.cursor) break;
      cursor = page.cursor;
      // Migrated members of a country not cut over yet are still billed by the system they came from.
      const theirs = await sourceBills(page.members);
      leftToSource += theirs.size;
      const mine = theirs.size ? page.members.filter((m) => !theirs.has(m.id)) : page.members;
      if (!mine.length) continue;
      const done = await inChunkOrOneByOne(mine.map((m) => m.id), async (ids, attempt) => {
        // Someone changed a member between our read and write: read the chunk again and redo it.
        const chunk = attempt === 1 && ids.length === mine.length ? mine : [...(await loadMembers(members, ids)).values()];
        return renewChunk(svc, chunk, date, businessDate, errors, opts);
      }, (a, b) => ({ members: a.members + b.members, invoices: a.invoices + b.invoices }));
      counts.members += done.members;
      counts.invoices += done.invoices;
      await chunkCommitted(opts, 'renew.chunk-committed', counts.members);
    }
    svc.log.info({ job: 'renew', date, ...counts, leftToSource, errors: errors.length }, 'renewal finished');
    return { counts: leftToSource ? { ...counts, leftToSource } : counts, errors };
  });
}

async function renewChunk(svc: Services, members: Member[], date: string, businessDate: string, errors: JobError[], opts: JobOptions) {
  const renewed: Member[] = [];
  const invoices: Invoice[] = [];
  const events: DomainEvent[] = [];
  const chunkErrors: JobError[] = [];
  for (const m of members) {
    try {
      const r = renewMember(m, date, svc.billing);
      renewed.push(r.member);
      invoices.push(...r.invoices);
      events.push(...r.events);
    } catch (err) {
      // One member's bad data (say, a plan withdrawn from the catalog) must not stop everyone else's billing.
      if (!(err instanceof InvalidInput)) throw err;
      chunkErrors.push({ item: m.id, message: err.message });
    }
  }
  await commitMemberChange(svc, (trx) => saveMembers(trx, renewed), {
    newInvoices: invoices, journal: invoices.flatMap((i) => invoiceIssuedEntries(i, businessDate)), events,
  }, opts.checkpoint);
  errors.push(...chunkErrors);
  return { members: renewed.length, invoices: invoices.length };
}
