import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bisect, subRanges, type Key, type KeyRange, type RangeChecksummer, type Split } from '../../src/compare/tables/bisect.ts';
import { rowHash, rowText } from '../../src/compare/tables/canonical-value.ts';

type Row = { key: number; values: (string | null)[] };

/** A table in memory ordered by an integer key, checksummed the way the databases do it. */
function memoryTable(rows: Row[], even: boolean): RangeChecksummer & { fetched: number } {
  const sorted = [...rows].sort((a, b) => a.key - b.key);
  const inRange = (r: KeyRange) => sorted.filter((row) => (!r.lo || row.key >= Number(r.lo[0])) && (!r.hi || row.key < Number(r.hi[0])));
  const sum = (part: Row[]) => ({
    count: part.length,
    hash: BigInt.asUintN(64, part.reduce((h, row) => h ^ rowHash(rowText([String(row.key), ...row.values])), 0n)).toString(),
  });
  const table = {
    fetched: 0,
    async count(range: KeyRange) { return inRange(range).length; },
    async split(range: KeyRange, rows: number, parts: number): Promise<Split> {
      const part = inRange(range);
      if (even && part.length > 0) {
        const lo = BigInt(part[0]!.key);
        const span = BigInt(part.at(-1)!.key) - lo + 1n;
        const width = (span + BigInt(parts) - 1n) / BigInt(parts);
        return { kind: 'even', lo, width, parts: Number((span + width - 1n) / width) };
      }
      const step = Math.max(1, Math.floor(rows / parts));
      return { kind: 'points', points: part.filter((_, i) => (i + 1) % step === 0).map((r): Key => [String(r.key)]) };
    },
    async checksums(range: KeyRange, split: Split) { return subRanges(range, split).map((r) => sum(inRange(r))); },
    async rows(ranges: KeyRange[]) {
      const found = ranges.flatMap(inRange);
      table.fetched += found.length;
      return found.map((r) => ({ key: [String(r.key)] as Key, values: r.values }));
    },
  };
  return table;
}

const value = fc.oneof(fc.constant(null), fc.string({ maxLength: 6 }), fc.integer().map(String));

test('bisection reports exactly the edited keys, whatever the table and the edits', async () => {
  await fc.assert(fc.asyncProperty(
    fc.uniqueArray(fc.integer({ min: -5000, max: 5000 }), { maxLength: 600 }),
    fc.array(fc.tuple(fc.constantFrom('insert', 'update', 'delete'), fc.integer({ min: -6000, max: 6000 }), value), { maxLength: 40 }),
    fc.boolean(),
    fc.record({ bucketRows: fc.integer({ min: 1, max: 40 }), leafRows: fc.integer({ min: 1, max: 50 }), fanout: fc.integer({ min: 2, max: 9 }) }),
    async (keys, edits, even, options) => {
      const left = new Map(keys.map((k) => [k, [`v${k}`, k % 3 === 0 ? null : String(k * 7)] as (string | null)[]]));
      const right = new Map([...left].map(([k, v]) => [k, [...v]]));
      for (const [op, k, v] of edits) {
        if (op === 'insert' && !right.has(k)) right.set(k, [v, 'new']);
        if (op === 'update' && right.has(k)) right.get(k)![1] = v;
        if (op === 'delete') right.delete(k);
      }
      const expected = new Map<number, string>();
      for (const [k, v] of left) {
        const r = right.get(k);
        if (!r) expected.set(k, 'deleted');
        else if (r.some((x, i) => x !== v[i])) expected.set(k, 'updated');
      }
      for (const k of right.keys()) if (!left.has(k)) expected.set(k, 'inserted');
      const toRows = (m: Map<number, (string | null)[]>) => [...m].map(([key, values]) => ({ key, values }));
      const result = await bisect(memoryTable(toRows(left), even), memoryTable(toRows(right), even), options);
      const got = new Map(result.differences.map((d) => [Number(d.key[0]), d.kind]));
      assert.deepEqual([...got].sort((a, b) => a[0] - b[0]), [...expected].sort((a, b) => a[0] - b[0]));
      assert.equal(result.leftRows, left.size);
      assert.equal(result.rightRows, right.size);
    },
  ), { numRuns: 150 });
});

test('identical tables: one level of checksums, no row fetched', async () => {
  const rows = Array.from({ length: 10_000 }, (_, i) => ({ key: i * 3, values: [`r${i}`] }));
  const left = memoryTable(rows, true);
  const result = await bisect(left, memoryTable(rows, true));
  assert.deepEqual(result.differences, []);
  assert.equal(result.rowsFetched, 0);
  assert.equal(result.levels, 1);
});

test('the rows fetched grow with the difference, not with the table', async () => {
  const rows = Array.from({ length: 20_000 }, (_, i) => ({ key: i, values: [`r${i}`] }));
  const edited = rows.map((r) => (r.key % 4_000 === 5 ? { key: r.key, values: ['changed'] } : r));
  const result = await bisect(memoryTable(rows, false), memoryTable(edited, false));
  assert.equal(result.differences.length, 5);
  assert.ok(result.rowsFetched < 2_000, `${result.rowsFetched} rows fetched for 5 differences`);
});
