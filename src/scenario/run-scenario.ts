import { pino } from 'pino';
import { addDays, eachDay, startOfDay } from '../domain/calendar.ts';
import type { Catalog } from '../domain/catalog.ts';
import { InvalidInput } from '../domain/errors.ts';
import { memberStatus, primarySubscription } from '../domain/member.ts';
import { parseRatePpm } from '../domain/money.ts';
import type { RevenueLine, RevenueReport } from '../domain/revenue.ts';
import { builtInTaxRules, overrideRules, type TaxRule } from '../domain/tax/index.ts';
import { runDay } from '../jobs/run-day.ts';
import { closeServices, type Services } from '../jobs/services.ts';
import * as ops from '../operations/member-operations.ts';
import { memberInvoices } from '../store/ledger.ts';
import { rowToMember } from '../store/members.ts';
import { openServices } from '../wiring.ts';
import type { Scenario, ScenarioAction } from './scenario-file.ts';

export interface ScenarioResult {
  name: string;
  invoices: Record<string, unknown>[];
  payments: Record<string, unknown>[];
  members: Record<string, unknown>[];
  revenue: { balanced: boolean; totals: RevenueLine[]; days: RevenueReport[] };
}

function taxRules(s: Scenario): TaxRule[] {
  const taxes = s.taxes ?? s.catalog?.taxes;
  if (!taxes) return builtInTaxRules;
  const at = s.taxes ? 'taxes' : 'catalog.taxes';
  return overrideRules(builtInTaxRules, taxes.map((t, i) => ({
    country: t.country,
    region: t.region ?? null,
    ratePpm: parseRatePpm(String(t.rate), `${at}[${i}].rate`),
    inclusive: t.inclusive,
    ...(t.from ? { from: t.from } : {}),
    ...(t.products ? { products: t.products } : {}),
    name: t.name ?? `${t.country}${t.region ? `-${t.region}` : ''} tax`,
  })));
}

/** Services on an empty store for one scenario (tests run scenarios on every engine). */
export type OpenScenarioStore = (overrides: Parameters<typeof openServices>[1]) => Promise<Services>;

const inMemory: OpenScenarioStore = (overrides) => openServices({ dbUrl: 'sqlite::memory:', reportingTimeZone: 'UTC', logLevel: 'silent' }, overrides);

/**
 * Run a scenario on a fresh in-memory store with a test clock: day by day,
 * that day's actions in file order, then that day's jobs.
 */
export async function runScenario(s: Scenario, open: OpenScenarioStore = inMemory): Promise<ScenarioResult> {
  const svc = await open({ catalog: s.catalog ? ({ plans: s.catalog.plans } as Catalog) : undefined, taxRules: taxRules(s), log: pino({ level: 'silent' }) });
  try {
    const start = s.actions.reduce((min, a) => (a.on < min ? a.on : min), s.until);
    const byDay = new Map<string, { action: ScenarioAction; index: number }[]>();
    s.actions.forEach((action, index) => byDay.set(action.on, [...(byDay.get(action.on) ?? []), { action, index }]));
    const days: RevenueReport[] = [];
    for (const day of eachDay(start, s.until)) {
      for (const { action, index } of byDay.get(day) ?? []) {
        try {
          await apply(svc, s, action, index);
        } catch (err) {
          if (err instanceof InvalidInput) throw new InvalidInput(`actions[${index}].${err.field}`, `${action.on} ${action.do} ${action.member}: ${err.message}`, err.value);
          throw err;
        }
      }
      // The test clock: the day's report runs once the day is over.
      svc.clock = () => startOfDay(addDays(day, 1), svc.reportingTimeZone);
      const result = await runDay(svc, day);
      if (result.revenue.lines.length) days.push(result.revenue);
    }
    return { name: s.name, ...(await collectResult(svc)), revenue: summarize(days) };
  } finally {
    await closeServices(svc);
  }
}

async function apply(svc: Services, s: Scenario, a: ScenarioAction, index: number): Promise<void> {
  switch (a.do) {
    case 'signup': {
      const m = s.members.find((x) => x.id === a.member)!;
      await ops.signupMember(svc, { id: m.id, country: m.country, region: m.region ?? null, timezone: m.timezone, paymentToken: m.payment, email: m.email ?? null, plan: a.plan }, a.on);
      return;
    }
    case 'change-plan':
      await ops.changeMemberPlan(svc, a.member, a.plan, a.on);
      return;
    case 'cancel':
      await ops.cancelMembership(svc, a.member, a.on, a.product);
      return;
    case 'reactivate':
      await ops.reactivateMembership(svc, a.member, a.on, a.product);
      return;
    case 'update-payment':
      await ops.updatePaymentMethod(svc, a.member, a.payment, a.on);
      return;
    case 'redeem-gift-card':
      await ops.redeemGiftCard(svc, a.member, a.code ?? `GC-${a.member}-${index + 1}`, a.amount, a.currency, a.on);
      return;
    case 'credit':
      await ops.grantCredit(svc, a.member, `credit-${a.member}-${index + 1}`, a.amount, a.reason, a.on);
      return;
    case 'apply-discount':
      await ops.applyMemberDiscount(svc, a.member, a.percentOff !== undefined
        ? { kind: 'percent', percentOff: a.percentOff, cyclesLeft: a.cycles }
        : { kind: 'amount', amountOff: a.amountOff!, cyclesLeft: a.cycles }, a.on);
      return;
    case 'refund':
      await ops.refundMemberInvoice(svc, a.member, a.invoice, a.amount, a.reason ?? 'scenario refund', a.on);
      return;
    case 'chargeback':
      await ops.chargebackMemberInvoice(svc, a.member, a.invoice, a.on);
      return;
  }
}

async function collectResult(svc: Services) {
  const { db } = svc.store;
  const memberRows = await svc.memberStore.db.selectFrom('members').select(['id', 'version', 'data']).orderBy('id').execute();
  const members = memberRows.map(rowToMember);
  const invoices: Record<string, unknown>[] = [];
  for (const m of members) {
    for (const i of await memberInvoices(db, m.id)) {
      invoices.push({
        member: i.memberId, number: i.number, subscription: i.subscriptionId, kind: i.kind, periodStart: i.periodStart,
        periodEnd: i.periodEnd, issuedOn: i.issuedOn, currency: i.currency, subtotal: i.subtotal, discount: i.discount,
        tax: i.tax, total: i.total, balanceApplied: i.giftCardApplied + i.creditApplied, giftCardApplied: i.giftCardApplied,
        creditApplied: i.creditApplied, charged: i.charged, refunded: i.refunded, status: i.status, attempts: i.attemptCount,
        lines: i.lines.map((l) => ({ description: l.description, kind: l.kind, plan: l.planId, amount: l.amount, discount: l.discount, net: l.net, tax: l.tax, total: l.total })),
      });
    }
  }
  const attempts = await db.selectFrom('payment_attempts').innerJoin('invoices', 'invoices.id', 'payment_attempts.invoice_id')
    .select(['payment_attempts.member_id', 'invoices.number', 'attempt_no', 'attempted_on', 'payment_attempts.amount', 'payment_attempts.currency', 'payment_attempts.status', 'decline_code'])
    .orderBy('payment_attempts.member_id').orderBy('invoices.number').orderBy('attempt_no').execute();
  const payments = attempts.map((a) => ({
    member: a.member_id, invoice: a.number, attempt: a.attempt_no, date: a.attempted_on, amount: a.amount,
    currency: a.currency, status: a.status, code: a.decline_code,
  }));
  return {
    invoices,
    payments,
    members: members.map((m) => {
      const sub = primarySubscription(m);
      return {
        id: m.id, status: memberStatus(m), plan: sub?.planId ?? null, pendingPlan: sub?.pendingPlanId ?? null,
        nextBillingDate: sub && sub.status !== 'cancelled' ? sub.nextBillingDate : null,
        currency: m.currency, giftCardBalance: m.giftCardBalance, creditBalance: m.creditBalance,
      };
    }),
  };
}

const figures = ['billed', 'tax', 'collected', 'refunded', 'chargebacks', 'chargebackFees', 'giftCardsSold', 'giftCardsRedeemed', 'creditsGranted', 'creditsUsed', 'writtenOff'] as const;

function summarize(days: RevenueReport[]): ScenarioResult['revenue'] {
  const totals = new Map<string, RevenueLine>();
  for (const d of days) {
    for (const l of d.lines) {
      const key = `${l.country}/${l.currency}`;
      const t = totals.get(key);
      if (!t) totals.set(key, { ...l });
      else for (const f of figures) t[f] += l[f];
    }
  }
  return { balanced: days.every((d) => d.balanced), totals: [...totals.values()], days };
}

