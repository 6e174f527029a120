import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { recordCompareRun } from '../compare/compare-runs.ts';
import { compareTables, CompareTablesInputError, type CompareTablesResult } from '../compare/tables/compare-tables.ts';
import { closeServices, type Services } from '../jobs/services.ts';
import { configFromEnv, openServices } from '../wiring.ts';
import { redactUrl } from '../store/engines.ts';

/** Keys listed on stdout; --out writes every one of them. */
const listedKeys = 500;

function option(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function list(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  return items.length > 0 ? items : undefined;
}

/**
 * `tally compare tables`: two copies of one table by checksum bisection. Exit 0 identical,
 * 1 differences; bad input, an unreachable database or any failure is 2 (runCli).
 */
export async function compareTablesCommand(rest: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  if (rest.length > 0) throw usageError(`compare tables takes no arguments (got "${rest[0]}")`);
  const left = option(values, 'left');
  const right = option(values, 'right');
  const table = option(values, 'table');
  if (!left || !right || !table) throw usageError('compare tables needs --left URL --right URL --table T');
  const out = option(values, 'out');
  const options = { left, right, table, key: list(option(values, 'key')), columns: list(option(values, 'columns')) };

  const work = async () => {
    const result = await compareTables(options);
    return { result, status: result.inserted + result.updated + result.deleted > 0 ? 'differences' as const : 'clean' as const, counts: counts(result) };
  };
  let outcome: Awaited<ReturnType<typeof work>> | undefined;
  let failure: { error: unknown } | undefined;
  const guarded = async () => {
    try {
      return (outcome = await work());
    } catch (error) {
      failure = { error };
      throw error;
    }
  };
  try {
    const svc = await openRecordStore();
    try {
      const run = { mode: 'tables' as const, source: `${engineOf(left)}->${engineOf(right)}`, country: '', reportDir: out ? resolve(out) : '', options: { ...options, left: redactUrl(left), right: redactUrl(right) } };
      // The record is best-effort: a store that cannot take it never fails the compare itself.
      if (svc) await recordCompareRun(svc.store.db, run, guarded).catch((err: unknown) => { if (failure) throw failure.error; return err; });
    } finally {
      if (svc) await closeServices(svc).catch(() => undefined);
    }
    outcome ??= await work();
  } catch (err) {
    if (err instanceof CompareTablesInputError) throw usageError(err.message);
    throw err;
  }
  const result = outcome.result;

  if (out) await writeDiff(out, result);
  if (values.json) process.stdout.write(`${JSON.stringify({ ...summary(result), differences: result.differences.slice(0, listedKeys) })}\n`);
  else process.stdout.write(human(result, out));
  return result.inserted + result.updated + result.deleted > 0 ? 1 : 0;
}

async function openRecordStore(): Promise<Services | undefined> {
  try {
    return await openServices(configFromEnv());
  } catch {
    return undefined;
  }
}

function engineOf(url: string): string {
  return url.startsWith('sqlite:') ? 'sqlite' : /^(mysql|mariadb):/.test(url) ? 'mysql' : /^postgres/.test(url) ? 'postgres' : 'unknown';
}

function counts(r: CompareTablesResult): Record<string, unknown> {
  return {
    table: r.table, inserted: r.inserted, updated: r.updated, deleted: r.deleted, leftRows: r.left.rows, rightRows: r.right.rows,
    rowsCompared: r.rowsCompared, rangesChecksummed: r.rangesChecksummed, rowsFetched: r.rowsFetched, seconds: r.seconds,
  };
}

function summary(r: CompareTablesResult) {
  return {
    table: r.table, status: r.inserted + r.updated + r.deleted > 0 ? 'differences' : 'clean',
    left: r.left, right: r.right, key: r.key, columns: r.columns, onlyLeftColumns: r.onlyLeftColumns, onlyRightColumns: r.onlyRightColumns,
    inserted: r.inserted, updated: r.updated, deleted: r.deleted,
    rowsCompared: r.rowsCompared, rangesChecksummed: r.rangesChecksummed, rowsFetched: r.rowsFetched, levels: r.levels, seconds: r.seconds,
  };
}

async function writeDiff(dir: string, r: CompareTablesResult): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const file = createWriteStream(join(dir, 'diff.jsonl'));
  for (const d of r.differences) {
    if (!file.write(`${JSON.stringify(d)}\n`)) await once(file, 'drain');
  }
  file.end();
  await once(file, 'finish');
}

function human(r: CompareTablesResult, out: string | undefined): string {
  const lines: string[] = [];
  const n = (x: number) => x.toLocaleString('en-US');
  lines.push(`${r.table}: ${r.left.engine} (left, ${n(r.left.rows)} rows) against ${r.right.engine} (right, ${n(r.right.rows)} rows), key ${r.key.join(', ')}`);
  if (r.onlyLeftColumns.length > 0) lines.push(`  columns only on the left, not compared: ${r.onlyLeftColumns.join(', ')}`);
  if (r.onlyRightColumns.length > 0) lines.push(`  columns only on the right, not compared: ${r.onlyRightColumns.join(', ')}`);
  const total = r.inserted + r.updated + r.deleted;
  lines.push(total === 0 ? '  identical' : `  ${n(r.inserted)} inserted (only on the right), ${n(r.updated)} updated, ${n(r.deleted)} deleted (only on the left)`);
  for (const d of r.differences.slice(0, listedKeys)) {
    const key = Object.values(d.key).join(', ');
    const cols = d.columns ? `  ${Object.entries(d.columns).map(([c, v]) => `${c}: ${JSON.stringify(v.left)} → ${JSON.stringify(v.right)}`).join('; ')}` : '';
    lines.push(`  ${d.kind.padEnd(8)} ${key}${cols}`);
  }
  if (r.differences.length > listedKeys) lines.push(`  … and ${n(r.differences.length - listedKeys)} more${out ? '' : ' (--out DIR writes them all to diff.jsonl)'}`);
  if (out) lines.push(`  every difference: ${join(out, 'diff.jsonl')}`);
  lines.push(`  ${n(r.rowsCompared)} rows compared, ${n(r.rangesChecksummed)} ranges checksummed, ${n(r.rowsFetched)} rows fetched, ${r.seconds} s`);
  return `${lines.join('\n')}\n`;
}
