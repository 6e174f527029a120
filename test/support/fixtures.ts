import { catalogIndex, type Catalog } from '../../src/domain/catalog.ts';
import { newMember, signup, type Member } from '../../src/domain/member.ts';
import type { BillingContext } from '../../src/domain/renewal.ts';
import { tableTaxEngine } from '../../src/domain/tax/index.ts';

/** A small catalog whose prices are easy to compute by hand. */
export const testCatalog: Catalog = {
  plans: [
    { id: 'basic', product: 'streaming', period: 'month', trialDays: 0, prices: [
      { country: 'DE', currency: 'EUR', amount: 999 }, { country: 'US', currency: 'USD', amount: 1000 },
      { country: 'JP', currency: 'JPY', amount: 990 }, { country: 'KW', currency: 'KWD', amount: 2500 },
    ] },
    { id: 'premium', product: 'streaming', period: 'month', trialDays: 0, prices: [
      { country: 'DE', currency: 'EUR', amount: 1799 }, { country: 'US', currency: 'USD', amount: 2000 },
      { country: 'JP', currency: 'JPY', amount: 1980 }, { country: 'KW', currency: 'KWD', amount: 4000 },
    ] },
    { id: 'annual', product: 'streaming', period: 'year', trialDays: 0, prices: [{ country: 'US', currency: 'USD', amount: 10000 }] },
    { id: 'trial', product: 'streaming', period: 'month', trialDays: 14, prices: [{ country: 'US', currency: 'USD', amount: 1000 }] },
    { id: 'dvd', product: 'dvd', period: 'month', trialDays: 0, prices: [{ country: 'US', currency: 'USD', amount: 799 }] },
  ],
};

export const ctx: BillingContext = {
  catalog: catalogIndex(testCatalog),
  tax: tableTaxEngine([
    { country: 'DE', ratePpm: 190_000, inclusive: true, name: 'DE VAT' },
    { country: 'US', ratePpm: 0, inclusive: false, name: 'US none' },
    { country: 'US', region: 'WA', ratePpm: 65_000, inclusive: false, name: 'US-WA' },
    { country: 'JP', ratePpm: 100_000, inclusive: true, name: 'JP consumption tax' },
    { country: 'KW', ratePpm: 0, inclusive: true, name: 'KW none' },
  ]),
};

export function memberOn(plan: string, on: string, opts: { country?: string; region?: string | null; id?: string } = {}): Member {
  const m = newMember({
    id: opts.id ?? 'm1', country: opts.country ?? 'US', region: opts.region ?? null, timezone: 'UTC', paymentToken: 'tok_ok',
  }, ctx.catalog);
  return signup(m, plan, on, ctx.catalog).member;
}
