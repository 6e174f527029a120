import type { IsoDate } from './calendar.ts';
import { addDays, billingDate } from './calendar.ts';
import type { CatalogIndex, Product } from './catalog.ts';
import { InvalidInput } from './errors.ts';
import { event, type DomainEvent } from './events.ts';
import { addToBalance, assertMinorUnits } from './money.ts';

export type SubscriptionStatus = 'trial' | 'active' | 'past_due' | 'on_hold' | 'cancelled';
export type MemberStatus = SubscriptionStatus;

export type Discount =
  | { kind: 'percent'; percentOff: number; cyclesLeft: number }
  | { kind: 'amount'; amountOff: number; cyclesLeft: number };

export interface Subscription {
  id: string;
  product: Product;
  planId: string;
  status: SubscriptionStatus;
  /** First day of the anniversary schedule; billing dates are always computed from it, so month-end clamping never drifts. */
  anchor: IsoDate;
  /** Periods billed since the anchor: the next billing date is billingDate(anchor, period, cycle). */
  cycle: number;
  nextBillingDate: IsoDate;
  periodStart: IsoDate | null;
  periodEnd: IsoDate | null;
  /** When the member first subscribed to this plan; grandfathered prices depend on it. */
  since: IsoDate;
  cancelAtPeriodEnd: boolean;
  pendingPlanId: string | null;
  discount: Discount | null;
  /**
   * A price kept from the system the member was migrated from (minor units, the member's
   * currency): it replaces the catalog price of the current plan until the plan changes.
   * Absent on members who signed up in Tally.
   */
  keptPrice?: number | null;
}

/**
 * The member aggregate: everything member-facing, read once at the start of an
 * operation and written once at its end.
 */
export interface Member {
  id: string;
  version: number;
  email: string | null;
  country: string;
  region: string | null;
  timezone: string;
  currency: string;
  paymentToken: string;
  giftCardBalance: number;
  creditBalance: number;
  /** Invoice numbers are per member, from 1; kept here so they are assigned deterministically. */
  invoiceCount: number;
  subscriptions: Subscription[];
}

export interface MemberChange {
  member: Member;
  events: DomainEvent[];
}

const statusRank: Record<SubscriptionStatus, number> = { on_hold: 5, past_due: 4, active: 3, trial: 2, cancelled: 1 };

/** A member's status is the most urgent status among their subscriptions. */
export function memberStatus(member: Member): MemberStatus {
  let best: MemberStatus = 'cancelled';
  for (const s of member.subscriptions) if (statusRank[s.status] > statusRank[best]) best = s.status;
  return best;
}

/** The member's main subscription: streaming if they have one live, else the first live one, else the latest. */
export function primarySubscription(member: Member): Subscription | undefined {
  const live = member.subscriptions.filter((s) => s.status !== 'cancelled');
  return live.find((s) => s.product === 'streaming') ?? live[0] ?? member.subscriptions.at(-1);
}

/** The earliest date on which renewal has work for this member, or null; this feeds the due index. */
export function nextDueDate(member: Member): IsoDate | null {
  let due: IsoDate | null = null;
  for (const s of member.subscriptions) {
    if (s.status === 'cancelled' || s.status === 'on_hold') continue;
    if (due === null || s.nextBillingDate < due) due = s.nextBillingDate;
  }
  return due;
}

export interface NewMember {
  id: string;
  email?: string | null;
  country: string;
  region?: string | null;
  timezone: string;
  paymentToken: string;
}

export function newMember(input: NewMember, catalog: CatalogIndex): Member {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(input.id)) throw new InvalidInput('member', `invalid member id "${input.id}"`, input.id);
  // Tax rules match region codes exactly: a lowercase "wa" would silently fall back to the country rate.
  if (input.region != null && !/^[A-Z0-9]{1,3}$/.test(input.region)) {
    throw new InvalidInput('region', `"${input.region}" is not a subdivision code like WA or QC`, input.region);
  }
  return {
    id: input.id,
    version: 0,
    email: input.email ?? null,
    country: input.country,
    region: input.region ?? null,
    timezone: input.timezone,
    currency: catalog.currencyOf(input.country),
    paymentToken: input.paymentToken,
    giftCardBalance: 0,
    creditBalance: 0,
    invoiceCount: 0,
    subscriptions: [],
  };
}

function findLive(member: Member, product: Product): Subscription | undefined {
  return member.subscriptions.find((s) => s.product === product && s.status !== 'cancelled');
}

function withSubscription(member: Member, sub: Subscription): Member {
  const subscriptions = member.subscriptions.some((s) => s.id === sub.id)
    ? member.subscriptions.map((s) => (s.id === sub.id ? sub : s))
    : [...member.subscriptions, sub];
  return { ...member, subscriptions };
}

function requireSubscription(member: Member, product: Product | undefined, field: string): Subscription {
  const sub = product ? findLive(member, product) : member.subscriptions.find((s) => s.status !== 'cancelled');
  if (!sub) throw new InvalidInput(field, `member "${member.id}" has no live ${product ?? ''} subscription`.replace('  ', ' '));
  return sub;
}

/**
 * Sign up for a plan. Without a trial the first period starts today and
 * renewal issues its invoice in today's run; with a trial the schedule is
 * anchored on the day the trial ends.
 */
export function signup(member: Member, planId: string, on: IsoDate, catalog: CatalogIndex): MemberChange {
  const plan = catalog.plan(planId);
  catalog.price(planId, member.country, on, on); // not sold there: fail before anything changes
  if (findLive(member, plan.product)) {
    throw new InvalidInput('plan', `member "${member.id}" already has a live ${plan.product} subscription`, planId);
  }
  const anchor = plan.trialDays > 0 ? addDays(on, plan.trialDays) : on;
  const sub: Subscription = {
    id: `${member.id}-s${member.subscriptions.length + 1}`,
    product: plan.product,
    planId,
    status: plan.trialDays > 0 ? 'trial' : 'active',
    anchor,
    cycle: 0,
    nextBillingDate: anchor,
    periodStart: plan.trialDays > 0 ? on : null,
    periodEnd: plan.trialDays > 0 ? anchor : null,
    since: on,
    cancelAtPeriodEnd: false,
    pendingPlanId: null,
    discount: null,
  };
  return {
    member: withSubscription(member, sub),
    events: [event('subscription.created', member.id, on, sub.id, { subscription: sub.id, plan: planId, trialEnds: plan.trialDays > 0 ? anchor : null })],
  };
}

/** Cancel at the end of the current period (or trial); the member keeps what they paid for. */
export function cancel(member: Member, on: IsoDate, product?: Product): MemberChange {
  const sub = requireSubscription(member, product, 'member');
  if (sub.cancelAtPeriodEnd) return { member, events: [] };
  return {
    member: withSubscription(member, { ...sub, cancelAtPeriodEnd: true, pendingPlanId: null }),
    events: [event('subscription.cancel_requested', member.id, on, `${sub.id}:${on}`, { subscription: sub.id, effectiveOn: sub.nextBillingDate })],
  };
}

/** Undo a pending cancellation before the period ends; the period and schedule are kept. */
export function reactivate(member: Member, on: IsoDate, product?: Product): MemberChange {
  const sub = requireSubscription(member, product, 'member');
  if (!sub.cancelAtPeriodEnd) throw new InvalidInput('member', `member "${member.id}" has no pending cancellation`);
  return {
    member: withSubscription(member, { ...sub, cancelAtPeriodEnd: false }),
    events: [event('subscription.reactivated', member.id, on, `${sub.id}:${on}`, { subscription: sub.id })],
  };
}

export function updatePaymentMethod(member: Member, token: string, on: IsoDate): MemberChange {
  // The same method again (a retried request) is no change and tells nobody anything.
  if (token === member.paymentToken) return { member, events: [] };
  return {
    member: { ...member, paymentToken: token },
    events: [event('member.payment_method_updated', member.id, on, `${member.id}:${on}:${member.version}`, {})],
  };
}

export function addGiftCardBalance(member: Member, amount: number, currency: string, on: IsoDate, code: string): MemberChange {
  assertSameCurrency(member, currency);
  return {
    member: { ...member, giftCardBalance: addToBalance(member.giftCardBalance, amount, 'amount', 'gift-card balance') },
    events: [event('gift_card.redeemed', member.id, on, code, { code, amount, currency })],
  };
}

export function grantCredit(member: Member, amount: number, reason: string, on: IsoDate, creditId: string): MemberChange {
  if (!reason.trim()) throw new InvalidInput('reason', 'a reason is required');
  return {
    member: { ...member, creditBalance: addToBalance(member.creditBalance, amount, 'amount', 'credit balance') },
    events: [event('credit.granted', member.id, on, creditId, { amount, currency: member.currency, reason })],
  };
}

export function applyDiscount(member: Member, discount: Discount, on: IsoDate, product?: Product): MemberChange {
  const sub = requireSubscription(member, product, 'member');
  if (!Number.isSafeInteger(discount.cyclesLeft) || discount.cyclesLeft < 1) {
    throw new InvalidInput('cycles', `must be a whole number of billing cycles ≥ 1, got ${discount.cyclesLeft}`, discount.cyclesLeft);
  }
  if (discount.kind === 'percent') {
    if (!(discount.percentOff > 0 && discount.percentOff <= 100) || !Number.isInteger(discount.percentOff * 10000)) {
      throw new InvalidInput('percentOff', `must be a percentage in (0, 100], got ${discount.percentOff}`, discount.percentOff);
    }
  } else {
    assertMinorUnits(discount.amountOff, 'amountOff');
  }
  return {
    member: withSubscription(member, { ...sub, discount }),
    events: [event('discount.applied', member.id, on, `${sub.id}:${on}`, { subscription: sub.id, ...discount })],
  };
}

export function assertSameCurrency(member: Member, currency: string): void {
  if (currency !== member.currency) {
    throw new InvalidInput('currency', `"${currency}" is not the member's currency (${member.currency})`, currency);
  }
}

/** Next date on the subscription's anniversary schedule after `cycle` periods. */
export function scheduleDate(sub: Subscription, period: 'month' | 'year', cycle: number): IsoDate {
  return billingDate(sub.anchor, period, cycle);
}

export { withSubscription };
