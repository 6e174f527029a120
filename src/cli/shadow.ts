import { join } from 'node:path';
import { reportFiles } from '../compare/report-format.ts';
import { parseIsoDate } from '../domain/calendar.ts';
import { closeServices } from '../jobs/services.ts';
import { shadowCountry, shadowHorizonMonths, type ShadowOutcome, type ShadowSummary } from '../migration/shadow/shadow-billing.ts';
import { configFromEnv, logger, openServices } from '../wiring.ts';
import { jobProgress } from './progress.ts';

const usageLine = 'usage: tally shadow --country XX --date D --from LEGACY_URL [--plans FILE] [--rules FILE] [--shadow-db URL] [--out DIR] [--horizon-months N] [--json]';

const text = (values: Record<string, unknown>, name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);

function printSummary(s: ShadowSummary, outcome: ShadowOutcome): void {
  const n = (v: number) => v.toLocaleString('en-US').padStart(7);
  const fields = Object.entries(s.fields).sort((a, b) => b[1] - a[1]).map(([f, k]) => `${f} ${k}`).join(', ');
  const lines = [
    `shadow legacy → tally, ${s.country} ${s.date}: ${s.members.toLocaleString('en-US')} members in ${s.seconds} s (${s.membersPerSecond} members/s) — ${s.status.toUpperCase()}`,
    `  ${s.loaded.toLocaleString('en-US')} due on the day rewound and loaded into the shadow store, ${s.notDue.toLocaleString('en-US')} not due${s.notYet ? `, ${s.notYet} not members yet` : ''}`,
    `  billed on ${s.date}: legacy ${s.invoices.legacy} invoices to ${s.billed.legacy} members, Tally ${s.invoices.tally} invoices to ${s.billed.tally} members (charging nobody)`,
    `  clean       ${n(s.clean)}   of ${s.compared} members billed by either side`,
    `  differs     ${n(s.kinds.differs)}${fields ? `   fields: ${fields}` : ''}`,
    `  missing     ${n(s.kinds.missing)}   billed by the legacy, Tally would not`,
    `  extra       ${n(s.kinds.extra)}   Tally would bill, the legacy did not`,
    `  quarantined ${n(s.quarantined)}   held back by the migration, not compared (${s.quarantinedBilled} of their invoices)`,
    ...Object.entries(s.declared).map(([rule, d]) => `  declared    ${n(d.count)}   ${rule}: ${d.reason}`),
  ];
  const shown = Object.entries(outcome.examples).filter(([kind]) => kind !== 'quarantined');
  if (shown.length) lines.push('examples:');
  for (const [kind, rows] of shown) {
    for (const r of rows) lines.push(`  ${kind.padEnd(11)} ${r.member}  ${r.kind === 'differs' ? `${r.field}: legacy ${r.source_value}, tally ${r.tally_value} (${r.detail})` : r.source_value ?? r.tally_value ?? ''}`);
  }
  lines.push(`shadow store: ${s.shadowStore}`, `report: ${join(s.reportDir, reportFiles.jsonl)} (also ${reportFiles.parquet}, ${reportFiles.summary})`);
  console.log(lines.join('\n'));
}

/** `tally shadow --country XX --date D --from URL`: exit 0 when no undeclared difference, 1 otherwise (an error is 2, see runCli). */
export async function shadowCommand(rest: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  if (rest.length) throw usageError(usageLine);
  const from = text(values, 'from');
  if (!from) throw usageError(`--from is required (the legacy database URL); ${usageLine}`);
  const country = (text(values, 'country') ?? '').trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) throw usageError(country ? `--country takes one ISO 3166 alpha-2 code, got "${text(values, 'country')}"` : `--country is required; ${usageLine}`);
  const dateText = text(values, 'date');
  if (!dateText) throw usageError(`--date is required (the day to shadow-bill, YYYY-MM-DD); ${usageLine}`);
  const date = parseIsoDate(dateText, '--date');
  const horizonText = text(values, 'horizon-months') ?? String(shadowHorizonMonths);
  if (!/^\d+$/.test(horizonText) || Number(horizonText) > 1200) throw usageError(`--horizon-months must be a whole number of months (0 to 1200), got "${horizonText}"`);

  const svc = await openServices(configFromEnv());
  try {
    const progress = jobProgress(logger(process.env.TALLY_LOG_LEVEL || 'info'), 'shadow', `${country} ${date}`);
    const { summary, outcome, runId } = await shadowCountry(svc, {
      from, country, date, plansFile: text(values, 'plans'), rulesFile: text(values, 'rules'), shadowDb: text(values, 'shadow-db'), out: text(values, 'out'),
      horizonMonths: Number(horizonText), onProgress: progress.tick,
    }).finally(progress.stop);
    if (values.json) console.log(JSON.stringify({ runId, ...summary }));
    else printSummary(summary, outcome);
    return outcome.status === 'clean' ? 0 : 1;
  } finally {
    await closeServices(svc);
  }
}
