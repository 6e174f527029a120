import type { Kysely } from 'kysely';
import type { Schema } from '../store/schema.ts';
import type { QuarantineReason } from './transform/legacy-member.ts';

export interface MigrationReport {
  country: string;
  /** Members loaded into Tally by the country's migration. */
  migrated: number;
  /** History older than the horizon, kept out of the hot store, over the migrated members. */
  historyLeftOut: { invoices: number };
  quarantined: number;
  /** Quarantined members by reason (a member may have several), with up to three examples each. */
  reasons: Record<string, { members: number; examples: { member: string; sourceKey: string; detail: string; source: QuarantineReason['source'] }[] }>;
  /** The country's latest runs, newest first. */
  runs: { id: number; mode: string; status: string; startedAt: string; finishedAt: string | null; counts: Record<string, number> }[];
}

/** `tally migrate report --country XX`: what the country's migration loaded, left out and quarantined, and why. */
export async function migrationReport(ledger: Kysely<Schema>, members: Kysely<Schema>, country: string): Promise<MigrationReport> {
  const totals = await members.selectFrom('migrated_members').where('country', '=', country)
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('invoices_left_out').as('inv')]).executeTakeFirst();
  const report: MigrationReport = {
    country, migrated: Number(totals?.n ?? 0), historyLeftOut: { invoices: Number(totals?.inv ?? 0) }, quarantined: 0, reasons: {}, runs: [],
  };
  let after = '';
  for (;;) {
    const rows = await members.selectFrom('migration_quarantine').select(['source_key', 'member_id', 'reasons']).where('country', '=', country).where('source_key', '>', after).orderBy('source_key').limit(2000).execute();
    if (!rows.length) break;
    for (const r of rows) {
      report.quarantined++;
      const reasons = JSON.parse(r.reasons) as QuarantineReason[];
      for (const reason of new Set(reasons.map((q) => q.reason))) {
        const entry = (report.reasons[reason] ??= { members: 0, examples: [] });
        entry.members++;
        const q = reasons.find((x) => x.reason === reason)!;
        if (entry.examples.length < 3) entry.examples.push({ member: r.member_id, sourceKey: r.source_key, detail: q.detail, source: q.source });
      }
    }
    after = rows.at(-1)!.source_key;
  }
  const runs = await ledger.selectFrom('migration_runs').selectAll().where('country', '=', country).orderBy('id', 'desc').limit(5).execute();
  report.runs = runs.map((r) => ({ id: r.id, mode: r.mode, status: r.status, startedAt: r.started_at, finishedAt: r.finished_at, counts: JSON.parse(r.counts) }));
  return report;
}
