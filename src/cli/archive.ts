import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { Temporal } from 'temporal-polyfill';
import { runArchive, type Checkpoint, type RunResult } from '../archive/archive-run.ts';
import { policyInForce, setPolicy } from '../archive/policy-store.ts';
import { cutoffs, dataClasses, policyDocument, type DataClass } from '../archive/policy.ts';
import { parseIsoDate } from '../domain/calendar.ts';
import { InvalidInput } from '../domain/errors.ts';
import { withLocks } from '../jobs/job-lock.ts';
import { recordRun } from '../jobs/run-record.ts';
import { closeServices, type Services } from '../jobs/services.ts';
import { configFromEnv, openServices } from '../wiring.ts';
import { forgetCommand } from './archive-forget.ts';
import { statusCommand } from './archive-status.ts';
import { archiveQueryCommand } from './archive-query.ts';
import { jobProgress } from './progress.ts';

const usageLine = 'usage: tally archive policy show | policy set FILE | run [--before YYYY-MM-DD] [--dry-run] [--to DIR] [--class C,…] | status | query "SQL" | forget MEMBER --reason TEXT'
  + ' | legacy --source legacy|killbill --from URL --country XX[,YY]';

const text = (values: Record<string, unknown>, name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);

/** Where the archive lives: --to, else TALLY_ARCHIVE_DIR, else var/archive. */
export function archiveRoot(values: Record<string, unknown> = {}): string {
  return resolve(text(values, 'to') ?? (process.env.TALLY_ARCHIVE_DIR || 'var/archive'));
}

/** A folder the run can write into: made if missing and probed with a file, refused in one line otherwise. */
export function writableRoot(root: string): void {
  try {
    mkdirSync(root, { recursive: true });
    accessSync(root, constants.W_OK);
    const probe = join(root, `.probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    throw new InvalidInput('--to', `${root} is not a writable folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, root);
  }
}

function selectedClasses(values: Record<string, unknown>): DataClass[] | undefined {
  const list = text(values, 'class');
  if (list === undefined) return undefined;
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(dataClasses as readonly string[]).includes(n)) throw new InvalidInput('--class', `"${n}" is not a data class; the classes are ${dataClasses.join(', ')}`, n);
  }
  if (!names.length) throw new InvalidInput('--class', 'names no data class');
  return names as DataClass[];
}

const megabytes = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)} MB`;

/**
 * A crash test's hook: TALLY_ARCHIVE_KILL_AT=point[:n] kills the process with SIGKILL the n-th
 * time (default first) the run passes that point, so the test sees exactly what a lost machine
 * leaves behind. Unset in production.
 */
function killAt(): ((p: Checkpoint) => void) | undefined {
  const spec = process.env.TALLY_ARCHIVE_KILL_AT;
  if (!spec) return undefined;
  const [, point, nth] = /^(.*?)(?::(\d+))?$/.exec(spec)!;
  let seen = 0;
  return (p) => {
    if (p === point && ++seen >= Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
  };
}

async function runCommand(svc: Services, values: Record<string, unknown>): Promise<number> {
  const nowInstant = Temporal.Now.instant();
  const today = nowInstant.toString().slice(0, 10);
  const beforeText = text(values, 'before');
  const before = beforeText === undefined ? undefined : parseIsoDate(beforeText, '--before');
  if (before && before > today) throw new InvalidInput('--before', `${before} is in the future (today is ${today}): nothing can be archived before a day that has not come`, before);
  const classes = selectedClasses(values);
  const dryRun = values['dry-run'] === true;
  const root = archiveRoot(values);
  if (!dryRun) writableRoot(root);
  const { policy } = await policyInForce(svc.store.db);
  const purgeOnly = new Set(dataClasses.filter((c) => policy[c].purge));
  const opts = { cutoffs: cutoffs(policy, nowInstant, before), purgeOnly, root, classes, dryRun, checkpoint: killAt() };

  if (dryRun) {
    const result = await runArchive({ ledger: svc.store.db, member: svc.memberStore.db }, { ...opts, runId: 0 });
    for (const c of result.classes) {
      const verb = purgeOnly.has(c.class) ? 'purge' : 'archive';
      console.log(`${c.class.padEnd(20)} ${verb.padEnd(8)} ${String(c.wouldMove ?? 0).padStart(10)} rows  ${megabytes(c.wouldMoveBytes ?? 0).padStart(10)}${c.expiredFiles ? `  (${c.expiredFiles} archive files past their keep date)` : ''}`);
    }
    console.log(JSON.stringify({ job: 'archive', dryRun: true, before: before ?? null, classes: result.classes.map((c) => ({ class: c.class, rows: c.wouldMove ?? 0, bytes: c.wouldMoveBytes ?? 0, expiredFiles: c.expiredFiles })) }));
    return 0;
  }

  const owner = `${hostname()}:${process.pid} (tally archive)`;
  let outcome: RunResult | undefined;
  await withLocks(svc.store.db, ['archive'], owner, () => recordRun(svc.store.db, 'archive', today, async () => {
    const run = await svc.store.db.selectFrom('job_runs').select('id').where('job', '=', 'archive').where('status', '=', 'running').orderBy('id', 'desc').executeTakeFirstOrThrow();
    const progress = jobProgress(svc.log, 'archive', today);
    try {
      outcome = await runArchive({ ledger: svc.store.db, member: svc.memberStore.db }, { ...opts, runId: run.id, progress: (n) => progress.tick(n) });
    } finally {
      progress.stop();
    }
    const counts: Record<string, number> = {};
    for (const c of outcome.classes) {
      if (c.archived) counts[`${c.class}.archived`] = c.archived;
      if (c.purged) counts[`${c.class}.purged`] = c.purged;
      if (c.keptHot) counts[`${c.class}.keptHot`] = c.keptHot;
      if (c.expiredFiles) counts[`${c.class}.expiredFiles`] = c.expiredFiles;
    }
    return { counts, errors: outcome.errors };
  }));
  const r = outcome!;
  console.log(JSON.stringify({ job: 'archive', root, before: before ?? null, classes: r.classes, errors: r.errors }));
  for (const e of r.errors) process.stderr.write(`tally: archive: ${e.item}: ${e.message}; nothing of it was deleted\n`);
  return r.errors.length ? 1 : 0;
}

async function policyCommand(svc: Services, rest: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  if (rest[0] === 'show' && rest.length === 1) {
    const { policy, version, setAt, setBy } = await policyInForce(svc.store.db);
    if (values.json) console.log(JSON.stringify({ version, setAt, setBy, policy }));
    else process.stdout.write(`# retention policy ${version ? `version ${version}, set ${setAt} by ${setBy}` : '(the defaults: none set yet)'}\n${policyDocument(policy)}`);
    return 0;
  }
  if (rest[0] === 'set' && rest.length === 2) {
    const file = rest[1]!;
    if (!existsSync(file)) throw new InvalidInput('FILE', `no such file ${file}`, file);
    const by = text(values, 'name') ?? `${userInfo().username}@${hostname()}`;
    const { version } = await setPolicy(svc.store.db, readFileSync(file, 'utf8'), by);
    console.log(JSON.stringify({ policy: 'set', version, by }));
    return 0;
  }
  throw usageError(usageLine);
}

/** `tally archive …`: the retention policy, the archive run, and answers from the archive. */
export async function archiveCommand(rest: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  const [sub, ...args] = rest;
  if (sub === 'run' && args.length) throw usageError(`archive run takes no arguments, got "${args[0]}"; ${usageLine}`);
  if (sub === 'legacy') {
    // Loaded here only: it opens a migration source, which no other archive command needs.
    const { archiveLegacyCommand } = await import('./archive-legacy.ts');
    return archiveLegacyCommand(args, values, usageError);
  }
  if (sub !== 'run' && sub !== 'policy' && sub !== 'query' && sub !== 'forget' && sub !== 'status') throw usageError(usageLine);
  const svc = await openServices(configFromEnv());
  try {
    if (sub === 'policy') return await policyCommand(svc, args, values, usageError);
    if (sub === 'query') return await archiveQueryCommand(svc, args, values, usageError);
    if (sub === 'forget') return await forgetCommand(svc, args, values, archiveRoot(values), usageError);
    if (sub === 'status') return await statusCommand(svc, args, values, usageError);
    return await runCommand(svc, values);
  } finally {
    await closeServices(svc);
  }
}
