import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseIsoDate } from '../domain/calendar.ts';
import { InvalidInput } from '../domain/errors.ts';
import { MAX_MINOR_UNITS } from '../domain/money.ts';

const isoDate = z.preprocess((v) => {
  try {
    return parseIsoDate(v, 'date');
  } catch {
    return v;
  }
}, z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a real date YYYY-MM-DD').refine((s) => {
  try {
    parseIsoDate(s, 'date');
    return true;
  } catch {
    return false;
  }
}, 'must be a real calendar date'));

const minor = z.number().int('must be a whole number of minor units').nonnegative('must not be negative').max(MAX_MINOR_UNITS);
const positiveMinor = minor.positive('must be more than zero');
const id = z.string().min(1).max(64);

const price = z.strictObject({
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 country code'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 currency code'),
  amount: minor,
  from: isoDate.optional(),
  grandfatherUntil: isoDate.optional(),
});

const plan = z.strictObject({
  id,
  name: z.string().optional(),
  product: z.enum(['streaming', 'dvd']),
  period: z.enum(['month', 'year']),
  trialDays: z.number().int().nonnegative().default(0),
  prices: z.array(price).min(1),
});

const tax = z.strictObject({
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 country code'),
  region: z.string().nullable().optional(),
  rate: z.number().min(0).max(1),
  inclusive: z.boolean(),
  from: isoDate.optional(),
  products: z.array(z.enum(['streaming', 'dvd'])).optional(),
  name: z.string().optional(),
});

const member = z.strictObject({
  id,
  country: z.string(),
  region: z.string().nullable().optional(),
  timezone: z.string(),
  payment: z.string(),
  email: z.string().email().optional(),
});

const base = { on: isoDate, member: id };
const action = z.discriminatedUnion('do', [
  z.strictObject({ ...base, do: z.literal('signup'), plan: id }),
  z.strictObject({ ...base, do: z.literal('change-plan'), plan: id }),
  z.strictObject({ ...base, do: z.literal('cancel'), product: z.enum(['streaming', 'dvd']).optional() }),
  z.strictObject({ ...base, do: z.literal('reactivate'), product: z.enum(['streaming', 'dvd']).optional() }),
  z.strictObject({ ...base, do: z.literal('update-payment'), payment: z.string() }),
  z.strictObject({ ...base, do: z.literal('redeem-gift-card'), amount: positiveMinor, currency: z.string(), code: z.string().optional() }),
  z.strictObject({ ...base, do: z.literal('credit'), amount: positiveMinor, reason: z.string().min(1) }),
  z.strictObject({
    ...base,
    do: z.literal('apply-discount'),
    percentOff: z.number().gt(0).max(100).optional(),
    amountOff: positiveMinor.optional(),
    cycles: z.number().int('must be a whole number of cycles').positive(),
  }).refine((a) => (a.percentOff === undefined) !== (a.amountOff === undefined), { message: 'give exactly one of percentOff or amountOff', path: ['percentOff'] }),
  z.strictObject({ ...base, do: z.literal('refund'), invoice: z.number().int().positive(), amount: positiveMinor, reason: z.string().optional() }),
  z.strictObject({ ...base, do: z.literal('chargeback'), invoice: z.number().int().positive() }),
]);

export const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  // Tax overrides at the top level or, as the format was first specified, under the catalog.
  catalog: z.strictObject({ plans: z.array(plan).min(1), taxes: z.array(tax).optional() }).optional(),
  taxes: z.array(tax).optional(),
  members: z.array(member).min(1),
  actions: z.array(action),
  until: isoDate,
  expect: z.strictObject({
    invoices: z.array(z.record(z.string(), z.unknown())).optional(),
    payments: z.array(z.record(z.string(), z.unknown())).optional(),
    members: z.array(z.record(z.string(), z.unknown())).optional(),
    revenue: z.record(z.string(), z.unknown()).optional(),
  }).optional(),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioAction = Scenario['actions'][number];

function fieldPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || '(file)';
}

/** Validate a parsed scenario; the error names the first offending field, e.g. `actions[2].amount`. */
export function parseScenario(data: unknown): Scenario {
  const result = scenarioSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidInput(fieldPath(issue.path), issue.message);
  }
  const s = result.data;
  if (s.taxes && s.catalog?.taxes) throw new InvalidInput('catalog.taxes', 'tax overrides are given twice: keep either taxes or catalog.taxes');
  const ids = new Set<string>();
  s.members.forEach((m, i) => {
    if (ids.has(m.id)) throw new InvalidInput(`members[${i}].id`, `duplicate member "${m.id}"`);
    ids.add(m.id);
  });
  s.actions.forEach((a, i) => {
    if (!ids.has(a.member)) throw new InvalidInput(`actions[${i}].member`, `"${a.member}" is not listed under members`);
    if (a.on > s.until) throw new InvalidInput(`actions[${i}].on`, `${a.on} is after until (${s.until})`);
  });
  return s;
}

export function readScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidInput('file', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new InvalidInput('file', `${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseScenario(data);
}
