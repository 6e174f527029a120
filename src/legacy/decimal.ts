/**
 * The legacy's money: DECIMAL(12,4) in major units, held here as a bigint of ten-thousandths
 * so nothing is ever a float. Its rounding is banker's (half to even), to the currency's
 * digits: a documented quirk that the migration and the comparator must know about.
 */
export type Dec4 = bigint;

const SCALE = 10_000n;

export function dec4(text: string | number): Dec4 {
  const s = typeof text === 'number' ? text.toFixed(4) : text.trim();
  const m = /^(-?)(\d+)(?:\.(\d{1,4})\d*)?$/.exec(s);
  if (!m) throw new Error(`not a decimal: ${JSON.stringify(text)}`);
  const units = BigInt(m[2]!) * SCALE + BigInt((m[3] ?? '').padEnd(4, '0'));
  return m[1] ? -units : units;
}

export function formatDec4(v: Dec4): string {
  const neg = v < 0n;
  const a = neg ? -v : v;
  return `${neg ? '-' : ''}${a / SCALE}.${(a % SCALE).toString().padStart(4, '0')}`;
}

/** Round to `digits` decimals (0 to 4), half to even. */
export function roundBankers(v: Dec4, digits: number): Dec4 {
  const step = 10n ** BigInt(4 - digits);
  if (step === 1n) return v;
  const neg = v < 0n;
  const a = neg ? -v : v;
  let q = a / step;
  const r = a % step;
  if (r * 2n > step || (r * 2n === step && q % 2n === 1n)) q += 1n;
  const out = q * step;
  return neg ? -out : out;
}

/** amount × rate (a decimal with up to 5 places), rounded half to even to `digits`. */
export function timesRate(amount: Dec4, rate: string, digits: number): Dec4 {
  const [w, f = ''] = rate.split('.');
  const rateUnits = BigInt(w! + f.padEnd(5, '0'));
  // amount (10^-4) × rate (10^-5) = 10^-9; bring back to 10^-4 with half-to-even at the currency's digits.
  const exact = amount * rateUnits;
  const step = 100_000n * 10n ** BigInt(4 - digits);
  let q = exact / step;
  const r = exact % step;
  if (r * 2n > step || (r * 2n === step && q % 2n === 1n)) q += 1n;
  return q * 10n ** BigInt(4 - digits);
}

/** The tax inside a tax-inclusive gross: gross × rate / (1 + rate), half to even. */
export function includedTax(gross: Dec4, rate: string, digits: number): Dec4 {
  const [w, f = ''] = rate.split('.');
  const rateUnits = BigInt(w! + f.padEnd(5, '0'));
  const num = gross * rateUnits;
  const den = 100_000n + rateUnits;
  const step = 10n ** BigInt(4 - digits);
  // tax in units of 10^-4 before rounding: num / den; round to `step` half to even.
  const scaled = num; // 10^-4 units × rate / (1 + rate)
  let q = scaled / (den * step);
  const r = scaled % (den * step);
  if (r * 2n > den * step || (r * 2n === den * step && q % 2n === 1n)) q += 1n;
  return q * step;
}
