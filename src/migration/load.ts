import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { addDays, type IsoDate } from '../domain/calendar.ts';
import { bookedOpeningBalances, openingBalanceEntries, type JournalLine, type OpeningBalances } from '../domain/journal.ts';
import type { Member } from '../domain/member.ts';
import type { Services } from '../jobs/services.ts';
import { insertNew, upsert } from '../store/bulk.ts';
import { insertInvoices, insertJournal, lastClosedDay } from '../store/ledger.ts';
import { saveMembers } from '../store/members.ts';
import type { Schema } from '../store/schema.ts';
import type { MigratedHistory } from './transform/legacy-history.ts';
import type { QuarantineReason } from './transform/legacy-member.ts';

/**
 * The load, shared by every source: a page of transformed members written in one
 * transaction per store (the ledger's rows first, then the member aggregates with the
 * bookkeeping that says they are loaded), so a member is loaded whole or not at all and a
 * crash at any point leaves what a re-run finishes to the same end state:
 * - a member whose content hash equals what was loaded is left alone (a re-run writes nothing);
 * - a member changed at the source since is replaced whole, unless Tally has changed it
 *   since it was loaded (its version moved on): then it is left as Tally has it, and said;
 * - a member id or a gift-card code Tally already holds for someone else quarantines the member.
 */
export type TransformOutcome =
  | { sourceKey: string; memberId: string; mark: string; member: Member; history: MigratedHistory; reasons?: undefined }
  | { sourceKey: string; memberId: string; mark: string; member?: undefined; history?: undefined; reasons: QuarantineReason[] };

export interface LoadCounts {
  /** Source members seen. */
  members: number;
  loaded: number;
  replaced: number;
  unchanged: number;
  quarantined: number;
  /** Changed at the source, but also changed by Tally since it was loaded: left as Tally has it. */
  changedInTally: number;
  invoices: number;
  payments: number;
  refunds: number;
  chargebacks: number;
  giftCards: number;
  credits: number;
  invoicesLeftOut: number;
  invoicesRepaired: number;
}

export const noCounts = (): LoadCounts => ({
  members: 0, loaded: 0, replaced: 0, unchanged: 0, quarantined: 0, changedInTally: 0, invoices: 0, payments: 0, refunds: 0, chargebacks: 0,
  giftCards: 0, credits: 0, invoicesLeftOut: 0, invoicesRepaired: 0,
});

export interface LoadContext {
  source: string;
  country: string;
  runId: number;
  /** The migration day: opening balances are booked on it (or on the first day still open after it). */
  asOf: IsoDate;
}

/** Hash of everything loaded for a member: equal hashes, nothing to write. */
export function contentHash(member: Member, history: MigratedHistory): string {
  return createHash('sha256').update(JSON.stringify([member, history])).digest('hex');
}

const part = 500;
async function inParts<T>(ids: T[], work: (ids: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < ids.length; i += part) await work(ids.slice(i, i + part));
}

/** Every row the migration wrote for these members in the ledger store, but the journal (which is never deleted past a closed day). */
export async function deleteLedgerRows(trx: Kysely<Schema>, ids: string[]): Promise<void> {
  await inParts(ids, async (some) => {
    await trx.deleteFrom('invoice_lines').where('invoice_id', 'in', trx.selectFrom('invoices').select('id').where('member_id', 'in', some)).execute();
    for (const table of ['billing_history', 'invoices', 'payment_attempts', 'payments', 'refunds', 'chargebacks', 'credits', 'gift_cards'] as const) {
      await trx.deleteFrom(table).where('member_id', 'in', some).execute();
    }
  });
}

/** How the ids and keys of rows a migration wrote start, one prefix per source (`legacy-inv:…`, `killbill-txn:…`): any other row is Tally's own. */
const migratedKeyPrefixes = ['legacy-', 'killbill-'] as const;

/** Where Tally's own rows for a member show. */
const tallysOwn = [
  ['invoices', 'idem_key'], ['payment_attempts', 'idem_key'], ['payments', 'id'], ['refunds', 'id'], ['chargebacks', 'id'], ['credits', 'id'],
] as const;

/**
 * Members Tally has acted on since they were loaded: a version moved on from the one the
 * migration wrote (a renewal, a plan change, a balance; `versions` holds the members' current
 * ones), or a row the migration did not write (a collection attempt on a migrated invoice, a
 * refund, a chargeback, a credit), which need not touch the member aggregate at all. Such a
 * member is Tally's now: never replaced, never cleared.
 */
export async function changedByTally(db: Kysely<Schema>, loaded: { memberId: string; version: number }[], versions: ReadonlyMap<string, number>): Promise<Set<string>> {
  const out = new Set(loaded.filter((l) => versions.has(l.memberId) && versions.get(l.memberId) !== l.version).map((l) => l.memberId));
  await inParts(loaded.map((l) => l.memberId), async (some) => {
    for (const [table, key] of tallysOwn) {
      const rows = await db.selectFrom(table).select('member_id').distinct().where('member_id', 'in', some).where((eb) => eb.and(migratedKeyPrefixes.map((p) => eb(key, 'not like', `${p}%`)))).execute();
      for (const r of rows) out.add(r.member_id);
    }
  });
  return out;
}

/** Opening balances booked so far, per member. */
export async function bookedOpenings(db: Kysely<Schema>, ids: string[]): Promise<Map<string, OpeningBalances>> {
  const lines: { member_id: string; account: string; debit: number; credit: number }[] = [];
  await inParts(ids, async (some) => {
    lines.push(...(await db.selectFrom('journal').select(['member_id', 'account', 'debit', 'credit']).where('member_id', 'in', some).where('kind', '=', 'migration_opening').execute()));
  });
  const by = new Map<string, JournalLine[]>();
  for (const l of lines) {
    const list = by.get(l.member_id) ?? [];
    list.push({ account: l.account, debit: Number(l.debit), credit: Number(l.credit) } as JournalLine);
    by.set(l.member_id, list);
  }
  return new Map([...by].map(([id, ls]) => [id, bookedOpeningBalances(ls)]));
}

/** The day to book on: the migration day, or the first one after the last closed revenue day (a closed day never changes). */
export async function openBookingDay(db: Kysely<Schema>, asOf: IsoDate): Promise<IsoDate> {
  const closed = await lastClosedDay(db);
  return closed && closed >= asOf ? addDays(closed, 1) : asOf;
}

/**
 * Run `ledger`, `members` then `last` as one transaction when both stores are one
 * database, or each in its own, in that order: the ledger's rows are keyed, so a crash
 * after them leaves rows a re-run writes again to the same end; the member side, which
 * says "loaded", commits after them; and `last` (the run's cursor, in the ledger store)
 * only once the page is loaded on both sides.
 */
export async function inStores(
  svc: Pick<Services, 'store' | 'memberStore'>,
  ledger: (trx: Kysely<Schema>) => Promise<void>,
  members: (trx: Kysely<Schema>) => Promise<void>,
  last: (trx: Kysely<Schema>) => Promise<void> = async () => {},
): Promise<void> {
  if (svc.memberStore === svc.store) {
    await svc.store.db.transaction().execute(async (trx) => {
      await ledger(trx);
      await members(trx);
      await last(trx);
    });
    return;
  }
  await svc.store.db.transaction().execute(ledger);
  await svc.memberStore.db.transaction().execute(members);
  await svc.store.db.transaction().execute(last);
}

/**
 * Load one page of transformed members (see the module comment); `commitCursor` commits the
 * run's progress with it. A member loaded earlier that now quarantines stays as it was loaded,
 * and its quarantine row says why it is no longer followed.
 */
export async function loadPage(svc: Pick<Services, 'store' | 'memberStore' | 'checkpoint'>, ctx: LoadContext, outcomes: TransformOutcome[], counts: LoadCounts, commitCursor: (trx: Kysely<Schema>) => Promise<void>): Promise<void> {
  const mdb = svc.memberStore.db;
  const ids = outcomes.map((o) => o.memberId);
  const prior = new Map<string, Schema['migrated_members']>();
  const existing = new Map<string, number>();
  await inParts(ids, async (some) => {
    for (const r of await mdb.selectFrom('migrated_members').selectAll().where('member_id', 'in', some).execute()) prior.set(r.member_id, r);
    for (const r of await mdb.selectFrom('members').select(['id', 'version']).where('id', 'in', some).execute()) existing.set(r.id, Number(r.version));
  });
  const codes = outcomes.flatMap((o) => o.history?.giftCards.map((g) => g.code) ?? []);
  const codeHolder = new Map<string, string>();
  await inParts(codes, async (some) => {
    for (const r of await mdb.selectFrom('member_claims').select(['claim', 'member_id']).where('scope', '=', 'gift-card').where('claim', 'in', some).execute()) codeHolder.set(r.claim, r.member_id);
    for (const r of await svc.store.db.selectFrom('gift_cards').select(['code', 'member_id']).where('code', 'in', some).execute()) if (!codeHolder.has(r.code)) codeHolder.set(r.code, r.member_id ?? '(sold, not redeemed)');
  });

  const now = new Date().toISOString();
  let fresh: { o: TransformOutcome & { member: Member }; hash: string; version: number }[] = [];
  const replaced: string[] = [];
  const quarantine: { o: TransformOutcome; reasons: QuarantineReason[] }[] = [];
  const marks: Schema['migrated_members'][] = [];
  for (const o of outcomes) {
    counts.members++;
    const before = prior.get(o.memberId);
    if (o.reasons) {
      quarantine.push({ o, reasons: o.reasons });
      continue;
    }
    const taken = o.history.giftCards.filter((g) => (codeHolder.get(g.code) ?? o.memberId) !== o.memberId);
    if (!before && existing.has(o.memberId)) {
      quarantine.push({ o, reasons: [{ reason: 'member-id-taken', detail: `Tally already has a member "${o.memberId}" that no migration wrote`, source: [{ table: 'customer', key: o.sourceKey }] }] });
      continue;
    }
    if (taken.length) {
      quarantine.push({ o, reasons: taken.map((g) => ({ reason: 'gift-card-code-taken' as const, detail: `gift card ${g.code} is already ${codeHolder.get(g.code)}'s in Tally`, source: [{ table: 'gift_card', key: g.code }] })) });
      continue;
    }
    // Two members of one page holding one code: the first keeps it, as if the other came later.
    for (const g of o.history.giftCards) codeHolder.set(g.code, o.memberId);
    const hash = contentHash(o.member, o.history);
    if (before && before.content_hash === hash) {
      counts.unchanged++;
      if (before.source_mark !== o.mark) marks.push({ ...before, source_mark: o.mark });
      continue;
    }
    fresh.push({ o, hash, version: before ? Number(before.member_version) : 0 });
  }
  // Changed at the source since loaded: replaced whole, unless Tally has acted on the member since.
  const candidates = fresh.filter((f) => prior.has(f.o.memberId));
  if (candidates.length) {
    const tallys = await changedByTally(svc.store.db, candidates.map((f) => ({ memberId: f.o.memberId, version: f.version })), existing);
    counts.changedInTally += tallys.size;
    fresh = fresh.filter((f) => !tallys.has(f.o.memberId));
    replaced.push(...fresh.filter((f) => prior.has(f.o.memberId)).map((f) => f.o.memberId));
  }

  const bookOn = await openBookingDay(svc.store.db, ctx.asOf);
  const booked = replaced.length ? await bookedOpenings(svc.store.db, replaced) : new Map<string, OpeningBalances>();
  const history = fresh.map((f) => f.o.history);
  // Counted before the commit, so the run's counts committed with the page include it.
  counts.quarantined += quarantine.length;
  counts.replaced += replaced.length;
  counts.loaded += fresh.length - replaced.length;
  for (const h of history) {
    counts.invoices += h.invoices.length;
    counts.payments += h.payments.length;
    counts.refunds += h.refunds.length;
    counts.chargebacks += h.chargebacks.length;
    counts.giftCards += h.giftCards.length;
    counts.credits += h.credits.length;
    counts.invoicesLeftOut += h.leftOut;
    counts.invoicesRepaired += h.repaired;
  }
  await inStores(
    svc,
    async (trx) => {
      if (replaced.length) await deleteLedgerRows(trx, replaced);
      await insertInvoices(trx, history.flatMap((h) => h.invoices));
      await insertNew(trx, 'payment_attempts', history.flatMap((h) => h.attempts));
      await insertNew(trx, 'payments', history.flatMap((h) => h.payments));
      await insertNew(trx, 'refunds', history.flatMap((h) => h.refunds));
      await insertNew(trx, 'chargebacks', history.flatMap((h) => h.chargebacks));
      await insertNew(trx, 'credits', history.flatMap((h) => h.credits));
      await insertNew(trx, 'gift_cards', history.flatMap((h) => h.giftCards));
      await insertJournal(trx, fresh.flatMap(({ o, hash }) => openingBalanceEntries(
        { memberId: o.memberId, country: o.member.country, currency: o.member.currency }, `migration-opening:${o.memberId}:${hash.slice(0, 16)}`, bookOn,
        { giftCard: o.member.giftCardBalance, credit: o.member.creditBalance, receivable: o.history.openReceivable },
        booked.get(o.memberId) ?? { giftCard: 0, credit: 0, receivable: 0 },
      )));
      svc.checkpoint?.('migrate.ledger-written');
    },
    async (trx) => {
      await saveMembers(trx, fresh.map(({ o, version }) => ({ ...o.member, version })));
      if (replaced.length) await inParts(replaced, (some) => trx.deleteFrom('member_claims').where('scope', '=', 'gift-card').where('member_id', 'in', some).execute());
      await insertNew(trx, 'member_claims', fresh.flatMap(({ o }) => o.history.giftCards.map((g) => ({ scope: 'gift-card', claim: g.code, member_id: o.memberId, claimed_at: now }))));
      const loadedRows = fresh.map(({ o, hash, version }) => ({
        member_id: o.memberId, source: ctx.source, country: ctx.country, source_key: o.sourceKey, source_mark: o.mark, content_hash: hash,
        member_version: version + 1, invoices_left_out: o.history.leftOut, run_id: ctx.runId, migrated_at: now,
      }));
      await upsert(trx, 'migrated_members', ['member_id'], [...loadedRows, ...marks], ['source_mark', 'content_hash', 'member_version', 'invoices_left_out', 'run_id', 'migrated_at']);
      // A member that loads now leaves the quarantine; one that does not is (re)recorded with today's reasons.
      const loadedKeys = fresh.map(({ o }) => o.sourceKey);
      if (loadedKeys.length) await inParts(loadedKeys, (some) => trx.deleteFrom('migration_quarantine').where('source', '=', ctx.source).where('source_key', 'in', some).execute());
      await upsert(trx, 'migration_quarantine', ['source', 'source_key'], quarantine.map(({ o, reasons }) => ({
        source: ctx.source, source_key: o.sourceKey, member_id: o.memberId, country: ctx.country, run_id: ctx.runId, reasons: JSON.stringify(reasons), quarantined_at: now,
      })), ['member_id', 'country', 'run_id', 'reasons', 'quarantined_at']);
      svc.checkpoint?.('migrate.members-written');
    },
    commitCursor,
  );
}
