import { memberRecord, type MemberRecord } from '../api/member-record.ts';
import { InvalidInput } from '../domain/errors.ts';
import { currencyExponent } from '../domain/money.ts';
import { closeServices } from '../jobs/services.ts';
import { configFromEnv, openServices } from '../wiring.ts';

const usageLine = 'usage: tally members show ID [--archive] [--json]';

/** An amount in its currency's own decimals (JPY 0, KWD 3). */
function amount(m: { amount: number; currency: string }): string {
  const exp = currencyExponent(m.currency);
  const sign = m.amount < 0 ? '-' : '';
  const units = String(Math.abs(m.amount)).padStart(exp + 1, '0');
  return `${sign}${exp ? `${units.slice(0, -exp)}.${units.slice(-exp)}` : units} ${m.currency}`;
}

/** With --archive: how many of a list came from the archive. */
function fromArchive(items: readonly { source?: string }[]): string {
  const n = items.filter((i) => i.source === 'archive').length;
  return n ? ` (${n} from the archive)` : '';
}

function readable(r: MemberRecord, archive: boolean): string {
  const m = r.member;
  const declined = r.attempts.filter((a) => a.status === 'declined').length;
  const lines = [
    `member ${m.id} — ${m.email ?? '(no email)'}, ${m.country}${m.region ? `-${m.region}` : ''} (${m.timezone}), ${m.currency}, ${m.status}`,
    `  balances: gift card ${amount(m.giftCardBalance)}, credit ${amount(m.creditBalance)}`,
    `  subscriptions (${m.subscriptions.length}):`,
    ...m.subscriptions.map((s) => `    ${s.id}  ${s.plan}  ${s.status}${s.periodStart || s.periodEnd ? `  period ${s.periodStart ?? '…'} → ${s.periodEnd ?? '…'}` : ''}`
      + `${s.status !== 'cancelled' ? `, next billing ${s.nextBillingDate}` : ''}${s.cancelAtPeriodEnd ? ', cancels at period end' : ''}${s.pendingPlan ? `, moves to ${s.pendingPlan}` : ''}`),
    `  invoices (${r.invoices.length}${archive ? `, ${r.invoices.length - r.invoices.filter((i) => i.source === 'archive').length} hot` : ''}, latest first):`,
    ...[...r.invoices].reverse().slice(0, 12).map((i) => `    #${i.number}  ${i.issuedOn}  ${i.status.padEnd(18)} ${amount(i.total).padStart(14)} (tax ${amount(i.tax)})  charged ${amount(i.charged)}`
      + `${i.refunded.amount ? `, refunded ${amount(i.refunded)}` : ''}${i.nextAttemptOn ? `, next attempt ${i.nextAttemptOn}` : ''}${i.source === 'archive' ? '  [archive]' : ''}`),
    ...(r.invoices.length > 12 ? [`    … ${r.invoices.length - 12} older (--json shows all)`] : []),
    `  payments ${r.payments.length}${fromArchive(r.payments)} · attempts ${r.attempts.length} (${declined} declined)${fromArchive(r.attempts)} · refunds ${r.refunds.length}${fromArchive(r.refunds)}`
      + ` · chargebacks ${r.chargebacks.length}${fromArchive(r.chargebacks)} · credits ${r.credits.length} · gift cards ${r.giftCards.length} · audit entries ${r.audit.length}${fromArchive(r.audit)}`,
  ];
  return lines.join('\n');
}

/**
 * `tally members show ID [--archive] [--json]`: the customer-service view of one member without
 * the service running — with `--json` exactly the body of `GET /v1/cs/members/{id}` (with
 * `--archive`, of `?include=archive`).
 */
export async function membersCommand(rest: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  if (rest[0] !== 'show' || rest.length !== 2) throw usageError(usageLine);
  const id = rest[1]!;
  const svc = await openServices(configFromEnv());
  try {
    const archive = values.archive === true;
    const record = await memberRecord(svc, id, { archive });
    if (!record) throw new InvalidInput('ID', `unknown member "${id}"`, id);
    console.log(values.json ? JSON.stringify(record) : readable(record, archive));
    return 0;
  } finally {
    await closeServices(svc);
  }
}
