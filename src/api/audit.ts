import type { Kysely, Selectable } from 'kysely';
import type { AuditRow, Schema } from '../store/schema.ts';

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

/** An audit row as customer service reads it: the request and the member before and after as JSON. */
export function auditEntry(r: Selectable<AuditRow>): AuditEntry {
  return {
    id: r.id, at: r.at, actor: r.actor, action: r.action, memberId: r.member_id, reason: r.reason,
    request: JSON.parse(r.request), before: r.before && JSON.parse(r.before), after: r.after && JSON.parse(r.after),
  };
}

export async function auditTrail(db: Kysely<Schema>, memberId: string): Promise<AuditEntry[]> {
  const rows = await db.selectFrom('audit_log').selectAll().where('member_id', '=', memberId).orderBy('id').execute();
  return rows.map(auditEntry);
}
