/**
 * The revenue report as GET /v1/finance/revenue answers it (src/domain/revenue.ts: one report per
 * closed business day) and the sums the finance page shows. Pure: amounts stay integer minor
 * units, summed per currency only (never across currencies).
 */

export interface RevenueLine {
  country: string;
  currency: string;
  billed: number;
  tax: number;
  collected: number;
  refunded: number;
  chargebacks: number;
  writtenOff: number;
  [figure: string]: string | number;
}

export interface CurrencyBalance { currency: string; debit: number; credit: number; balanced: boolean }

export interface RevenueDay { businessDate: string; lines: RevenueLine[]; balances: CurrencyBalance[]; balanced: boolean }

/** The figures the page shows, in the report's order, with their column headings. */
export const figures = [
  ['billed', 'Billed'],
  ['tax', 'Tax'],
  ['collected', 'Collected'],
  ['refunded', 'Refunded'],
  ['chargebacks', 'Chargebacks'],
  ['writtenOff', 'Written off'],
] as const;

export type Figure = (typeof figures)[number][0];

export type Totals = Record<Figure, number>;

const zero = (): Totals => ({ billed: 0, tax: 0, collected: 0, refunded: 0, chargebacks: 0, writtenOff: 0 });

/** The currencies in the report, sorted. */
export function currenciesOf(days: RevenueDay[]): string[] {
  return [...new Set(days.flatMap((d) => d.lines.map((l) => l.currency)))].sort();
}

/** Each figure summed over every day and country, per currency. */
export function totalsByCurrency(days: RevenueDay[]): Map<string, Totals> {
  const out = new Map<string, Totals>();
  for (const d of days) {
    for (const l of d.lines) {
      let t = out.get(l.currency);
      if (!t) out.set(l.currency, (t = zero()));
      for (const [f] of figures) t[f] += l[f];
    }
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** One figure per day in one currency, summed over countries; null on a day without that currency. */
export function seriesOf(days: RevenueDay[], currency: string, figure: Figure): (number | null)[] {
  return days.map((d) => {
    const lines = d.lines.filter((l) => l.currency === currency);
    return lines.length ? lines.reduce((sum, l) => sum + l[figure], 0) : null;
  });
}

/** Yesterday and the 29 days before it, as ISO dates (the default range: days that may be closed). */
export function defaultRange(today = new Date()): { from: string; to: string } {
  const day = 86_400_000;
  const to = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - day);
  const from = new Date(to.getTime() - 29 * day);
  return { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
}

export const isIsoDate = (s: string | null | undefined): s is string => !!s && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));
