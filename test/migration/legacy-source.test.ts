import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateMember, legacyCountries, openLegacy, seedLegacy, type MemberRows } from '../../src/legacy/index.ts';
import { legacyMark } from '../../src/migration/sources/legacy-adapter.ts';
import { legacySource, type LegacyMember } from '../../src/migration/sources/legacy-source.ts';
import { builtInCatalog, catalogIndex } from '../../src/domain/catalog.ts';
import { referenceLegacyPlans } from '../../src/migration/plan-mapping.ts';
import { transformLegacyMember } from '../../src/migration/transform/legacy-member.ts';
import { freshStoreUrl } from '../support/engine.ts';

const catalog = catalogIndex(builtInCatalog);

const opts = { members: 400, seed: 11, asOf: '2026-11-28', countries: ['DE', 'JP', 'US'] };

/** The country a customer's code names, however the legacy wrote it. */
function countryOf(code: string | null): string {
  const c = (code ?? '').trim().toUpperCase();
  return legacyCountries.find((x) => x.cd3 === c)?.cd ?? (c || '??');
}

test('the legacy source pages a country\'s members in key order, each whole, whatever case or length its code was written in', async () => {
  const legacy = await openLegacy(await freshStoreUrl());
  try {
    await seedLegacy(legacy.db, opts);
    const generated: MemberRows[] = Array.from({ length: opts.members }, (_, n) => generateMember(n, opts));
    const customers = generated.flatMap((r) => r.customer ?? []);
    assert.ok(customers.some((c) => c.country_cd !== countryOf(c.country_cd)), 'the population has odd country codes to normalize');
    const source = legacySource(legacy);

    const counts = await source.countries();
    assert.deepEqual(counts.map((c) => c.country).sort(), ['DE', 'JP', 'US']);
    assert.equal(counts.reduce((n, c) => n + c.members, 0), customers.length);

    for (const country of ['DE', 'US']) {
      const seen: LegacyMember[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { members: LegacyMember[]; cursor: string | null } = await source.page(country, cursor, 7);
        seen.push(...page.members);
        cursor = page.cursor;
        assert.ok(++pages < 1000);
      } while (cursor !== null);
      const expected = customers.filter((c) => countryOf(c.country_cd) === country).map((c) => c.cust_id).sort((a, b) => a - b);
      assert.deepEqual(seen.map((m) => m.custId), expected, `${country}: every member once, in key order`);
      assert.equal(counts.find((c) => c.country === country)!.members, expected.length);
      // Every member of a generated population transforms, or is quarantined for a stated reason; none throws.
      const promotions = new Map((await legacy.db.selectFrom('promotion').selectAll().execute()).map((p) => [Number(p.promo_id), p]));
      const pricePoints = await legacy.db.selectFrom('price_point').selectAll().execute();
      const results = seen.map((m) => transformLegacyMember(m, { catalog, plans: referenceLegacyPlans, promotions, pricePoints }));
      const loaded = results.filter((r) => r.member);
      assert.ok(loaded.length >= seen.length * 0.9, `${loaded.length} of ${seen.length} transformed`);
      for (const r of loaded) {
        assert.equal(r.member!.country, country);
        assert.equal(r.member!.currency, catalog.currencyOf(country));
        assert.ok(r.member!.subscriptions.length >= 0 && r.member!.email === r.member!.email?.trim().toLowerCase());
      }
      for (const m of seen.filter((x) => x.custId < 2_000_000_000).slice(0, 40)) {
        const rows = generated[m.custId - 1]!;
        assert.equal(m.key, rows.customer![0]!.acct_no);
        assert.equal(m.invoices.length, rows.invoice_header?.length ?? 0, `member ${m.key} invoices`);
        assert.equal(m.details.length, (rows.invoice_detail ?? []).filter((d) => rows.invoice_header?.some((h) => h.inv_id === d.inv_id)).length);
        assert.equal(m.payments.length, rows.payment_txn?.length ?? 0, `member ${m.key} payments, orphans by card included`);
        assert.equal(m.subscriptions.length, rows.subscription?.length ?? 0);
        assert.equal(m.history.length, rows.subscription_history?.length ?? 0);
        assert.equal(m.giftCardTxns.length, rows.gift_card_txn?.length ?? 0);
        assert.equal(m.creditMemos.length, rows.credit_memo?.length ?? 0);
        assert.equal(m.emails.length, 1);
      }
    }
    assert.deepEqual(await source.page('KW', null, 10), { members: [], cursor: null });
  } finally {
    await legacy.close();
  }
});

test('the cheap marks page the same members as the pages, each mark never earlier than the mark of the member read whole, and equal when nothing lies past the horizon', async () => {
  const legacy = await openLegacy(await freshStoreUrl());
  try {
    await seedLegacy(legacy.db, opts);
    const source = legacySource(legacy);
    for (const country of ['DE', 'JP', 'US']) {
      const read = new Map<string, string>();
      for (let cursor: string | null = null, first = true; first || cursor !== null; first = false) {
        const page: { members: LegacyMember[]; cursor: string | null } = await source.page(country, cursor, 37, { historySince: '2024-11-26' });
        for (const m of page.members) read.set(m.key, legacyMark(m));
        cursor = page.cursor;
      }
      const cheap = new Map<string, string>();
      let whole = 0;
      for (let cursor: string | null = null, first = true; first || cursor !== null; first = false) {
        const page = await source.marks!(country, cursor, 37);
        for (const m of page.marks) cheap.set(m.memberId, m.mark);
        cursor = page.cursor;
      }
      assert.deepEqual([...cheap.keys()], [...read.keys()], country);
      for (const [id, mark] of read) {
        assert.ok(cheap.get(id)! >= mark, `${id}: ${cheap.get(id)} < ${mark}`);
        if (cheap.get(id) === mark) whole++;
      }
      // Only members with an invoice or payment stamped past the horizon after everything else differ.
      assert.ok(whole >= read.size * 0.9, `${country}: ${whole} of ${read.size} equal`);
    }
  } finally {
    await legacy.close();
  }
});
