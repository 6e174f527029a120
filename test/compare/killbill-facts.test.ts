import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { killBillFacts } from '../../src/compare/sources/killbill-facts.ts';
import type { MemberFacts } from '../../src/compare/member-facts.ts';
import type { SourceMember } from '../../src/compare/sources/source-facts.ts';
import { currencyExponent } from '../../src/domain/money.ts';
import { buildKillBillFixture, openKillBill, type KillBillDb, type KillBillFixture } from '../../src/killbill/index.ts';
import type { KillBillMember } from '../../src/migration/sources/killbill-member.ts';
import { killBillMark } from '../../src/migration/transform/killbill-history.ts';
import { engineUnderTest, freshStoreUrl } from '../support/engine.ts';

// Kill Bill runs on MySQL/MariaDB and PostgreSQL only, so there is no SQLite Kill Bill database to build.
const skip = engineUnderTest === 'sqlite' ? 'Kill Bill databases exist on MySQL/MariaDB and PostgreSQL only (run with TALLY_TEST_ENGINE=mysql or postgres)' : false;

const plans = new Map([['basic-monthly', 'basic'], ['standard-monthly', 'standard'], ['premium-monthly', 'premium']]);
const window = (asOf: string) => ({ horizons: { earliest: '2000-01-01', latest: '2000-01-01' }, plans, asOf });

async function fixture(): Promise<{ kb: KillBillDb; fx: KillBillFixture }> {
  const kb = await openKillBill(await freshStoreUrl());
  return { kb, fx: await buildKillBillFixture(kb.db) };
}

async function everyMember(kb: KillBillDb, tenant: number, asOf: string, pageSize = 2): Promise<Map<string, SourceMember>> {
  const facts = killBillFacts(kb, tenant, window(asOf));
  const out = new Map<string, SourceMember>();
  for (const country of await facts.countries()) {
    let cursor: string | null = null;
    do {
      const page: { members: SourceMember[]; cursor: string | null } = await facts.page(country, cursor, pageSize);
      for (const m of page.members) out.set(m.facts.member, m);
      cursor = page.cursor;
    } while (cursor !== null);
  }
  return out;
}

/** Exact major units of the fixture's descriptions → minor units of the currency (by hand, not by the code under test). */
const units = (amount: string, currency: string) => Math.round(Number(amount) * 10 ** currencyExponent(currency));

type Expected = Omit<MemberFacts, 'member' | 'email' | 'currency' | 'timezone' | 'giftCardBalance' | 'invoicesRepaired' | 'invoicesVoid'>;

// Worked out from the fixture's rows (src/killbill/fixture.ts), invoice by invoice.
const expected: Record<string, Expected> = {
  // Four months of 9.99 + 0.80 tax, each paid; the DRAFT and VOID invoices are not issued; the undone CHANGE is soft-deleted.
  'kb-usd-active': {
    paymentToken: 'kb-usd-active-card', creditBalance: 0, invoicesAll: 4, invoices: 4, invoicesTotal: 4316, invoicesTax: 320, invoicesUnpaid: 0, lastIssuedOn: '2026-11-09',
    payments: 4, paymentsAmount: 4316, declines: 0, refunds: 0, refundsAmount: 0, chargebacks: 0, chargebacksAmount: 0,
    subscriptions: [{ plan: 'standard', status: 'active', paidThrough: '2026-12-09', cancelAtPeriodEnd: false, discountCyclesLeft: null }],
  },
  // The trial's FIXED item of 0; charged through its start, so it bills next when the trial ends.
  'kb-jpy-trial': {
    paymentToken: 'kb-jpy-trial-card', creditBalance: 0, invoicesAll: 1, invoices: 1, invoicesTotal: 0, invoicesTax: 0, invoicesUnpaid: 0, lastIssuedOn: '2026-11-15',
    payments: 0, paymentsAmount: 0, declines: 0, refunds: 0, refundsAmount: 0, chargebacks: 0, chargebacksAmount: 0,
    subscriptions: [{ plan: 'premium', status: 'trial', paidThrough: '2026-12-15', cancelAtPeriodEnd: false, discountCyclesLeft: null }],
  },
  // Four months of 3.500 KWD (two grants of credit charge nothing); credit 6 − 3.5 − 2.5 + 2.25; paid 3.5 + 1 + 3.5.
  'kb-kwd-credit': {
    paymentToken: 'kb-kwd-credit-card', creditBalance: 2250, invoicesAll: 6, invoices: 6, invoicesTotal: 14000, invoicesTax: 0, invoicesUnpaid: 0, lastIssuedOn: '2026-11-20',
    payments: 3, paymentsAmount: 8000, declines: 0, refunds: 0, refundsAmount: 0, chargebacks: 0, chargebacksAmount: 0,
    subscriptions: [{ plan: 'basic', status: 'active', paidThrough: '2026-12-01', cancelAtPeriodEnd: false, discountCyclesLeft: null }],
  },
  // October's 8.99 failed three times and is unpaid; the current OD2 state blocks billing.
  'kb-eur-blocked': {
    paymentToken: 'kb-eur-blocked-card', creditBalance: 0, invoicesAll: 2, invoices: 2, invoicesTotal: 1798, invoicesTax: 0, invoicesUnpaid: 1, lastIssuedOn: '2026-10-05',
    payments: 1, paymentsAmount: 899, declines: 3, refunds: 0, refundsAmount: 0, chargebacks: 0, chargebacksAmount: 0,
    subscriptions: [{ plan: 'standard', status: 'on_hold', paidThrough: '2026-11-05', cancelAtPeriodEnd: false, discountCyclesLeft: null }],
  },
  // Three months of 7.99; the repair of August is credit (4.12), not a charge; cancelled, so paid through nothing.
  'kb-usd-cancelled': {
    paymentToken: 'kb-usd-cancelled-card', creditBalance: 412, invoicesAll: 4, invoices: 4, invoicesTotal: 2397, invoicesTax: 0, invoicesUnpaid: 0, lastIssuedOn: '2026-08-27',
    payments: 3, paymentsAmount: 2397, declines: 0, refunds: 0, refundsAmount: 0, chargebacks: 0, chargebacksAmount: 0,
    subscriptions: [{ plan: 'basic', status: 'cancelled', paidThrough: null, cancelAtPeriodEnd: false, discountCyclesLeft: null }],
  },
  // 5.99 × 2 + (8.99 + 1.50 − 1.50 adjusted) + 8.99 × 2; paid 40.45, of which 1.50 refunded; the CANCEL is still to come.
  'kb-eur-future-cancel': {
    paymentToken: 'kb-eur-future-cancel-card', creditBalance: 0, invoicesAll: 5, invoices: 5, invoicesTotal: 3895, invoicesTax: 0, invoicesUnpaid: 0, lastIssuedOn: '2026-11-03',
    payments: 5, paymentsAmount: 4045, declines: 0, refunds: 1, refundsAmount: 150, chargebacks: 0, chargebacksAmount: 0,
    subscriptions: [{ plan: 'standard', status: 'active', paidThrough: '2026-12-03', cancelAtPeriodEnd: true, discountCyclesLeft: null }],
  },
  // 19.99 captured + 15.99 × 3; September's is charged back (disputed, not unpaid); AUTHORIZE, VOID and the PENDING CREDIT move nothing.
  'kb-usd-chargeback': {
    paymentToken: 'kb-usd-chargeback-card', creditBalance: 0, invoicesAll: 4, invoices: 4, invoicesTotal: 6796, invoicesTax: 0, invoicesUnpaid: 0, lastIssuedOn: '2026-11-15',
    payments: 4, paymentsAmount: 6796, declines: 0, refunds: 0, refundsAmount: 0, chargebacks: 1, chargebacksAmount: 1599,
    subscriptions: [{ plan: 'premium', status: 'active', paidThrough: '2026-12-15', cancelAtPeriodEnd: false, discountCyclesLeft: null }],
  },
  // Half a yen cannot be held: the amounts stay decimal text, and so differ from anything Tally could hold.
  'kb-jpy-precision': {
    paymentToken: 'kb-jpy-precision-card', creditBalance: 0, invoicesAll: 2, invoices: 2, invoicesTotal: '2110.5', invoicesTax: 0, invoicesUnpaid: 0, lastIssuedOn: '2026-11-20',
    payments: 2, paymentsAmount: '2110.5', declines: 0, refunds: 0, refundsAmount: 0, chargebacks: 0, chargebacksAmount: 0,
    subscriptions: [{ plan: 'basic', status: 'active', paidThrough: '2026-12-20', cancelAtPeriodEnd: false, discountCyclesLeft: null }],
  },
};

/** The account's rows as a migration reads them (a plain select per table), for the transform's own mark. */
async function rowsOf(kb: KillBillDb, tenant: number, recordId: number): Promise<KillBillMember> {
  // Any of the tables below the account, read alike: the rows' own types are KillBillMember's.
  const db = kb.db as unknown as Kysely<Record<string, { tenant_record_id: number; account_record_id: number; record_id: number }>>;
  const below = (table: string) => db.selectFrom(table).selectAll().where('tenant_record_id', '=', tenant).where('account_record_id', '=', recordId).orderBy('record_id').execute();
  return {
    account: await kb.db.selectFrom('accounts').selectAll().where('record_id', '=', recordId).executeTakeFirstOrThrow(),
    bundles: await below('bundles'), subscriptions: await below('subscriptions'), events: await below('subscription_events'), blockingStates: await below('blocking_states'),
    invoices: await below('invoices'), invoiceItems: await below('invoice_items'), invoicePayments: await below('invoice_payments'), payments: await below('payments'),
    transactions: await below('payment_transactions'), paymentMethods: await below('payment_methods'),
  } as unknown as KillBillMember;
}

test('Kill Bill facts: every tenant-1 account, page by page and country by country, with the hand-computed facts and the fixture\'s documented sums', { skip }, async () => {
  const { kb, fx } = await fixture();
  try {
    const facts = killBillFacts(kb, 1, window(fx.asOf));
    assert.deepEqual(await facts.countries(), ['DE', 'FR', 'JP', 'KW', 'US']);
    assert.deepEqual(await killBillFacts(kb, 2, window(fx.asOf)).countries(), ['ES', 'US']);

    const got = await everyMember(kb, 1, fx.asOf);
    const tenant1 = fx.accounts.filter((a) => a.tenantRecordId === 1);
    assert.deepEqual([...got.keys()].sort(), tenant1.map((a) => a.externalKey).sort());
    for (const a of tenant1) {
      const m = got.get(a.externalKey)!;
      const { member, email, currency, timezone, giftCardBalance, invoicesRepaired, invoicesVoid, ...rest } = m.facts;
      assert.deepEqual({ member, email, currency, timezone, giftCardBalance, invoicesRepaired, invoicesVoid },
        { member: a.externalKey, email: a.email, currency: a.currency, timezone: a.timeZone, giftCardBalance: 0, invoicesRepaired: 0, invoicesVoid: 0 }, a.externalKey);
      assert.deepEqual(rest, expected[a.externalKey], a.externalKey);
      assert.equal(m.sourceKey, String(a.recordId));

      // The fixture's own description of the account agrees, wherever the currency can hold its amounts.
      if (!a.quarantine) {
        assert.equal(m.facts.creditBalance, units(a.creditBalance, a.currency), `${a.externalKey} credit`);
        assert.equal(m.facts.paymentsAmount, units(a.paid, a.currency), `${a.externalKey} paid`);
      }
      assert.equal(m.facts.refundsAmount, units(a.refunded, a.currency), `${a.externalKey} refunded`);
      assert.equal(m.facts.chargebacksAmount, units(a.chargedBack, a.currency), `${a.externalKey} charged back`);
      assert.equal(m.facts.declines, a.failedAttempts, `${a.externalKey} failed attempts`);
      assert.equal(m.facts.invoicesAll, a.committedInvoices, `${a.externalKey} committed invoices`);
      const sub = m.facts.subscriptions[0]!;
      assert.equal(sub.plan, plans.get(a.plan));
      assert.equal(sub.cancelAtPeriodEnd, a.status === 'cancel-at-period-end');
      assert.equal(sub.paidThrough, a.status === 'cancelled' ? null : (a.trialEnds ?? a.chargedThrough), a.externalKey);

      // The mark is the transform's, over the same rows.
      assert.equal(m.mark, killBillMark(await rowsOf(kb, 1, a.recordId)), `${a.externalKey} mark`);
    }
    assert.equal(got.get('kb-usd-active')!.mark, '2026-11-20 14:00:00', 'the DRAFT invoice is a row the migration reads');
    assert.equal(got.get('kb-eur-future-cancel')!.mark, '2026-11-25 11:00:00', 'the CANCEL scheduled three days before');
  } finally {
    await kb.close();
  }
});

test('Kill Bill facts: the window keeps what is still unpaid whatever its age, and since() moves the horizon invoice by invoice', { skip }, async () => {
  const { kb, fx } = await fixture();
  try {
    const facts = killBillFacts(kb, 1, { horizons: { earliest: '2026-09-01', latest: '2026-11-01' }, plans, asOf: fx.asOf });
    const [blocked] = await facts.byMembers('DE', ['kb-eur-blocked']);
    // Latest horizon: only October's unpaid invoice (issued before it) is in the window; all invoices still count.
    assert.deepEqual({ n: blocked!.facts.invoices, total: blocked!.facts.invoicesTotal, unpaid: blocked!.facts.invoicesUnpaid, declines: blocked!.facts.declines, payments: blocked!.facts.payments, last: blocked!.facts.lastIssuedOn, all: blocked!.facts.invoicesAll },
      { n: 1, total: 899, unpaid: 1, declines: 3, payments: 0, last: '2026-10-05', all: 2 });
    // From 2026-09-05, September's paid invoice is back in.
    const sept = blocked!.since('2026-09-05');
    assert.deepEqual({ n: sept.invoices, total: sept.invoicesTotal, payments: sept.payments, amount: sept.paymentsAmount }, { n: 2, total: 1798, payments: 1, amount: 899 });
    assert.equal(blocked!.since('2026-09-06').invoices, 1);

    const [credit] = await facts.byMembers('KW', ['kb-kwd-credit']);
    // The balance is every credit ever granted and used, whatever the horizon.
    assert.equal(credit!.facts.creditBalance, 2250);
    assert.deepEqual({ n: credit!.facts.invoices, last: credit!.facts.lastIssuedOn }, { n: 2, last: '2026-11-20' });
    assert.deepEqual({ n: credit!.since('2026-09-01').invoices, total: credit!.since('2026-09-01').invoicesTotal }, { n: 4, total: 10500 });
  } finally {
    await kb.close();
  }
});

test('Kill Bill facts: one tenant only, only the members asked for, read as of a day', { skip }, async () => {
  const { kb, fx } = await fixture();
  try {
    const one = killBillFacts(kb, 1, window(fx.asOf));
    const two = killBillFacts(kb, 2, window(fx.asOf));
    const b1 = fx.accounts.find((a) => a.tenantRecordId === 2 && a.externalKey === 'kb-usd-active')!;
    const a1 = fx.accounts.find((a) => a.tenantRecordId === 1 && a.externalKey === 'kb-usd-active')!;
    const [mine] = await one.byMembers('US', ['kb-usd-active']);
    assert.equal(mine!.sourceKey, String(a1.recordId));
    assert.equal(mine!.facts.invoicesAll, 4);
    const [theirs] = await two.byMembers('US', ['kb-usd-active']);
    assert.equal(theirs!.sourceKey, String(b1.recordId));
    assert.deepEqual({ all: theirs!.facts.invoicesAll, paid: theirs!.facts.paymentsAmount, token: theirs!.facts.paymentToken }, { all: 2, paid: 1998, token: 'kb-usd-active-card' });
    assert.deepEqual((await one.byMembers('ES', ['kb-eur-other'])), []);
    assert.deepEqual((await two.byMembers('ES', ['kb-eur-other'])).map((m) => m.facts.member), ['kb-eur-other']);

    const asked = await one.byMembers('US', ['kb-usd-chargeback', 'kb-usd-cancelled', 'nobody', 'kb-eur-blocked']);
    assert.deepEqual(asked.map((m) => m.facts.member), ['kb-usd-cancelled', 'kb-usd-chargeback']);
    assert.deepEqual(await one.byMembers('US', []), []);

    // Past the scheduled CANCEL and the end of the trial.
    const later = killBillFacts(kb, 1, window('2026-12-16'));
    const [cancelled] = await later.byMembers('FR', ['kb-eur-future-cancel']);
    assert.deepEqual(cancelled!.facts.subscriptions, [{ plan: 'standard', status: 'cancelled', paidThrough: null, cancelAtPeriodEnd: false, discountCyclesLeft: null }]);
    const [trial] = await later.byMembers('JP', ['kb-jpy-trial']);
    assert.deepEqual(trial!.facts.subscriptions, [{ plan: 'premium', status: 'active', paidThrough: '2026-11-15', cancelAtPeriodEnd: false, discountCyclesLeft: null }]);
  } finally {
    await kb.close();
  }
});

test('Kill Bill facts: the mark moves for the account whose rows changed, and for no other', { skip }, async () => {
  const { kb, fx } = await fixture();
  try {
    const before = await everyMember(kb, 1, fx.asOf, 100);
    assert.deepEqual([...(await everyMember(kb, 1, fx.asOf, 100))].map(([k, m]) => [k, m.mark]), [...before].map(([k, m]) => [k, m.mark]), 'an unchanged account keeps its mark');

    const active = fx.accounts.find((a) => a.tenantRecordId === 1 && a.externalKey === 'kb-usd-active')!;
    const credit = fx.accounts.find((a) => a.externalKey === 'kb-kwd-credit')!;
    await kb.db.updateTable('accounts').set({ email: 'new@example.com', updated_date: '2026-11-29 10:00:00' }).where('record_id', '=', active.recordId).execute();
    // A row below the account, changed behind the migration's back, moves it too: a soft delete of its card.
    await kb.db.updateTable('payment_methods').set({ is_active: false, updated_date: '2026-11-29 11:00:00' }).where('account_record_id', '=', credit.recordId).execute();

    const after = await everyMember(kb, 1, fx.asOf, 100);
    for (const [key, m] of after) {
      if (key === 'kb-usd-active') assert.equal(m.mark, '2026-11-29 10:00:00');
      else if (key === 'kb-kwd-credit') assert.equal(m.mark, '2026-11-29 11:00:00');
      else assert.equal(m.mark, before.get(key)!.mark, key);
      assert.ok(m.mark >= before.get(key)!.mark);
    }
    assert.equal(after.get('kb-usd-active')!.facts.email, 'new@example.com');
    assert.equal(after.get('kb-kwd-credit')!.facts.paymentToken, null);
    // The other tenant's same-key account is untouched.
    const [theirs] = await killBillFacts(kb, 2, window(fx.asOf)).byMembers('US', ['kb-usd-active']);
    assert.notEqual(theirs!.mark, '2026-11-29 10:00:00');
  } finally {
    await kb.close();
  }
});

test('Kill Bill facts: an item adjustment of a TAX item lowers the invoice\'s tax and total, and what was overpaid becomes credit', { skip }, async () => {
  const { kb, fx } = await fixture();
  try {
    const a1 = fx.accounts.find((a) => a.tenantRecordId === 1 && a.externalKey === 'kb-usd-active')!;
    const tax = await kb.db.selectFrom('invoice_items as t').innerJoin('invoices as i', 'i.id', 't.invoice_id').selectAll('t')
      .where('t.account_record_id', '=', a1.recordId).where('t.type', '=', 'TAX').where('i.invoice_date', '=', '2026-11-09').executeTakeFirstOrThrow();
    // As Kill Bill writes it: the adjustment on the tax item's own invoice, and the paid invoice's excess as account credit.
    const item = { invoice_id: tax.invoice_id, account_id: tax.account_id, child_account_id: null, bundle_id: null, subscription_id: null, product_name: null, plan_name: null, phase_name: null,
      usage_name: null, catalog_effective_date: null, start_date: '2026-11-12', end_date: '2026-11-12', rate: null, currency: 'USD', quantity: null, item_details: null, created_by: 'test',
      created_date: '2026-11-12 15:00:00', account_record_id: a1.recordId, tenant_record_id: 1 };
    await kb.db.insertInto('invoice_items').values([
      { ...item, id: 'adj-of-tax', type: 'ITEM_ADJ', description: 'Tax exempt', amount: '-0.80', linked_item_id: tax.id },
      { ...item, id: 'cba-of-tax', type: 'CBA_ADJ', description: null, amount: '0.80', linked_item_id: null },
    ]).execute();
    const [m] = await killBillFacts(kb, 1, window(fx.asOf)).byMembers('US', ['kb-usd-active']);
    assert.deepEqual({ total: m!.facts.invoicesTotal, tax: m!.facts.invoicesTax, credit: m!.facts.creditBalance, unpaid: m!.facts.invoicesUnpaid, mark: m!.mark },
      { total: 4236, tax: 240, credit: 80, unpaid: 0, mark: '2026-11-20 14:00:00' });
  } finally {
    await kb.close();
  }
});

test('Kill Bill facts: a Kill Bill older than 0.18, whose invoices have no status, committed every invoice', { skip }, async () => {
  const { kb, fx } = await fixture();
  try {
    await sql`alter table invoices drop column status`.execute(kb.db);
    const [m] = await killBillFacts(kb, 1, window(fx.asOf)).byMembers('US', ['kb-usd-active']);
    // The fixture's DRAFT (5.00) and VOID (3.00) invoices are then issued, unpaid.
    assert.deepEqual({ all: m!.facts.invoicesAll, total: m!.facts.invoicesTotal, unpaid: m!.facts.invoicesUnpaid }, { all: 6, total: 5116, unpaid: 2 });
  } finally {
    await kb.close();
  }
});
