import { assertTimeZone, localDate, type IsoDate } from '../../domain/calendar.ts';
import type { CatalogIndex } from '../../domain/catalog.ts';
import type { Member, Subscription, SubscriptionStatus } from '../../domain/member.ts';
import { currencyExponent, isCurrency, MAX_MINOR_UNITS } from '../../domain/money.ts';
import type { PlanMapping } from '../plan-mapping.ts';
import type { KillBillMember } from '../sources/killbill-member.ts';
import { distinctReasons, normalizedEmail, type MemberTransform, type QuarantineReason } from './legacy-member.ts';

/**
 * One Kill Bill account's rows → Tally's member aggregate: a pure function, tested on
 * hand-written rows. Whole or not at all, like the reference legacy's transform: anything
 * that cannot be carried exactly quarantines the account with the reasons and row keys.
 */
export interface KillBillContext {
  catalog: CatalogIndex;
  /** Kill Bill plan name → Tally plan id (the user's: Kill Bill's catalog is XML outside the database). */
  plans: PlanMapping;
  /** The migration day, a date in each member's own zone. */
  asOf: IsoDate;
  horizonMonths: number;
}

/**
 * Exact minor units of a Kill Bill numeric(15,9) amount (major units as decimal text) in a
 * currency, or null when it has digits the currency has not or exceeds Tally's bound. Parsed
 * digit by digit: a float would turn 0.1 + 0.2 into a quarantine or, worse, into a cent off.
 */
export function killBillMinorUnits(amount: string | number, currency: string): number | null {
  const text = String(amount).trim();
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || (match[2] === '' && !match[3])) return null;
  const exponent = currencyExponent(currency);
  const fraction = (match[3] ?? '').replace(/0+$/, '');
  if (fraction.length > exponent) return null;
  const units = BigInt(`${match[2] || '0'}${fraction.padEnd(exponent, '0')}`);
  if (units > BigInt(MAX_MINOR_UNITS)) return null;
  return match[1] === '-' && units !== 0n ? -Number(units) : Number(units);
}

/** The date a Kill Bill UTC datetime ('YYYY-MM-DD HH:MM:SS') falls on in the account's zone. */
export function killBillLocalDate(utc: string, zone: string): IsoDate {
  const text = String(utc).trim();
  // A bare date (a reader or an older schema giving the date part only) is midnight UTC.
  const t = (text.length === 10 ? `${text} 00:00:00` : text).replace(' ', 'T');
  return localDate(Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`), zone);
}

/** Kill Bill's soft delete: `is_active` false (null, on rows written before the column had a default, is live). */
export const live = <T extends { is_active?: boolean | null | number }>(rows: readonly T[]): T[] => rows.filter((r) => r.is_active !== false && r.is_active !== 0);

const byTime = <T extends { effective_date: string; record_id: number }>(a: T, b: T) => (a.effective_date < b.effective_date ? -1 : a.effective_date > b.effective_date ? 1 : a.record_id - b.record_id);

/**
 * The account's subscriptions in the order Tally numbers them (`<member>-s1`, -s2…): by
 * bundle creation, then start, then record id, so the ids are stable across re-runs.
 */
export function orderedSubscriptions(m: KillBillMember): KillBillMember['subscriptions'] {
  const bundleOrder = new Map([...m.bundles].sort((a, b) => a.record_id - b.record_id).map((b, i) => [b.id, i]));
  return m.subscriptions
    .filter((s) => bundleOrder.has(s.bundle_id))
    .sort((a, b) => bundleOrder.get(a.bundle_id)! - bundleOrder.get(b.bundle_id)! || (a.start_date < b.start_date ? -1 : a.start_date > b.start_date ? 1 : a.record_id - b.record_id));
}

/** Tally's id for a Kill Bill subscription of this member, by its Kill Bill id. */
export function subscriptionIds(m: KillBillMember): Map<string, string> {
  return new Map(orderedSubscriptions(m).map((s, i) => [s.id, `${m.account.external_key}-s${i + 1}`]));
}

// Kill Bill's entitlement user types that set the plan: a new subscription, a plan change, and
// the two ways a subscription arrives from elsewhere (a bundle transfer, a migration into Kill Bill).
const setsPlan = new Set(['CREATE', 'CHANGE', 'TRANSFER', 'MIGRATE_ENTITLEMENT', 'MIGRATE_BILLING']);
type PlanEvent = Pick<KillBillMember['events'][number], 'event_type' | 'user_type' | 'plan_name' | 'effective_date' | 'record_id' | 'is_active'>;

/**
 * Of one subscription's events: the plan-setting event in force on the migration day (none
 * while its creation is still to come) and the plan change scheduled after it, if any.
 */
export function planEvents<E extends PlanEvent>(events: readonly E[], asOf: IsoDate, zone: string): { current?: E; change?: E } {
  const sorted = live(events).sort(byTime);
  const named = (e: E) => e.event_type === 'API_USER' && !!e.plan_name;
  const current = sorted.filter((e) => named(e) && setsPlan.has(e.user_type ?? '') && killBillLocalDate(e.effective_date, zone) <= asOf).at(-1);
  const change = sorted.find((e) => named(e) && e.user_type === 'CHANGE' && killBillLocalDate(e.effective_date, zone) > asOf);
  return { current, change };
}

/**
 * The Kill Bill plans a country's subscriptions need mapped: each one's plan in force and its
 * scheduled change. A plan only left behind in history needs none (its invoices keep its name).
 */
export function plansInUse(events: readonly (PlanEvent & { subscription_id: string; time_zone: string })[], asOf: IsoDate): string[] {
  const bySubscription = new Map<string, (typeof events)[number][]>();
  for (const e of events) bySubscription.set(e.subscription_id, [...(bySubscription.get(e.subscription_id) ?? []), e]);
  const names = new Set<string>();
  for (const list of bySubscription.values()) {
    const { current, change } = planEvents(list, asOf, list[0]!.time_zone);
    if (current) names.add(current.plan_name!);
    if (current && change) names.add(change.plan_name!);
  }
  return [...names].sort();
}

/**
 * Whether billing is blocked on the migration day for a subscription: Kill Bill keeps one
 * current state per service and blockable (the latest active row effective by then; a later
 * state replaces an earlier one, a withdrawn row is deactivated), and billing is blocked when
 * any of the current states of the account, the bundle or the subscription says so. The
 * overdue module's OD states (service 'overdue-service') are the usual ones; its
 * __KILLBILL__CLEAR__OVERDUE_STATE__ blocks nothing, and neither do the entitlement's ENT_* states.
 */
export function billingBlockedBy(m: KillBillMember, blockables: readonly string[], asOf: IsoDate, zone: string): KillBillMember['blockingStates'][number] | null {
  const current = new Map<string, KillBillMember['blockingStates'][number]>();
  for (const b of live(m.blockingStates).filter((x) => blockables.includes(x.blockable_id) && killBillLocalDate(x.effective_date, zone) <= asOf).sort(byTime)) current.set(`${b.service}|${b.blockable_id}`, b);
  return [...current.values()].find((b) => b.block_billing === true || (b.block_billing as unknown) === 1) ?? null;
}

export function transformKillBillMember(m: KillBillMember, ctx: KillBillContext): MemberTransform {
  const problems: QuarantineReason[] = [];
  const a = m.account;
  const accountKey = [{ table: 'accounts', key: a.record_id }];
  // Kill Bill's country is free text (varchar(50)) but its own APIs and plugins write ISO 3166 alpha-2.
  let country: string | null = (a.country ?? '').trim().toUpperCase() || null;
  let currency = (a.currency ?? '').trim().toUpperCase();
  if (!country || !/^[A-Z]{2}$/.test(country)) {
    problems.push({ reason: 'unknown-country', detail: `account country ${JSON.stringify(a.country)} is not an ISO country code`, source: accountKey });
    country = null;
  } else {
    try {
      const expected = ctx.catalog.currencyOf(country);
      if (expected !== currency) problems.push({ reason: 'currency-mismatch', detail: `account in ${currency || '(no currency)'}, Tally bills ${country} in ${expected}`, source: accountKey });
      currency = expected;
    } catch {
      problems.push({ reason: 'unknown-country', detail: `Tally does not sell in ${country}`, source: accountKey });
      country = null;
    }
  }
  // Without a currency Tally knows, every amount below is unreadable: the member's currency is the reason, said once.
  if (!isCurrency(currency)) return { quarantine: distinctReasons(problems.length ? problems : [{ reason: 'currency-mismatch', detail: `account currency ${JSON.stringify(a.currency)} is not one Tally knows`, source: accountKey }]) };
  const timezone = a.time_zone;
  try {
    assertTimeZone(timezone, 'timezone');
  } catch {
    return { quarantine: distinctReasons([...problems, { reason: 'bad-timezone', detail: `time zone ${JSON.stringify(timezone)} is not an IANA zone`, source: accountKey }]) };
  }
  const local = (utc: string) => killBillLocalDate(utc, timezone);

  // The account's default method when it is live, else the latest live one. Kill Bill keeps the
  // gateway's own token in its plugin's tables; the method's external key is what plugins set to it.
  const methods = live(m.paymentMethods).sort((x, y) => x.record_id - y.record_id);
  const method = methods.find((p) => p.id === a.payment_method_id) ?? methods.at(-1);
  if (!method) problems.push({ reason: 'no-payment-method', detail: `account ${a.external_key} has no active payment method`, source: accountKey });

  const money = (amount: string, table: string, key: number): number => {
    const units = killBillMinorUnits(amount, currency);
    if (units === null) {
      problems.push({ reason: 'amount-does-not-fit', detail: `${table} ${key}: ${amount} ${currency} is not a whole number of minor units within the bound`, source: [{ table, key }] });
      return 0;
    }
    return units;
  };

  const committed = new Set(m.invoices.filter((i) => i.status === 'COMMITTED').map((i) => i.id));
  const items = m.invoiceItems.filter((it) => committed.has(it.invoice_id));
  // Kill Bill's credit balance is the sum of its CBA_ADJ items: positive where credit was generated, negative where used.
  let credit = 0;
  for (const it of items) if (it.type === 'CBA_ADJ') credit += money(it.amount, 'invoice_items', it.record_id);
  if (credit < 0) problems.push({ reason: 'amount-does-not-fit', detail: `account ${a.external_key} has used more credit (${-credit} minor units) than it was granted`, source: accountKey });

  const subscriptions: Subscription[] = [];
  const ids = subscriptionIds(m);
  const mapped = (name: string, source: { table: string; key: number }[]): string | null => {
    const id = ctx.plans.get(name);
    if (!id) problems.push({ reason: 'unmapped-plan', detail: `Kill Bill plan ${name} has no mapping`, source });
    return id ?? null;
  };
  for (const s of orderedSubscriptions(m)) {
    const events = live(m.events).filter((e) => e.subscription_id === s.id).sort(byTime);
    const past = events.filter((e) => local(e.effective_date) <= ctx.asOf);
    const future = events.filter((e) => local(e.effective_date) > ctx.asOf);
    const { current, change } = planEvents(events, ctx.asOf, timezone);
    // A subscription whose creation is still to come has nothing to carry yet: Kill Bill will not have billed it either.
    if (!current) continue;
    const source = [{ table: 'subscription_events', key: current.record_id }];
    const planId = mapped(current.plan_name!, source);
    const pendingPlanId = change ? mapped(change.plan_name!, [{ table: 'subscription_events', key: change.record_id }]) : null;
    if (!planId || !ctx.catalog.hasPlan(planId)) {
      if (planId) problems.push({ reason: 'unmapped-plan', detail: `Kill Bill plan ${current.plan_name} maps to ${planId}, which Tally's catalog lacks`, source });
      continue;
    }
    const cancel = events.find((e) => e.event_type === 'API_USER' && e.user_type === 'CANCEL');
    const cancelled = cancel !== undefined && local(cancel.effective_date) <= ctx.asOf;
    // The phase in force is the last event naming one; Kill Bill names phases <plan>-<type>.
    const phase = past.filter((e) => e.phase_name).at(-1)?.phase_name ?? '';
    const trialEnd = future.find((e) => e.event_type === 'PHASE' && e.phase_name && !/-trial$/i.test(e.phase_name));
    // A phase named without Kill Bill's type suffix says nothing itself: then a phase change still
    // to come into a non-trial phase means the member is in the trial. A DISCOUNT or FIXEDTERM
    // phase before EVERGREEN is paid, not a trial.
    const typed = /-(trial|discount|fixedterm|evergreen)$/i.test(phase);
    const inTrial = /-trial$/i.test(phase) || (!typed && trialEnd !== undefined);
    const since = local(s.start_date);
    // charged_through_date is paid-through: the next period starts there. A trial's is its
    // start (Kill Bill bills the trial's zero FIXED item there), so the trial's end is the next billing date.
    let next = s.charged_through_date ? local(s.charged_through_date) : since;
    if (inTrial && trialEnd && local(trialEnd.effective_date) > next) next = local(trialEnd.effective_date);
    const blocked = billingBlockedBy(m, [a.id, s.bundle_id, s.id], ctx.asOf, timezone) !== null;
    const status: SubscriptionStatus = cancelled ? 'cancelled' : blocked ? 'on_hold' : inTrial ? 'trial' : 'active';
    const recurring = items.filter((it) => it.type === 'RECURRING' && it.subscription_id === s.id).sort((x, y) => (x.start_date ?? '') < (y.start_date ?? '') ? -1 : (x.start_date ?? '') > (y.start_date ?? '') ? 1 : x.record_id - y.record_id);
    const lastOfPlan = recurring.filter((it) => it.plan_name === current.plan_name).at(-1);
    // `rate` is the plan's full-period price; `amount` is prorated on a partial period, so only its fallback.
    let keptPrice: number | undefined;
    if (lastOfPlan && country && !cancelled) {
      const kept = money(lastOfPlan.rate ?? lastOfPlan.amount, 'invoice_items', lastOfPlan.record_id);
      let catalogPrice: number | null = null;
      try {
        catalogPrice = ctx.catalog.price(planId, country, next, since).amount;
      } catch {
        // Not sold in the country by Tally's catalog: what Kill Bill charges is what the member pays.
      }
      if (kept !== catalogPrice) keptPrice = kept;
    }
    subscriptions.push({
      id: ids.get(s.id)!, product: ctx.catalog.plan(planId).product, planId, status, anchor: next, cycle: 0, nextBillingDate: next,
      periodStart: cancelled ? null : recurring.at(-1)?.start_date ?? null, periodEnd: cancelled ? null : next,
      since, cancelAtPeriodEnd: cancel !== undefined && !cancelled, pendingPlanId, discount: null,
      ...(keptPrice !== undefined ? { keptPrice } : {}),
    });
  }

  const region = (a.state_or_province ?? '').trim().toUpperCase();
  const member: Member = {
    id: a.external_key,
    version: 0,
    email: normalizedEmail(a.email),
    country: country ?? '',
    region: /^[A-Z0-9]{1,3}$/.test(region) ? region : null,
    timezone,
    currency,
    paymentToken: method?.external_key ?? '',
    giftCardBalance: 0,
    creditBalance: Math.max(0, credit),
    invoiceCount: 0,
    subscriptions,
  };
  return problems.length ? { quarantine: distinctReasons(problems) } : { member };
}
