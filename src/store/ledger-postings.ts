import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DomainEvent } from '../domain/events.ts';
import type { Invoice } from '../domain/invoice.ts';
import type { JournalLine } from '../domain/journal.ts';
import { insertNew, insertReturningId, upsert } from './bulk.ts';
import type { Store } from './connect.ts';
import { insertInvoices, insertJournal, saveInvoices } from './ledger.ts';
import { appendEvents } from './outbox.ts';
import type { ChargebackRow, CreditRow, GiftCardRow, PaymentAttemptRow, PaymentRow, RefundRow, Schema } from './schema.ts';

/** What a member change writes to the ledger: every part keyed, so writing it twice writes it once. */
export interface LedgerPosting {
  newInvoices?: Invoice[];
  invoiceUpdates?: Invoice[];
  attempts?: PaymentAttemptRow[];
  payments?: PaymentRow[];
  journal?: JournalLine[];
  giftCards?: GiftCardRow[];
  credits?: CreditRow[];
  refunds?: RefundRow[];
  /** Refunds already recorded (as intents) whose outcome is now known. */
  refundUpdates?: RefundRow[];
  chargebacks?: ChargebackRow[];
  events?: DomainEvent[];
}

/**
 * The member store (member aggregates, the audit log) and the ledger store
 * (invoices, payments, journal, outbox, job records). They are the same
 * store unless TALLY_MEMBER_DB_URL and TALLY_LEDGER_DB_URL differ.
 */
export interface Stores {
  store: Store;
  memberStore: Store;
}

export function storesAreSplit(s: Stores): boolean {
  return s.store !== s.memberStore;
}

export async function writePosting(trx: Kysely<Schema>, p: LedgerPosting): Promise<void> {
  if (p.newInvoices?.length) await insertInvoices(trx, p.newInvoices);
  if (p.invoiceUpdates?.length) await saveInvoices(trx, p.invoiceUpdates);
  if (p.attempts?.length) await upsert(trx, 'payment_attempts', ['idem_key'], p.attempts, ['status', 'decline_code', 'reference']);
  if (p.payments?.length) await insertNew(trx, 'payments', p.payments);
  if (p.journal?.length) await insertJournal(trx, p.journal);
  if (p.giftCards?.length) await insertNew(trx, 'gift_cards', p.giftCards);
  if (p.credits?.length) await insertNew(trx, 'credits', p.credits);
  if (p.refunds?.length) await insertNew(trx, 'refunds', p.refunds);
  if (p.refundUpdates?.length) await upsert(trx, 'refunds', ['id'], p.refundUpdates, ['status', 'reference', 'tax']);
  if (p.chargebacks?.length) await insertNew(trx, 'chargebacks', p.chargebacks);
  if (p.events?.length) await appendEvents(trx, p.events);
}

/**
 * Commit a member change together with the ledger writes it decided.
 *
 * On one store this is one transaction. On split stores there is no
 * transaction across both, so the member store is the commit point: the
 * members (with their version check) and the posting commit there together;
 * the posting is then written to the ledger and removed. A crash after the
 * member commit leaves the posting for `applyPendingPostings`, which every job
 * runs first; a crash before it leaves nothing at all. Ledger writes are keyed,
 * so a posting applied twice lands once.
 */
export async function commitMemberChange(
  s: Stores,
  writeMembers: (trx: Kysely<Schema>) => Promise<void>,
  posting: LedgerPosting,
  checkpoint?: (point: string) => void,
): Promise<void> {
  if (!storesAreSplit(s)) {
    await s.store.db.transaction().execute(async (trx) => {
      await writePosting(trx, posting);
      await writeMembers(trx);
    });
    return;
  }
  const keyed: KeyedPosting = { ...posting, key: randomUUID() };
  const id = await s.memberStore.db.transaction().execute(async (trx) => {
    await writeMembers(trx);
    return insertReturningId(trx, 'ledger_postings', { created_at: new Date().toISOString(), body: JSON.stringify(keyed) });
  });
  checkpoint?.('posting.member-committed');
  await applyPosting(s, id, keyed, checkpoint);
}

/** A posting as stored: with a key of its own, so the ledger applies it once (older postings have none). */
type KeyedPosting = LedgerPosting & { key?: string };

/**
 * Write a posting to the ledger, once: its key is claimed in the same ledger transaction.
 * Every write is keyed, so applying twice would land once anyway, except an invoice's
 * state, which is overwritten: a slow second applier of an old posting (its writer and
 * a member operation elsewhere both applying it) could otherwise write an invoice state
 * back over a later one.
 */
async function applyPosting(s: Stores, id: number, posting: KeyedPosting, checkpoint?: (point: string) => void): Promise<void> {
  await s.store.db.transaction().execute(async (trx) => {
    if (posting.key && !(await insertNew(trx, 'applied_postings', [{ posting_key: posting.key, applied_at: new Date().toISOString() }]))) return;
    await writePosting(trx, posting);
  });
  checkpoint?.('posting.ledger-written');
  await s.memberStore.db.deleteFrom('ledger_postings').where('id', '=', id).execute();
}

/**
 * Forget the keys of postings applied more than `olderThanMs` ago: by then the posting is
 * long deleted from the member store and no applier can still hold it. Returns how many.
 */
export async function forgetAppliedPostings(s: Stores, olderThanMs = 24 * 3600_000): Promise<number> {
  if (!storesAreSplit(s)) return 0;
  const res = await s.store.db.deleteFrom('applied_postings').where('applied_at', '<', new Date(Date.now() - olderThanMs).toISOString()).executeTakeFirst();
  return Number(res.numDeletedRows);
}

/** Apply postings a crash left behind, oldest first, so later invoice states overwrite earlier ones. Returns how many. */
export async function applyPendingPostings(s: Stores, checkpoint?: (point: string) => void): Promise<number> {
  if (!storesAreSplit(s)) return 0;
  let applied = 0;
  for (;;) {
    const rows = await s.memberStore.db.selectFrom('ledger_postings').select(['id', 'body']).orderBy('id').limit(100).execute();
    for (const r of rows) await applyPosting(s, r.id, JSON.parse(r.body) as KeyedPosting, checkpoint);
    applied += rows.length;
    if (rows.length < 100) return applied;
  }
}
