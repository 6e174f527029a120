import type { Kysely } from 'kysely';
import { memberStatus, nextDueDate, type Member } from '../domain/member.ts';
import { insertNew, upsert } from './bulk.ts';
import type { MemberRow, Schema } from './schema.ts';

/** Someone else wrote the member since we read it; the operation must be re-run on a fresh read. */
export class VersionConflict extends Error {
  override name = 'VersionConflict';
}

type Stored = Omit<Member, 'id' | 'version'>;

export interface RetryPolicy {
  /** Attempts in all before the conflict is passed on. */
  attempts: number;
  /** First pause, doubled after each conflict up to `maxDelayMs`; each pause is drawn at random below its bound. */
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * Conflicts on one member come from the few writers one member can have at once (its
 * requests in other processes, a job chunk holding it): 40 attempts with full-jitter
 * backoff capped at 250 ms wait out several seconds of such contention, where a fixed
 * five immediate retries gave up under 20 parallel requests.
 */
export const conflictRetry: RetryPolicy = { attempts: 40, initialDelayMs: 2, maxDelayMs: 250 };

/**
 * Run `work` and run it again when another writer changed a member it read, after a
 * random pause (so racing writers spread out instead of colliding again); `work` learns
 * the attempt number so it can read afresh on a retry.
 */
export async function retryOnConflict<T>(work: (attempt: number) => Promise<T>, policy: Partial<RetryPolicy> = {}): Promise<T> {
  const { attempts, initialDelayMs, maxDelayMs } = { ...conflictRetry, ...policy };
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (err) {
      if (!mayRetry(err) || attempt >= attempts) throw err;
      const bound = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * bound));
    }
  }
}

/**
 * A version conflict, or a server undoing one of two racing transactions (an InnoDB
 * deadlock or lock-wait timeout, a PostgreSQL serialization failure or deadlock): the
 * transaction wrote nothing, and the work redone on a fresh read settles it.
 */
export function mayRetry(err: unknown): boolean {
  if (err instanceof VersionConflict) return true;
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; errno?: unknown };
  return e.errno === 1213 || e.errno === 1205 || e.code === '40001' || e.code === '40P01' || e.code === 'SQLITE_BUSY';
}

const inFlight = new Map<string, Promise<unknown>>();

/**
 * Operations on one member in this process run one after another, in arrival order:
 * they would otherwise only race each other to the version check and all but one
 * start over. Writers in other processes are still caught by the version check.
 */
export function serializedByMember<T>(memberId: string, work: () => Promise<T>): Promise<T> {
  const before = inFlight.get(memberId) ?? Promise.resolve();
  const run = before.then(work, work);
  const settled = run.then(() => undefined, () => undefined);
  inFlight.set(memberId, settled);
  void settled.then(() => {
    if (inFlight.get(memberId) === settled) inFlight.delete(memberId);
  });
  return run;
}

export function memberToRow(m: Member, version: number): MemberRow {
  const { id, version: _v, ...rest } = m;
  return { id, version, country: m.country, status: memberStatus(m), next_due: nextDueDate(m), email: m.email, data: JSON.stringify(rest) };
}

export function rowToMember(r: Pick<MemberRow, 'id' | 'version' | 'data'>): Member {
  return { id: r.id, version: r.version, ...(JSON.parse(r.data) as Stored) };
}

export async function loadMember(db: Kysely<Schema>, id: string): Promise<Member | undefined> {
  const row = await db.selectFrom('members').select(['id', 'version', 'data']).where('id', '=', id).executeTakeFirst();
  return row && rowToMember(row);
}

export async function loadMembers(db: Kysely<Schema>, ids: string[]): Promise<Map<string, Member>> {
  const out = new Map<string, Member>();
  for (let i = 0; i < ids.length; i += 5000) {
    const rows = await db.selectFrom('members').select(['id', 'version', 'data']).where('id', 'in', ids.slice(i, i + 5000)).execute();
    for (const r of rows) out.set(r.id, rowToMember(r));
  }
  return out;
}

export interface DueCursor {
  due: string;
  id: string;
}

/** Members renewal has work for by `date`, in due-index order after the cursor: cost grows with who is due, not with all members. */
export async function dueMembers(db: Kysely<Schema>, date: string, after: DueCursor | null, limit: number): Promise<{ members: Member[]; cursor: DueCursor | null }> {
  let q = db.selectFrom('members').select(['id', 'version', 'data', 'next_due']).where('next_due', '<=', date);
  if (after) {
    q = q.where((eb) => eb.or([eb('next_due', '>', after.due), eb.and([eb('next_due', '=', after.due), eb('id', '>', after.id)])]));
  }
  const rows = await q.orderBy('next_due').orderBy('id').limit(limit).execute();
  const last = rows.at(-1);
  return { members: rows.map(rowToMember), cursor: last ? { due: last.next_due!, id: last.id } : null };
}

/**
 * Write members read earlier, each at its read version + 1 (a new member has version 0).
 * Throws VersionConflict, writing nothing the caller's transaction keeps, if any was changed meanwhile.
 */
export async function saveMembers(db: Kysely<Schema>, members: Member[]): Promise<void> {
  const rows = members.map((m) => memberToRow(m, m.version + 1));
  const written = await upsert(db, 'members', ['id'], rows, ['version', 'country', 'status', 'next_due', 'email', 'data'], true);
  if (written !== rows.length) throw new VersionConflict(`${rows.length - written} member(s) changed since they were read`);
}

/** A value only one member may hold (scope `gift-card`: the code). */
export interface Claim {
  scope: string;
  claim: string;
}

/**
 * Claim values for a member inside the transaction that commits the change relying on
 * them. Returns the claims another member (or an earlier change) already holds: the
 * caller throws, and the whole change rolls back. A racing claim of the same value waits
 * for the first transaction on the servers' unique key, then finds it taken.
 */
export async function claimForMember(trx: Kysely<Schema>, memberId: string, claims: Claim[]): Promise<Claim[]> {
  const at = new Date().toISOString();
  const taken: Claim[] = [];
  for (const c of claims) {
    if (!(await insertNew(trx, 'member_claims', [{ scope: c.scope, claim: c.claim, member_id: memberId, claimed_at: at }]))) taken.push(c);
  }
  return taken;
}
