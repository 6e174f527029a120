import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Difference } from '../../src/compare/report-format.ts';
import { openStore } from '../../src/store/connect.ts';

const root = join(import.meta.dirname, '..', '..');

/** The `tally` command in a child process, as a user runs it (logs silenced unless `env` says otherwise). */
export const tally = (args: string[], env: Record<string, string>) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
  encoding: 'utf8', env: { ...process.env, TALLY_LOG_LEVEL: 'silent', ...env },
});

/**
 * The CLI's own entry (runCli: the exit code and the one line on stderr) in this process, its
 * environment and output swapped in and out: for the many short commands a test runs, where a
 * process start would cost seconds each.
 */
export async function tallyHere(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  // Loaded on first use: main.ts pulls in every command's imports.
  const { runCli } = await import('../../src/cli/main.ts');
  const saved = { env: { ...process.env }, out: process.stdout.write, err: process.stderr.write, code: process.exitCode };
  let stdout = '';
  let stderr = '';
  Object.assign(process.env, { TALLY_LOG_LEVEL: 'silent', ...env });
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    // The test runner reports to its parent on this stdout too, in binary frames, at any moment: passed through.
    if (typeof chunk !== 'string') return saved.out.call(process.stdout, chunk, ...(rest as []));
    stdout += chunk;
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await runCli(args);
    return { status: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exitCode = saved.code;
    for (const k of Object.keys(process.env)) if (!(k in saved.env)) delete process.env[k];
    Object.assign(process.env, saved.env);
  }
}

/** A compare report's rows. */
export const readReport = (dir: string): Difference[] => readFileSync(join(dir, 'report.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Difference);

/** Member → its kinds (and fields), for everything but the quarantine (known and listed by the migration). */
export function byMember(rows: Difference[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of rows) if (r.kind !== 'quarantined') out[r.member] = [...new Set([...(out[r.member] ?? []), r.field ? `${r.kind}:${r.field}` : r.kind])].sort();
  return out;
}

/**
 * Each command is bad input: one line on stderr matching its message, exit 2, nothing on stdout;
 * and afterwards the store at `dbUrl` holds no member, invoice, journal line or migration run.
 */
export async function assertRefused(cases: [args: string[], message: RegExp][], dbUrl: string): Promise<void> {
  for (const [args, message] of cases) {
    const r = tally(args, { TALLY_DB_URL: dbUrl });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    assert.equal(r.stdout, '');
  }
  const store = await openStore(dbUrl);
  try {
    for (const table of ['members', 'invoices', 'journal', 'migration_runs'] as const) {
      assert.equal(Number((await store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n), 0, table);
    }
  } finally {
    await store.close();
  }
}
