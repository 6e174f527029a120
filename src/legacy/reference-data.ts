import type { LegacySchema } from './schema.ts';

/**
 * The legacy's own catalog, countries and tax tables, as it kept them: prices in major
 * units, two price eras (a rise on 2020-01-01), obsolete plan codes from its 2010 launch.
 * None of this comes from Tally: the legacy is the other side.
 */
export interface LegacyCountry {
  cd: string;
  cd3: string;
  name: string;
  currency: string;
  digits: number;
  inclusive: boolean;
  /** National rate, and regional rates where they differ (product 'D' = DVD only). */
  rate: string;
  regions?: { cd: string; rate: string; product?: 'S' | 'D' }[];
  tz: string;
  /** Basic, standard, premium monthly prices before 2020 and from 2020, major units. */
  prices: [string, string, string, string, string, string];
}

export const legacyCountries: LegacyCountry[] = [
  { cd: 'US', cd3: 'USA', name: 'United States', currency: 'USD', digits: 2, inclusive: false, rate: '0.00000', tz: 'America/New_York',
    regions: [{ cd: 'WA', rate: '0.06500' }, { cd: 'TX', rate: '0.06250' }, { cd: 'NY', rate: '0.04000', product: 'D' }, { cd: 'CA', rate: '0.07250', product: 'D' }],
    prices: ['7.99', '9.99', '11.99', '8.99', '13.99', '17.99'] },
  { cd: 'CA', cd3: 'CAN', name: 'Canada', currency: 'CAD', digits: 2, inclusive: false, rate: '0.05000', tz: 'America/Toronto',
    regions: [{ cd: 'QC', rate: '0.14975' }, { cd: 'ON', rate: '0.13000' }], prices: ['8.99', '10.99', '13.99', '9.99', '14.99', '18.99'] },
  { cd: 'GB', cd3: 'GBR', name: 'United Kingdom', currency: 'GBP', digits: 2, inclusive: true, rate: '0.20000', tz: 'Europe/London', prices: ['5.99', '7.49', '8.99', '6.99', '10.99', '15.99'] },
  { cd: 'DE', cd3: 'DEU', name: 'Germany', currency: 'EUR', digits: 2, inclusive: true, rate: '0.19000', tz: 'Europe/Berlin', prices: ['7.99', '9.99', '11.99', '9.99', '13.99', '19.99'] },
  { cd: 'FR', cd3: 'FRA', name: 'France', currency: 'EUR', digits: 2, inclusive: true, rate: '0.20000', tz: 'Europe/Paris', prices: ['7.99', '9.99', '11.99', '8.99', '13.49', '17.99'] },
  { cd: 'ES', cd3: 'ESP', name: 'Spain', currency: 'EUR', digits: 2, inclusive: true, rate: '0.21000', tz: 'Europe/Madrid', prices: ['7.99', '9.99', '11.99', '9.99', '12.99', '17.99'] },
  { cd: 'NL', cd3: 'NLD', name: 'Netherlands', currency: 'EUR', digits: 2, inclusive: true, rate: '0.21000', tz: 'Europe/Amsterdam', prices: ['7.99', '9.99', '11.99', '9.99', '13.99', '18.99'] },
  { cd: 'JP', cd3: 'JPN', name: 'Japan', currency: 'JPY', digits: 0, inclusive: true, rate: '0.10000', tz: 'Asia/Tokyo', prices: ['800', '1200', '1500', '990', '1490', '1980'] },
  { cd: 'BR', cd3: 'BRA', name: 'Brazil', currency: 'BRL', digits: 2, inclusive: false, rate: '0.09250', tz: 'America/Sao_Paulo', prices: ['19.90', '27.90', '37.90', '25.90', '39.90', '55.90'] },
  { cd: 'MX', cd3: 'MEX', name: 'Mexico', currency: 'MXN', digits: 2, inclusive: true, rate: '0.16000', tz: 'America/Mexico_City', prices: ['99.00', '129.00', '169.00', '139.00', '219.00', '299.00'] },
  { cd: 'AU', cd3: 'AUS', name: 'Australia', currency: 'AUD', digits: 2, inclusive: true, rate: '0.10000', tz: 'Australia/Sydney', prices: ['8.99', '12.99', '15.99', '10.99', '16.99', '22.99'] },
  { cd: 'KW', cd3: 'KWT', name: 'Kuwait', currency: 'KWD', digits: 3, inclusive: true, rate: '0.00000', tz: 'Asia/Kuwait', prices: ['2.500', '3.000', '3.500', '2.750', '3.250', '3.750'] },
];

/** Streaming plans by tier (0 basic, 1 standard, 2 premium), the yearly plan, the 2010 launch plans, DVD. */
export const legacyPlans: LegacySchema['plan_code'][] = [
  { plan_cd: 'STRM_BAS_M', descr: 'Streaming Basic (monthly)', product_type: 'S', period_months: 1, trial_days: 0, obsolete_flg: 'N' },
  { plan_cd: 'STRM_STD_M', descr: 'Streaming Standard (monthly)', product_type: 'S', period_months: 1, trial_days: 0, obsolete_flg: 'N' },
  { plan_cd: 'STRM_PRE_M', descr: 'Streaming Premium (monthly)', product_type: 'S', period_months: 1, trial_days: 0, obsolete_flg: 'N' },
  { plan_cd: 'STRM_STD_Y', descr: 'Streaming Standard (yearly)', product_type: 'S', period_months: 12, trial_days: 0, obsolete_flg: 'N' },
  { plan_cd: 'STRM_TRL_M', descr: 'Streaming Standard, 30 days free', product_type: 'S', period_months: 1, trial_days: 30, obsolete_flg: 'N' },
  { plan_cd: 'STRM_1S_2010', descr: 'Watch Instantly 1 screen (2010 launch)', product_type: 'S', period_months: 1, trial_days: 0, obsolete_flg: 'Y' },
  { plan_cd: 'STRM_2S_2010', descr: 'Watch Instantly 2 screens (2010 launch)', product_type: 'S', period_months: 1, trial_days: 0, obsolete_flg: 'Y' },
  { plan_cd: 'DVD_1', descr: 'DVD 1 disc out', product_type: 'D', period_months: 1, trial_days: 0, obsolete_flg: 'N' },
  { plan_cd: 'DVD_2', descr: 'DVD 2 discs out', product_type: 'D', period_months: 1, trial_days: 0, obsolete_flg: 'N' },
];

export const monthlyTiers = ['STRM_BAS_M', 'STRM_STD_M', 'STRM_PRE_M'] as const;

export const legacyDvdPlans: LegacySchema['dvd_rental_plan'][] = [
  { plan_cd: 'DVD_1', discs_out: 1, ship_region: 'US' },
  { plan_cd: 'DVD_2', discs_out: 2, ship_region: 'US' },
];
export const dvdPrices: Record<string, string> = { DVD_1: '9.99', DVD_2: '14.99' };

export const legacyPromotions: LegacySchema['promotion'][] = [
  { promo_id: 1, promo_cd: 'HALFOFF3', descr: '50% off for three months', pct_off: '50.00', amt_off: null, cycles: 3, valid_from_dt: '2012-01-01 00:00:00', valid_to_dt: null },
  { promo_id: 2, promo_cd: 'TWOOFF6', descr: '2.00 off for six months', pct_off: null, amt_off: '2.0000', cycles: 6, valid_from_dt: '2015-06-01 00:00:00', valid_to_dt: '2024-12-31 23:59:59' },
];

/** The code table: what the letters and numbers in status columns mean. */
export const legacyStatusCodes: LegacySchema['status_code'][] = [
  ['ACCOUNT', 'A', 'Active'], ['ACCOUNT', 'C', 'Closed'], ['ACCOUNT', 'H', 'On hold (payment)'],
  ['SUBSCRIPTION', '1', 'Active'], ['SUBSCRIPTION', '2', 'On hold'], ['SUBSCRIPTION', '3', 'Cancelled'], ['SUBSCRIPTION', '4', 'Free trial'], ['SUBSCRIPTION', '5', 'Past due'],
  ['INVOICE', 'O', 'Open'], ['INVOICE', 'P', 'Paid'], ['INVOICE', 'F', 'Failed, in retry'], ['INVOICE', 'U', 'Uncollectible'], ['INVOICE', 'V', 'Void'], ['INVOICE', 'R', 'Refunded'],
  ['PAYMENT_METHOD', 'A', 'Active'], ['PAYMENT_METHOD', 'E', 'Expired'], ['PAYMENT_METHOD', 'R', 'Replaced'],
  ['TXN', 'AUT', 'Authorization'], ['TXN', 'CAP', 'Capture'], ['TXN', 'REF', 'Refund'], ['TXN', 'CHB', 'Chargeback'],
  ['RESP', '00', 'Approved'], ['RESP', '05', 'Do not honor'], ['RESP', '51', 'Insufficient funds'], ['RESP', '54', 'Expired card'], ['RESP', '91', 'Issuer unavailable'],
  ['SUB_EVENT', 'NEW', 'Signed up'], ['SUB_EVENT', 'CHG', 'Plan changed'], ['SUB_EVENT', 'HOLD', 'Put on hold'], ['SUB_EVENT', 'RSUM', 'Resumed'], ['SUB_EVENT', 'CNCL', 'Cancelled'],
  ['GIFT_TXN', 'RDM', 'Redeemed into balance'], ['GIFT_TXN', 'APL', 'Applied to an invoice'],
].map(([code_type, code, descr]) => ({ code_type: code_type!, code: code!, descr: descr! }));

export function legacyReferenceRows(countries: LegacyCountry[]) {
  const country: LegacySchema['country'][] = countries.map((c) => ({
    country_cd: c.cd, country_cd3: c.cd3, country_nm: c.name, currency_cd: c.currency, currency_digits: c.digits, tax_incl_flg: c.inclusive ? 'Y' : 'N', active_flg: 'Y',
  }));
  const tax: LegacySchema['tax_jurisdiction'][] = [];
  const prices: LegacySchema['price_point'][] = [];
  countries.forEach((c, ci) => {
    tax.push({ tax_jur_id: ci * 100 + 1, country_cd: c.cd, region_cd: null, product_type: null, tax_rate: c.rate, eff_from_dt: '2010-01-01 00:00:00', eff_to_dt: null });
    (c.regions ?? []).forEach((r, ri) => tax.push({ tax_jur_id: ci * 100 + 2 + ri, country_cd: c.cd, region_cd: r.cd, product_type: r.product ?? null, tax_rate: r.rate, eff_from_dt: '2010-01-01 00:00:00', eff_to_dt: null }));
    const point = (k: number, plan: string, amount: string, from: string, to: string | null) => prices.push({
      price_point_id: ci * 100 + k, plan_cd: plan, country_cd: c.cd, currency_cd: c.currency, amount, eff_from_dt: from, eff_to_dt: to,
    });
    monthlyTiers.forEach((plan, t) => {
      point(t * 2 + 1, plan, c.prices[t]!, '2010-01-01 00:00:00', '2019-12-31 23:59:59');
      point(t * 2 + 2, plan, c.prices[t + 3]!, '2020-01-01 00:00:00', null);
    });
    point(11, 'STRM_STD_Y', times10(c.prices[1]!), '2010-01-01 00:00:00', '2019-12-31 23:59:59');
    point(12, 'STRM_STD_Y', times10(c.prices[4]!), '2020-01-01 00:00:00', null);
    point(13, 'STRM_TRL_M', c.prices[1]!, '2010-01-01 00:00:00', '2019-12-31 23:59:59');
    point(14, 'STRM_TRL_M', c.prices[4]!, '2020-01-01 00:00:00', null);
    point(15, 'STRM_1S_2010', c.prices[0]!, '2010-01-01 00:00:00', null);
    point(16, 'STRM_2S_2010', c.prices[1]!, '2010-01-01 00:00:00', null);
    if (c.cd === 'US') Object.entries(dvdPrices).forEach(([plan, amount], k) => point(17 + k, plan, amount, '2010-01-01 00:00:00', null));
  });
  return { country, status_code: legacyStatusCodes, tax_jurisdiction: tax, plan_code: legacyPlans, price_point: prices, dvd_rental_plan: legacyDvdPlans, promotion: legacyPromotions };
}

/** A yearly price: ten months' worth, in the same decimals. */
function times10(amount: string): string {
  const [whole, frac = ''] = amount.split('.');
  const digits = BigInt(whole + frac) * 10n;
  if (!frac) return digits.toString();
  const s = digits.toString().padStart(frac.length + 1, '0');
  return `${s.slice(0, -frac.length)}.${s.slice(-frac.length)}`;
}
