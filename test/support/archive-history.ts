import { memberView } from '../../src/api/views.ts';
import { runDay } from '../../src/jobs/run-day.ts';
import type { Services } from '../../src/jobs/services.ts';
import { chargebackMemberInvoice, grantCredit, refundMemberInvoice } from '../../src/operations/member-operations.ts';
import { seedDueMembers } from './population.ts';

/**
 * Years of billing for the archive's tests: `members` members billed monthly from 2023-01-15
 * to `until` (every day's revenue closed), one invoice refunded in part and one charged back
 * in 2023, a credit granted with an audit entry. Today (2026-11-30) invoices before 2024-11-30
 * are past the default 24-month hot window; members on declining cards leave invoices open.
 */
export async function billedForYears(svc: Services, members: number, until = '2025-03-15'): Promise<void> {
  await seedDueMembers(svc, members, '2023-01-15');
  for (let y = 2023, m = 1; ; m === 12 ? (y++, m = 1) : m++) {
    const day = `${y}-${String(m).padStart(2, '0')}-15`;
    if (day > until) break;
    await runDay(svc, day);
  }
  const audit = (action: string, reason: string) => ({ actor: 'cs:test', action, reason, request: { reason }, view: memberView });
  await refundMemberInvoice(svc, 'b00000000', 1, 100, 'goodwill', '2023-01-20', audit('refund', 'goodwill'));
  await chargebackMemberInvoice(svc, 'b00000001', 1, '2023-02-01');
  await grantCredit(svc, 'b00000002', 'credit-1', 500, 'apology', '2023-03-01', audit('credit', 'apology'));
}
