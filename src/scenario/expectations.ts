/**
 * Subset matching of a scenario's `expect` section against its result: every
 * listed field must be equal; list entries are paired by their identifying
 * fields (member and number, id, country and currency) or else by position.
 */
export function mismatches(expected: unknown, actual: unknown, path = ''): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected a list, got ${show(actual)}`];
    return expected.flatMap((entry, i) => {
      const { match, label } = pair(entry, actual, i);
      const where = `${path}[${label}]`;
      if (match === undefined) return [`${where}: no such entry (got ${actual.length} entries)`];
      return mismatches(entry, match, where);
    });
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return [`${path}: expected an object, got ${show(actual)}`];
    return Object.entries(expected).flatMap(([k, v]) => mismatches(v, (actual as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return expected === actual ? [] : [`${path}: expected ${show(expected)}, got ${show(actual)}`];
}

const identities = [['member', 'number'], ['member', 'invoice', 'attempt'], ['id'], ['country', 'currency'], ['businessDate']];

function pair(entry: unknown, list: unknown[], index: number): { match: unknown; label: string } {
  if (entry !== null && typeof entry === 'object') {
    const e = entry as Record<string, unknown>;
    const keys = identities.find((ks) => ks.every((k) => k in e));
    if (keys) {
      const match = list.find((a) => a !== null && typeof a === 'object' && keys.every((k) => (a as Record<string, unknown>)[k] === e[k]));
      return { match, label: keys.map((k) => `${k}=${String(e[k])}`).join(',') };
    }
  }
  return { match: list[index], label: String(index) };
}

function show(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}
