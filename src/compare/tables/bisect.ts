/**
 * Checksum bisection over two copies of a table, engine-blind: checksum key ranges on both
 * sides, recurse only into the ranges whose checksums differ, and fetch rows only for ranges
 * small enough to be leaves. The first level is cut fine (about `bucketRows` rows a range) in
 * one pass per side, so a scattered difference costs one checksum scan of each side plus the
 * rows of the few ranges that differ; a dense one (a range mass-inserted on one side) recurses
 * instead of fetching everything.
 *
 * Correct even where the two engines order keys differently (a collation): a row one side puts
 * in range A and the other in range B makes both A and B differ, so both are fetched, and leaf
 * rows are matched by key across all fetched ranges, not range by range.
 */

/** A key: the canonical text of each key column, in key order. */
export type Key = readonly string[];

/** Keys from `lo` (inclusive) to `hi` (exclusive); an absent end is open. */
export interface KeyRange { lo?: Key; hi?: Key }

/**
 * How a range is cut into sub-ranges. `even`: a single integer key cut every `width` from `lo`
 * (the first sub-range also takes anything below, the last anything above), computed by
 * arithmetic in SQL; `points`: cut at these keys (quantiles of one side), for any key.
 */
export type Split =
  | { kind: 'even'; lo: bigint; width: bigint; parts: number }
  | { kind: 'points'; points: Key[] };

/** A range's row count and the XOR of its rows' 64-bit hashes (decimal text of the unsigned value). */
export interface RangeSum { count: number; hash: string }

/** A row fetched at a leaf: its key and its compared columns' canonical texts. */
export interface LeafRow { key: Key; values: readonly (string | null)[] }

/** One side of the comparison, as the bisection sees it. */
export interface RangeChecksummer {
  count(range: KeyRange): Promise<number>;
  /** Cut a range holding about `rows` rows (on this side) into about `parts` sub-ranges. */
  split(range: KeyRange, rows: number, parts: number): Promise<Split>;
  /** One sum per sub-range of `subRanges(range, split)`, in that order (a sub-range with no rows: count 0, hash '0'). */
  checksums(range: KeyRange, split: Split): Promise<RangeSum[]>;
  rows(ranges: KeyRange[]): Promise<LeafRow[]>;
}

export interface BisectOptions {
  /** Rows per range on the first level. */
  bucketRows?: number;
  /** A differing range with at most this many rows on either side is fetched rather than split. */
  leafRows?: number;
  /** Sub-ranges per differing range below the first level. */
  fanout?: number;
  /** Leaf ranges fetched per query. */
  leavesPerFetch?: number;
}

export interface RowDifference {
  key: Key;
  kind: 'inserted' | 'updated' | 'deleted';
  /** For an update: the positions (in the compared columns) whose values differ. */
  columns?: number[];
  left?: readonly (string | null)[];
  right?: readonly (string | null)[];
}

export interface BisectResult {
  differences: RowDifference[];
  leftRows: number;
  rightRows: number;
  rangesChecksummed: number;
  rowsFetched: number;
  levels: number;
}

const keyId = (key: Key) => key.join('\x1f');

/** The sub-ranges of a range a split makes, in order. */
export function subRanges(range: KeyRange, split: Split): KeyRange[] {
  if (split.kind === 'points') {
    const bounds: (Key | undefined)[] = [range.lo, ...split.points, range.hi];
    return bounds.slice(0, -1).map((lo, i) => ({ lo, hi: bounds[i + 1] }));
  }
  const at = (i: number): Key => [String(split.lo + BigInt(i) * split.width)];
  return Array.from({ length: split.parts }, (_, i) => ({
    lo: i === 0 ? range.lo : at(i),
    hi: i === split.parts - 1 ? range.hi : at(i + 1),
  }));
}

function differ(a: RangeSum | undefined, b: RangeSum | undefined): boolean {
  return (a?.count ?? 0) !== (b?.count ?? 0) || (a?.hash ?? '0') !== (b?.hash ?? '0');
}

/**
 * Rows only on the right are `inserted`, rows only on the left `deleted`, rows on both with
 * different values `updated`: the left is the source of truth and the differences are what
 * happened to it on the way to the right (data-diff's convention).
 */
export async function bisect(left: RangeChecksummer, right: RangeChecksummer, options: BisectOptions = {}): Promise<BisectResult> {
  const bucketRows = options.bucketRows ?? 32;
  const leafRows = options.leafRows ?? 128;
  const fanout = options.fanout ?? 32;
  const leavesPerFetch = options.leavesPerFetch ?? 200;
  const [leftRows, rightRows] = await Promise.all([left.count({}), right.count({})]);
  let rangesChecksummed = 0;
  let levels = 0;
  const leaves: KeyRange[] = [];
  let pending: { range: KeyRange; left: number; right: number }[] = [{ range: {}, left: leftRows, right: rightRows }];
  while (pending.length > 0) {
    levels++;
    const next: typeof pending = [];
    for (const p of pending) {
      const rows = Math.max(p.left, p.right);
      if (rows === 0) continue;
      if (rows <= leafRows) {
        leaves.push(p.range);
        continue;
      }
      const parts = Math.max(2, levels === 1 ? Math.ceil(rows / bucketRows) : Math.min(fanout, Math.ceil(rows / leafRows)));
      // The side holding more of the range cuts it, so every sub-range shrinks on both sides.
      const split = await (p.left >= p.right ? left : right).split(p.range, rows, parts);
      const ranges = subRanges(p.range, split);
      if (ranges.length < 2) {
        leaves.push(p.range);
        continue;
      }
      const [sumsLeft, sumsRight] = await Promise.all([left.checksums(p.range, split), right.checksums(p.range, split)]);
      rangesChecksummed += ranges.length;
      ranges.forEach((range, i) => {
        if (!differ(sumsLeft[i], sumsRight[i])) return;
        const l = sumsLeft[i]?.count ?? 0;
        const r = sumsRight[i]?.count ?? 0;
        // A sub-range as big as its parent was not cut (keys the split cannot tell apart): fetch it.
        if (Math.max(l, r) <= leafRows || Math.max(l, r) >= rows) leaves.push(range);
        else next.push({ range, left: l, right: r });
      });
    }
    pending = next;
  }

  const leftByKey = new Map<string, LeafRow>();
  const rightByKey = new Map<string, LeafRow>();
  let rowsFetched = 0;
  for (let i = 0; i < leaves.length; i += leavesPerFetch) {
    const batch = leaves.slice(i, i + leavesPerFetch);
    const [l, r] = await Promise.all([left.rows(batch), right.rows(batch)]);
    rowsFetched += l.length + r.length;
    for (const row of l) leftByKey.set(keyId(row.key), row);
    for (const row of r) rightByKey.set(keyId(row.key), row);
  }
  return { differences: diffRows(leftByKey, rightByKey), leftRows, rightRows, rangesChecksummed, rowsFetched, levels };
}

/** Rows matched by key across every fetched leaf; the result is in key order of the canonical texts. */
export function diffRows(leftByKey: Map<string, LeafRow>, rightByKey: Map<string, LeafRow>): RowDifference[] {
  const differences: RowDifference[] = [];
  for (const [id, l] of leftByKey) {
    const r = rightByKey.get(id);
    if (!r) {
      differences.push({ key: l.key, kind: 'deleted', left: l.values });
      continue;
    }
    const columns = l.values.flatMap((v, i) => (v === r.values[i] ? [] : [i]));
    if (columns.length > 0) differences.push({ key: l.key, kind: 'updated', columns, left: l.values, right: r.values });
  }
  for (const [id, r] of rightByKey) if (!leftByKey.has(id)) differences.push({ key: r.key, kind: 'inserted', right: r.values });
  return differences.sort((a, b) => compareKeys(a.key, b.key));
}

function compareKeys(a: Key, b: Key): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x === y) continue;
    const nx = /^-?\d+$/.test(x) && /^-?\d+$/.test(y);
    if (nx) return BigInt(x) < BigInt(y) ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}
