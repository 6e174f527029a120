import { addDays } from '../../src/domain/calendar.ts';
import { newMember, signup, withSubscription, type Member } from '../../src/domain/member.ts';
import type { Services } from '../../src/jobs/services.ts';
import { saveMembers } from '../../src/store/members.ts';

const countries: [string, string | null, string][] = [
  ['US', 'WA', 'America/Los_Angeles'], ['US', 'NY', 'America/New_York'], ['CA', 'QC', 'America/Toronto'], ['DE', null, 'Europe/Berlin'],
  ['FR', null, 'Europe/Paris'], ['GB', null, 'Europe/London'], ['JP', null, 'Asia/Tokyo'], ['KR', null, 'Asia/Seoul'],
  ['BR', null, 'America/Sao_Paulo'], ['MX', null, 'America/Mexico_City'], ['IN', null, 'Asia/Kolkata'], ['AU', null, 'Australia/Sydney'],
  ['KW', null, 'Asia/Kuwait'],
];
// Seven in ten approve; the rest exercise dunning, holds and lost answers.
const tokens = ['tok_ok', 'tok_ok', 'tok_ok', 'tok_ok', 'tok_ok', 'tok_ok', 'tok_ok', 'tok_soft_decline', 'tok_hard_decline', 'tok_timeout'];
const plans = ['basic', 'standard', 'premium'];

/** Member n of a population whose monthly anniversary is `day`: everyone is due that day. */
export function dueMember(svc: Services, n: number, day: string): Member {
  const [country, region, timezone] = countries[n % countries.length]!;
  let m = newMember({ id: `b${String(n).padStart(8, '0')}`, country, region, timezone, paymentToken: tokens[n % tokens.length]! }, svc.billing.catalog);
  const since = addDays(day, -28 - (n % 3));
  m = signup(m, plans[n % plans.length]!, since, svc.billing.catalog).member;
  const s = m.subscriptions[0]!;
  return withSubscription(m, { ...s, anchor: day, cycle: 0, nextBillingDate: day, periodStart: since, periodEnd: day });
}

export async function seedDueMembers(svc: Services, count: number, day: string): Promise<void> {
  for (let from = 0; from < count; from += 5000) {
    const batch: Member[] = [];
    for (let n = from; n < Math.min(from + 5000, count); n++) batch.push(dueMember(svc, n, day));
    await svc.memberStore.db.transaction().execute((trx) => saveMembers(trx, batch));
  }
}
