import { hostname } from 'node:os';
import { MultiBar, Presets } from 'cli-progress';
import { addDays, billingDate, businessDate, type IsoDate } from '../domain/calendar.ts';
import { InvalidInput } from '../domain/errors.ts';
import { newMember, signup, withSubscription, type Member } from '../domain/member.ts';
import { formatMinor } from '../domain/money.ts';
import type { RevenueReport } from '../domain/revenue.ts';
import { withLocks } from '../jobs/job-lock.ts';
import { runDay } from '../jobs/run-day.ts';
import type { Services } from '../jobs/services.ts';
import * as ops from '../operations/member-operations.ts';
import { lastClosedDay } from '../store/ledger.ts';
import { saveMembers } from '../store/members.ts';

export const demoStart: IsoDate = '2026-01-01';

/** Small seeded PRNG (mulberry32): the same seed gives the same population and the same daily activity. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rnd: () => number, weighted: [T, number][]): T {
  const total = weighted.reduce((s, [, w]) => s + w, 0);
  let r = rnd() * total;
  for (const [v, w] of weighted) if ((r -= w) < 0) return v;
  return weighted[weighted.length - 1]![0];
}

const countries: [string, number, string, string[]][] = [
  ['US', 28, 'America/New_York', ['CA', 'NY', 'TX', 'WA', 'FL', 'PA', 'IL', 'OH']],
  ['CA', 5, 'America/Toronto', ['ON', 'QC', 'BC', 'AB', 'NS']],
  ['DE', 8, 'Europe/Berlin', []],
  ['FR', 6, 'Europe/Paris', []],
  ['GB', 8, 'Europe/London', []],
  ['ES', 3, 'Europe/Madrid', []],
  ['IT', 3, 'Europe/Rome', []],
  ['NL', 2, 'Europe/Amsterdam', []],
  ['JP', 5, 'Asia/Tokyo', []],
  ['KR', 3, 'Asia/Seoul', []],
  ['BR', 8, 'America/Sao_Paulo', []],
  ['MX', 6, 'America/Mexico_City', []],
  ['IN', 5, 'Asia/Kolkata', []],
  ['AU', 4, 'Australia/Sydney', []],
  ['NZ', 1, 'Pacific/Auckland', []],
  ['KW', 1, 'Asia/Kuwait', []],
  ['CH', 1, 'Europe/Zurich', []],
  ['NO', 1, 'Europe/Oslo', []],
];

// Local sizes for currencies where 25.00 or 5.00 would be silly.
const giftCardAmounts: Record<string, number> = { JPY: 3000, KRW: 30000, KWD: 5000, INR: 50000 };
const creditAmounts: Record<string, number> = { JPY: 500, KRW: 5000, KWD: 1000, INR: 10000 };

const tokens: [string, number][] = [['tok_ok', 88], ['tok_soft_decline', 5], ['tok_hard_decline', 2], ['tok_timeout', 5]];
const streamingPlans: [string, number][] = [['basic', 30], ['standard', 38], ['premium', 20], ['standard-annual', 6], ['standard-trial', 6]];

function demoMember(svc: Services, n: number, start: IsoDate): Member {
  const rnd = random(n * 7919 + 1);
  const [country, , timezone, regions] = pick(rnd, countries.map((c) => [c, c[1]] as [typeof c, number]));
  let member = newMember({
    id: `m${String(n).padStart(6, '0')}`,
    email: `member${n}@example.com`,
    country,
    region: regions.length ? regions[Math.floor(rnd() * regions.length)]! : null,
    timezone,
    paymentToken: pick(rnd, tokens),
  }, svc.billing.catalog);
  const plan = pick(rnd, streamingPlans);
  const trial = svc.billing.catalog.plan(plan).trialDays > 0;
  // Already-billed members, their anniversaries spread over the month before the demo starts, so every day has renewals.
  const since = addDays(start, trial ? -Math.floor(rnd() * 25) - 1 : -Math.floor(rnd() * 31) - 1);
  member = signup(member, plan, since, svc.billing.catalog).member;
  const sub = member.subscriptions[0]!;
  if (!trial) {
    const period = svc.billing.catalog.plan(plan).period;
    const end = billingDate(sub.anchor, period, 1);
    member = withSubscription(member, { ...sub, cycle: 1, periodStart: since, periodEnd: end, nextBillingDate: end });
  }
  if (rnd() < 0.08) {
    const s = member.subscriptions[0]!;
    member = withSubscription(member, { ...s, discount: rnd() < 0.5 ? { kind: 'percent', percentOff: 25, cyclesLeft: 3 } : { kind: 'percent', percentOff: 50, cyclesLeft: 1 } });
  }
  if (country === 'US' && rnd() < 0.1) member = signup(member, rnd() < 0.5 ? 'dvd-1' : 'dvd-2', start, svc.billing.catalog).member;
  return member;
}

/** Seed the demo population (once; a re-run after a kill completes it), already billed up to `start`. */
export async function seedDemo(svc: Services, count: number, log: (line: string) => void = () => undefined, start: IsoDate = demoStart): Promise<void> {
  const db = svc.memberStore.db;
  const row = await db.selectFrom('members').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const have = Number(row.n);
  if (have >= count) return;
  log(`seeding ${count - have} members…`);
  for (let from = have + 1; from <= count; from += 1000) {
    const batch: Member[] = [];
    for (let n = from; n < Math.min(from + 1000, count + 1); n++) batch.push(demoMember(svc, n, start));
    await db.transaction().execute((trx) => saveMembers(trx, batch));
  }
}

/**
 * A day of member activity as a sequence of actions, the same each time the day
 * is replayed; every action is safe to repeat on its own (a client retrying a
 * request), and actions that depend on the store's state are drawn only once
 * the actions before them have run.
 */
export async function* demoActions(svc: Services, date: IsoDate, population: number): AsyncGenerator<() => Promise<unknown>> {
  const rnd = random(Number(date.replaceAll('-', '')));
  const someone = () => `m${String(1 + Math.floor(rnd() * population)).padStart(6, '0')}`;
  for (let i = 0; i < 12; i++) {
    const [country, , timezone, regions] = pick(rnd, countries.map((c) => [c, c[1]] as [typeof c, number]));
    const region = regions.length ? regions[Math.floor(rnd() * regions.length)]! : null;
    const id = `n${date.replaceAll('-', '')}-${i}`;
    const plan = pick(rnd, streamingPlans);
    const paymentToken = pick(rnd, tokens);
    yield () => ops.signupMember(svc, { id, country, region, timezone, paymentToken, email: `${id}@example.com`, plan }, date);
  }
  for (let i = 0; i < 6; i++) { const id = someone(); yield () => ops.cancelMembership(svc, id, date, 'streaming'); }
  for (let i = 0; i < 2; i++) { const id = someone(); yield () => ops.reactivateMembership(svc, id, date, 'streaming'); }
  for (let i = 0; i < 5; i++) { const id = someone(); const plan = pick(rnd, streamingPlans.slice(0, 3)); yield () => ops.changeMemberPlan(svc, id, plan, date); }
  const countryOf = async (id: string) => (await svc.memberStore.db.selectFrom('members').select(['country']).where('id', '=', id).executeTakeFirst())?.country;
  for (let i = 0; i < 4; i++) {
    const id = someone();
    yield async () => {
      const country = await countryOf(id);
      if (!country) return;
      const currency = svc.billing.catalog.currencyOf(country);
      await ops.redeemGiftCard(svc, id, `GC-${date}-${i}`, giftCardAmounts[currency] ?? 2500, currency, date);
    };
  }
  for (let i = 0; i < 2; i++) {
    const id = someone();
    yield async () => {
      const country = await countryOf(id);
      if (!country) return;
      const currency = svc.billing.catalog.currencyOf(country);
      await ops.grantCredit(svc, id, `CR-${date}-${i}`, creditAmounts[currency] ?? 500, 'service outage goodwill', date);
    };
  }
  // Members in dunning fix their card: a few of them every day.
  const owing = await svc.memberStore.db.selectFrom('members').select('id').where('status', 'in', ['past_due', 'on_hold']).orderBy('id').limit(8).execute();
  for (const m of owing) yield () => ops.updatePaymentMethod(svc, m.id, 'tok_ok', date);
  // Refunds and a chargeback on invoices paid in the last days, chosen among every paid invoice, refunded or not, so a replayed day draws the same ones.
  const { db } = svc.store;
  const paid = await db.selectFrom('invoices').select(['id', 'member_id', 'number', 'charged'])
    .where('status', 'in', ['paid', 'refunded', 'partially_refunded', 'disputed']).where('charged', '>', 0)
    .where('issued_on', '>=', addDays(date, -5)).orderBy('id').limit(40).execute();
  const chosen = paid.filter(() => rnd() < 0.1).slice(0, 3);
  for (const [i, inv] of chosen.entries()) {
    yield async () => {
      // Refunded or disputed today already: this is the day's own earlier action, replayed.
      const refunded = await db.selectFrom('refunds').select('id').where('invoice_id', '=', inv.id).where('refunded_on', '=', date).executeTakeFirst();
      const disputed = await db.selectFrom('chargebacks').select('id').where('invoice_id', '=', inv.id).where('received_on', '=', date).executeTakeFirst();
      if (refunded || disputed) return;
      if (i === 2) await ops.chargebackMemberInvoice(svc, inv.member_id, inv.number, date);
      else await ops.refundMemberInvoice(svc, inv.member_id, inv.number, i === 0 ? inv.charged : Math.ceil(inv.charged / 2), 'customer request', date);
    };
  }
}

/** Run a day of member activity; actions the rules refuse (a replayed day meets its own earlier actions) are skipped. */
export async function demoActivity(svc: Services, date: IsoDate, population: number): Promise<{ applied: number; skipped: number }> {
  let applied = 0;
  let skipped = 0;
  for await (const act of demoActions(svc, date, population)) {
    try {
      await act();
      applied++;
    } catch (err) {
      skipInvalid(err);
      skipped++;
    }
  }
  return { applied, skipped };
}

export function skipInvalid(err: unknown): void {
  // A replayed day meets its own earlier actions (already signed up, already refunded): those are refused, harmlessly.
  if (!(err instanceof InvalidInput)) throw err;
}

export function formatReport(report: RevenueReport): string {
  const head = ['country', 'currency', 'billed', 'tax', 'collected', 'refunded', 'chargebacks', 'gift cards sold', 'credits used'];
  const rows = report.lines.map((l) => [
    l.country, l.currency, formatMinor(l.billed, l.currency), formatMinor(l.tax, l.currency), formatMinor(l.collected, l.currency),
    formatMinor(l.refunded, l.currency), formatMinor(l.chargebacks, l.currency), formatMinor(l.giftCardsSold, l.currency),
    formatMinor(l.creditsUsed, l.currency),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const balance = report.balances.map((b) => `${b.currency} ${b.balanced ? 'ok' : `OFF by ${b.debit - b.credit}`}`).join(', ');
  return [`Revenue for ${report.businessDate}`, fmt(head), ...rows.map(fmt), `journal balances per currency: ${report.balanced ? 'yes' : 'NO'} (${balance})`].join('\n');
}

/**
 * The demo: seed a population on the embedded store (once), then run the
 * daily jobs day after day from the first day not yet closed, so a second
 * run carries on where the first stopped.
 */
export async function runDemo(svc: Services, opts: { members: number; days: number }): Promise<void> {
  const tty = Boolean(process.stdout.isTTY);
  const bars = tty ? new MultiBar({ format: 'billing days [{bar}] {value}/{total} {date}', hideCursor: true, clearOnComplete: true }, Presets.shades_classic) : null;
  const say = (line: string) => (bars ? bars.log(line + '\n') : console.log(line));
  await seedDemo(svc, opts.members, say);
  const closed = await lastClosedDay(svc.store.db);
  const first = closed ? addDays(closed, 1) : demoStart;
  say(`billing ${opts.days} days from ${first} on ${svc.store.url}`);
  const bar = bars?.create(opts.days, 0, { date: first });
  let last: RevenueReport | undefined;
  const today = businessDate(Date.now(), svc.reportingTimeZone);
  for (let i = 0; i < opts.days; i++) {
    const date = addDays(first, i);
    if (date >= today) {
      // A revenue day closes only once it is over: the demo bills the past, up to yesterday.
      say(`stopping before ${date}: a business day is closed only once it is over (today is ${today} in ${svc.reportingTimeZone})`);
      break;
    }
    const act = await demoActivity(svc, date, opts.members);
    // The same leases as tally run-day: a second demo (or the service's schedule) on this store waits its turn or is refused, never runs the day twice.
    const day = await withLocks(svc.store.db, ['renew', 'collect', 'report-revenue'], `${hostname()}:${process.pid} (tally demo)`, () => runDay(svc, date));
    last = day.revenue;
    const r = day.renew.counts;
    const c = day.collect.counts;
    say(`${date}  activity ${act.applied} (${act.skipped} refused)  renewed ${r.members} members, ${r.invoices} invoices  collected ${c.paid} paid, ${c.failed} declined, ${c.unknown} unknown  journal ${day.revenue.balanced ? 'balanced' : 'NOT BALANCED'}`);
    bar?.update(i + 1, { date });
  }
  bars?.stop();
  if (last) console.log('\n' + formatReport(last));
}
