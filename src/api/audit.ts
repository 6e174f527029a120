import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.ts';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  memberId: string;
  reason: string;
  request: unknown;
  before: unknown;
  after: unknown;
}

export async function auditTrail(db: Kysely<Schema>, memberId: string): Promise<AuditEntry[]> {
  const rows = await db.selectFrom('audit_log').selectAll().where('member_id', '=', memberId).orderBy('id').execute();
  return rows.map((r) => ({
    id: r.id, at: r.at, actor: r.actor, action: r.action, memberId: r.member_id, reason: r.reason,
    request: JSON.parse(r.request), before: r.before && JSON.parse(r.before), after: r.after && JSON.parse(r.after),
  }));
}
