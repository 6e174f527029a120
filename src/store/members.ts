import type { Kysely } from 'kysely';
import { memberStatus, nextDueDate, type Member } from '../domain/member.ts';
import { upsert } from './bulk.ts';
import type { MemberRow, Schema } from './schema.ts';

/** Someone else wrote the member since we read it; the operation must be re-run on a fresh read. */
export class VersionConflict extends Error {
  override name = 'VersionConflict';
}

type Stored = Omit<Member, 'id' | 'version'>;

/**
 * Run `work` and run it again (up to `max` times in all) when another writer changed a
 * member it read; `work` learns the attempt number so it can read afresh on a retry.
 */
export async function retryOnConflict<T>(work: (attempt: number) => Promise<T>, max = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (err) {
      if (!(err instanceof VersionConflict) || attempt >= max) throw err;
    }
  }
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
