import { parse as parseYaml } from 'yaml';
import { InvalidInput } from '../domain/errors.ts';
import type { FieldDifference } from './member-facts.ts';

/**
 * Declared differences (`tally compare --rules FILE`): a known, accepted difference between
 * the two sides, declared once with its reason. A difference a rule covers is still written
 * to the report, marked with the rule's name, and counted apart in the summary: accepted,
 * never hidden, and it does not make the run fail.
 *
 *     rules:
 *       - name: legacy-bankers-rounding
 *         field: invoices.tax          # a field; * stands for one part (subscriptions.*.plan)
 *         within: 1                    # numbers at most this far apart (minor units)
 *         per: invoice                 # … per invoice in the member's window
 *         reason: the legacy rounds tax half to even on the invoice total
 *       - name: emails-dropped
 *         field: email
 *         tally: null                  # only where Tally's value is exactly this (likewise `source:`)
 *         reason: bounced addresses were not carried over
 */
export interface DeclaredRule {
  name: string;
  field: string;
  within?: number;
  per?: 'invoice';
  source?: unknown;
  tally?: unknown;
  reason: string;
}

const known = new Set(['name', 'field', 'within', 'per', 'source', 'tally', 'reason']);

export function parseDeclaredRules(text: string, file: string): DeclaredRule[] {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new InvalidInput('--rules', `${file} is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const rules = (data as { rules?: unknown } | null)?.rules;
  if (!data || typeof data !== 'object' || !Array.isArray(rules)) throw new InvalidInput('rules', `${file} must hold a list under "rules" (each: name, field, reason, and within/per/source/tally)`);
  const names = new Set<string>();
  return rules.map((r: unknown, i): DeclaredRule => {
    const at = `rules[${i}]`;
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw new InvalidInput(at, 'must be an object with name, field and reason');
    const rule = r as Record<string, unknown>;
    const extra = Object.keys(rule).find((k) => !known.has(k));
    if (extra) throw new InvalidInput(`${at}.${extra}`, `is not a rule field (a rule has ${[...known].join(', ')})`);
    for (const k of ['name', 'field', 'reason'] as const) {
      if (typeof rule[k] !== 'string' || !(rule[k] as string).trim()) throw new InvalidInput(`${at}.${k}`, 'is required and must be text');
    }
    const name = (rule.name as string).trim();
    if (names.has(name)) throw new InvalidInput(`${at}.name`, `"${name}" is declared twice`);
    names.add(name);
    if (rule.within !== undefined && (typeof rule.within !== 'number' || !Number.isInteger(rule.within) || rule.within < 0)) {
      throw new InvalidInput(`${at}.within`, `must be a whole number of minor units, 0 or more, got ${JSON.stringify(rule.within)}`);
    }
    if (rule.per !== undefined && rule.per !== 'invoice') throw new InvalidInput(`${at}.per`, `must be "invoice", got ${JSON.stringify(rule.per)}`);
    if (rule.per !== undefined && rule.within === undefined) throw new InvalidInput(`${at}.per`, 'needs "within"');
    return {
      name, field: (rule.field as string).trim(), reason: (rule.reason as string).trim(),
      ...(rule.within !== undefined ? { within: rule.within as number } : {}), ...(rule.per !== undefined ? { per: 'invoice' as const } : {}),
      ...('source' in rule ? { source: rule.source } : {}), ...('tally' in rule ? { tally: rule.tally } : {}),
    };
  });
}

function fieldMatches(pattern: string, field: string): boolean {
  const p = pattern.split('.');
  const f = field.split('.');
  return p.length === f.length && p.every((part, i) => part === '*' || part === f[i]);
}

/** The first rule that declares this difference, or undefined. `invoices`: the member's invoices in the window (for `per: invoice`). */
export function declaredBy(rules: readonly DeclaredRule[], d: FieldDifference, invoices: number): DeclaredRule | undefined {
  const source = JSON.parse(d.source_value ?? 'null') as unknown;
  const tally = JSON.parse(d.tally_value ?? 'null') as unknown;
  return rules.find((r) => {
    if (!fieldMatches(r.field, d.field)) return false;
    if ('source' in r && r.source !== source) return false;
    if ('tally' in r && r.tally !== tally) return false;
    if (r.within !== undefined) {
      if (typeof source !== 'number' || typeof tally !== 'number') return false;
      if (Math.abs(source - tally) > r.within * (r.per === 'invoice' ? Math.max(1, invoices) : 1)) return false;
    }
    return true;
  });
}
