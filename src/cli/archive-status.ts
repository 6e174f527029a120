import { archiveStatus, type ArchiveStatus } from '../archive/archive-status.ts';
import type { Services } from '../jobs/services.ts';

const usageLine = 'usage: tally archive status [--json]';

const megabytes = (n: number | null) => (n === null ? '?' : (n / 1e6).toFixed(2));

export function statusTable(s: ArchiveStatus): string {
  const lines = [`${'class'.padEnd(20)} ${'hot rows'.padStart(10)} ${'hot MB'.padStart(9)} ${'archived rows'.padStart(14)} ${'archived MB'.padStart(12)} ${'files'.padStart(6)} ${'rejected'.padStart(8)}`];
  for (const c of s.classes) {
    lines.push(`${c.class.padEnd(20)} ${String(c.hot.rows).padStart(10)} ${megabytes(c.hot.bytes).padStart(9)} ${String(c.archive.rows).padStart(14)} ${megabytes(c.archive.bytes).padStart(12)} ${String(c.archive.files).padStart(6)} ${String(c.rejectedFiles).padStart(8)}${c.unfinishedFiles ? `  (${c.unfinishedFiles} file(s) of a run not yet verified)` : ''}`);
  }
  const stores = JSON.stringify(s.measured.member) === JSON.stringify(s.measured.ledger) ? [['', s.measured.ledger] as const] : [['ledger store: ', s.measured.ledger] as const, ['member store: ', s.measured.member] as const];
  for (const [label, m] of stores) lines.push(`${label}hot rows by ${m.rows}; hot bytes ${m.bytes ? `from ${m.bytes}` : `unknown (${m.engine} cannot say)`}; archived figures from the manifest (files verified or archived)`);
  const r = s.lastRun;
  if (!r) lines.push('last run: none yet');
  else {
    const counts = Object.entries(r.counts).map(([k, v]) => `${k}=${v}`).join(', ');
    lines.push(`last run: #${r.id} ${r.status}, started ${r.startedAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ''}${counts ? `: ${counts}` : ''}${r.errors ? ` (${r.errors} error(s))` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `tally archive status [--json]`: hot and archived rows and bytes per data class, exact counts, and the last run. */
export async function statusCommand(svc: Services, args: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  if (args.length) throw usageError(usageLine);
  const status = await archiveStatus({ ledger: svc.store.db, member: svc.memberStore.db }, 'exact');
  if (values.json) console.log(JSON.stringify(status));
  else process.stdout.write(statusTable(status));
  return 0;
}
