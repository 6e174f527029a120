import type { SourceAdapter } from '../migrate-country.ts';
import { killBillMark, transformKillBill } from '../transform/killbill-history.ts';
import type { KillBillContext } from '../transform/killbill-member.ts';
import type { KillBillMember } from './killbill-member.ts';
import type { KillBillSource } from './killbill-source.ts';

/**
 * Kill Bill behind the shared extract-transform-load. The extract reads every invoice (no
 * history horizon in the query): Kill Bill's invoice_date is already the account's local
 * date, so the transform keeps exactly the window and counts what it leaves out.
 */
export function killBillAdapter(source: KillBillSource, ctx: KillBillContext): SourceAdapter<KillBillMember> {
  return {
    source,
    identify: (m) => ({ sourceKey: String(m.account.record_id), memberId: m.account.external_key, mark: killBillMark(m) }),
    transform: (m) => transformKillBill(m, ctx),
  };
}
