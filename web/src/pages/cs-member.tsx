import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { paths } from '../api/client.ts';
import { problemMessage } from '../api/client.ts';
import { formatDateTime, formatMoney } from '../format.ts';
import { Link, Notice, Page } from '../page.tsx';
import { useSession } from '../session.tsx';
import { CreditForm, RefundForm } from './cs-actions.tsx';

export type MemberRecord = paths['/v1/cs/members/{id}']['get']['responses'][200]['content']['application/json'];
export type MemberView = MemberRecord['member'];
export type InvoiceView = MemberRecord['invoices'][number];
type Money = { amount: number; currency: string };
/** Rows the API passes through as stored (attempts, payments…): typed here by the columns the page shows. */
type Row = Record<string, unknown> & { source?: 'hot' | 'archive' };

const money = (m: Money) => formatMoney(m.amount, m.currency);
const text = (v: unknown) => (v === null || v === undefined || v === '' ? '—' : String(v));
const num = (v: unknown) => (typeof v === 'number' ? v : Number(v));

function wantsArchive(): boolean {
  return new URLSearchParams(location.search).get('include') === 'archive';
}

/** The member page: everything about one member's billing, and the agent's actions (credit, refund). */
export function MemberPage(props: { id: string }) {
  const { api } = useSession();
  const [archive, setArchive] = useState(wantsArchive);
  const [record, setRecord] = useState<MemberRecord | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [done, setDone] = useState<string | null>(null);
  const [action, setAction] = useState<{ kind: 'credit' } | { kind: 'refund'; invoice: number | null } | null>(null);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const { data, error } = await api.GET('/v1/cs/members/{id}', { params: { path: { id: props.id }, query: archive ? { include: 'archive' } : {} } });
      if (data) {
        setRecord(data);
        setFailure(null);
      } else setFailure(problemMessage(error, 'The member could not be read.'));
    } catch (err) {
      setFailure(problemMessage(err, 'The Tally API could not be reached.'));
    } finally {
      setLoading(false);
    }
  }, [api, props.id, archive]);

  useEffect(() => {
    void load();
  }, [load]);

  const toggleArchive = (on: boolean) => {
    setArchive(on);
    const q = new URLSearchParams(location.search);
    if (on) q.set('include', 'archive');
    else q.delete('include');
    const qs = q.toString();
    history.replaceState(null, '', `${location.pathname}${qs ? `?${qs}` : ''}`);
  };

  // The message shows with the reloaded record, never before it: an agent who reads
  // "Granted" must see the balance that includes it.
  const finished = async (message: string) => {
    await load();
    setAction(null);
    setDone(message);
  };

  const title = `Member ${props.id}`;
  if (!record) {
    return (
      <Page title={title}>
        <p><Link to="/cs">← Search</Link></p>
        {failure ? <Notice kind="error">{failure}</Notice> : <p role="status">Loading the member…</p>}
      </Page>
    );
  }
  const m = record.member;
  const tz = m.timezone;
  const invoices = record.invoices;
  const refundable = invoices.filter((i) => i.charged.amount - i.refunded.amount > 0 && i.source !== 'archive');

  return (
    <Page title={title}>
      <p><Link to="/cs">← Search</Link></p>
      {failure && <Notice kind="error">{failure}</Notice>}
      {done && <Done message={done} />}

      <section class="panel cs-summary" aria-labelledby="cs-summary-h">
        <h2 id="cs-summary-h">Summary</h2>
        <dl class="cs-facts">
          <div><dt>Status</dt><dd><span class="cs-status" data-status={m.status}>{m.status.replace('_', ' ')}</span></dd></div>
          <div><dt>Email</dt><dd>{m.email ?? '—'}</dd></div>
          <div><dt>Country</dt><dd>{m.country}{m.region ? ` (${m.region})` : ''}</dd></div>
          <div><dt>Time zone</dt><dd>{tz}</dd></div>
          <div><dt>Currency</dt><dd>{m.currency}</dd></div>
          <div><dt>Plan</dt><dd>{m.plan ?? '—'}</dd></div>
          <div><dt>Next billing</dt><dd>{m.nextBillingDate ?? '—'}</dd></div>
          <div><dt>Gift card balance</dt><dd class="num">{money(m.giftCardBalance)}</dd></div>
          <div><dt>Credit balance</dt><dd class="num">{money(m.creditBalance)}</dd></div>
        </dl>
        <p class="help">Dates without a time are business days in the member's time zone, {tz}.</p>
      </section>

      <section class="panel cs-actions" aria-labelledby="cs-actions-h">
        <h2 id="cs-actions-h">Actions</h2>
        {!action && (
          <div class="cs-buttons">
            <button type="button" onClick={() => { setDone(null); setAction({ kind: 'credit' }); }}>Grant a credit</button>
            <button type="button" disabled={refundable.length === 0} onClick={() => { setDone(null); setAction({ kind: 'refund', invoice: refundable[0]?.number ?? null }); }}>Refund an invoice</button>
            {refundable.length === 0 && <p class="help">No invoice has a charged amount left to refund.</p>}
          </div>
        )}
        {action?.kind === 'credit' && <CreditForm member={m} onCancel={() => setAction(null)} onDone={finished} />}
        {action?.kind === 'refund' && <RefundForm member={m} invoices={refundable} initial={action.invoice} onCancel={() => setAction(null)} onDone={finished} />}
      </section>

      <div class="panel cs-archive-toggle">
        <input type="checkbox" id="cs-include-archive" checked={archive} onChange={(e) => toggleArchive(e.currentTarget.checked)} />
        <label for="cs-include-archive">Include archived history</label>
        {loading && <span role="status" class="help"> Loading…</span>}
      </div>

      <Section id="subscriptions" title="Subscriptions" count={m.subscriptions.length}>
        <Table label="Subscriptions" head={['Subscription', 'Product', 'Plan', 'Status', 'Period start', 'Period end', 'Next billing', 'Notes']}>
          {m.subscriptions.map((s) => (
            <tr key={s.id}>
              <td>{s.id}</td><td>{s.product}</td><td>{s.plan}</td><td>{s.status.replace('_', ' ')}</td>
              <td>{text(s.periodStart)}</td><td>{text(s.periodEnd)}</td><td>{s.nextBillingDate}</td>
              <td>{[s.cancelAtPeriodEnd ? 'cancels at period end' : '', s.pendingPlan ? `changes to ${s.pendingPlan}` : ''].filter(Boolean).join('; ') || '—'}</td>
            </tr>
          ))}
        </Table>
      </Section>

      <Invoices invoices={invoices} tz={tz} onRefund={(n) => { setDone(null); setAction({ kind: 'refund', invoice: n }); }} refundable={new Set(refundable.map((i) => i.number))} />

      <Rows id="attempts" title="Payment attempts" rows={record.attempts as Row[]} tz={tz}
        head={['Invoice', 'Attempt', 'Day', { num: 'Amount' }, 'Status', 'Decline code', 'Reference']}
        cells={(r) => [text(r.invoice_id), text(r.attempt_no), { date: text(r.attempted_on) }, { num: money({ amount: num(r.amount), currency: String(r.currency) }) }, text(r.status), text(r.decline_code), text(r.reference)]} rowKey={(r) => String(r.idem_key)} />
      <Rows id="payments" title="Payments" rows={record.payments as Row[]} tz={tz}
        head={['Payment', 'Invoice', 'Day', { num: 'Amount' }, 'Reference']}
        cells={(r) => [text(r.id), text(r.invoice_id), { date: text(r.paid_on) }, { num: money({ amount: num(r.amount), currency: String(r.currency) }) }, text(r.reference)]} rowKey={(r) => String(r.id)} />
      <Rows id="refunds" title="Refunds" rows={record.refunds as Row[]} tz={tz}
        head={['Refund', 'Invoice', 'Day', { num: 'Amount' }, { num: 'Of which tax' }, 'Status', 'Reason', 'Reference']}
        cells={(r) => [text(r.id), text(r.invoice_id), { date: text(r.refunded_on) }, { num: money({ amount: num(r.amount), currency: String(r.currency) }) }, { num: money({ amount: num(r.tax), currency: String(r.currency) }) }, text(r.status), text(r.reason), text(r.reference)]} rowKey={(r) => String(r.id)} />
      <Rows id="chargebacks" title="Chargebacks" rows={record.chargebacks as Row[]} tz={tz}
        head={['Chargeback', 'Invoice', 'Received', { num: 'Amount' }, { num: 'Fee' }]}
        cells={(r) => [text(r.id), text(r.invoice_id), { date: text(r.received_on) }, { num: money({ amount: num(r.amount), currency: String(r.currency) }) }, { num: money({ amount: num(r.fee), currency: String(r.currency) }) }]} rowKey={(r) => String(r.id)} />
      <Rows id="credits" title="Credits" rows={record.credits as Row[]} tz={tz}
        head={['Credit', 'Granted', { num: 'Amount' }, 'Reason']}
        cells={(r) => [text(r.id), { date: text(r.granted_on) }, { num: money({ amount: num(r.amount), currency: String(r.currency) }) }, text(r.reason)]} rowKey={(r) => String(r.id)} />
      <Rows id="gift-cards" title="Gift cards" rows={record.giftCards as Row[]} tz={tz}
        head={['Code', 'Sold', { num: 'Amount' }, 'Redeemed']}
        cells={(r) => [text(r.code), { date: text(r.sold_on) }, { num: money({ amount: num(r.amount), currency: String(r.currency) }) }, text(r.redeemed_on)]} rowKey={(r) => String(r.code)} />
      <Rows id="audit" title="Audit trail" rows={record.audit as Row[]} tz={tz}
        head={[`When (${tz})`, 'Action', 'By', 'Reason', 'Request']}
        cells={(r) => [{ date: r.at ? formatDateTime(String(r.at), tz).replace(` (${tz})`, '') : '—' }, text(r.action), text(r.actor), text(r.reason), auditRequest(r.request, m.currency)]} rowKey={(r) => String(r.id)} />
    </Page>
  );
}

/** What an action did, announced and focused: the form that had the focus is gone. */
function Done(props: { message: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.focus(), [props.message]);
  return <div class="cs-done" tabIndex={-1} ref={ref}><Notice kind="info">{props.message}</Notice></div>;
}

/** An audited request in words: its amount in the member's currency, the invoice it names. */
function auditRequest(request: unknown, currency: string): string {
  if (!request || typeof request !== 'object') return '—';
  const r = request as { amount?: unknown; currency?: unknown; invoice?: unknown };
  const parts: string[] = [];
  if (typeof r.invoice === 'number') parts.push(`invoice ${r.invoice}`);
  if (typeof r.amount === 'number') parts.push(formatMoney(r.amount, typeof r.currency === 'string' ? r.currency : currency));
  return parts.join(', ') || '—';
}

function Section(props: { id: string; title: string; count: number; children: ComponentChildren; note?: string }) {
  return (
    <section class="cs-section" aria-labelledby={`cs-${props.id}-h`} id={`cs-${props.id}`}>
      <h2 id={`cs-${props.id}-h`}>{props.title} <span class="cs-count">({props.count})</span></h2>
      {props.note && <p class="help">{props.note}</p>}
      {props.count === 0 ? <p class="cs-none">None.</p> : props.children}
    </section>
  );
}

type Head = string | { num: string };
type Cell = string | { num: string } | { date: string };

function Table(props: { head: Head[]; children: ComponentChildren; label?: string }) {
  return (
    // Focusable so a table wider than a phone scrolls sideways with the keyboard too.
    <div class="table-wrap cs-table-wrap" tabIndex={0} role="region" aria-label={props.label ? `${props.label}, scrollable` : undefined}>
      <table aria-label={props.label}>
        <thead><tr>{props.head.map((h) => typeof h === 'string' ? <th scope="col" key={h}>{h}</th> : <th scope="col" class="num" key={h.num}>{h.num}</th>)}</tr></thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

const Archived = () => <span class="cs-archived">archived</span>;

function Rows(props: { id: string; title: string; rows: Row[]; tz: string; head: Head[]; cells: (r: Row) => Cell[]; rowKey: (r: Row) => string }) {
  const anyArchived = props.rows.some((r) => r.source === 'archive');
  return (
    <Section id={props.id} title={props.title} count={props.rows.length}>
      <Table head={anyArchived ? [...props.head, 'Source'] : props.head} label={props.title}>
        {props.rows.map((r) => (
          <tr key={props.rowKey(r)} class={r.source === 'archive' ? 'cs-row-archived' : undefined}>
            {props.cells(r).map((c, i) => typeof c === 'string' ? <td key={i}>{c}</td> : 'num' in c ? <td class="num" key={i}>{c.num}</td> : <td class="cs-nowrap" key={i}>{c.date}</td>)}
            {anyArchived && <td>{r.source === 'archive' ? <Archived /> : 'current'}</td>}
          </tr>
        ))}
      </Table>
    </Section>
  );
}

function Invoices(props: { invoices: InvoiceView[]; tz: string; refundable: Set<number>; onRefund: (n: number) => void }) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (id: string) => setOpen((o) => {
    const n = new Set(o);
    if (n.has(id)) n.delete(id);
    else n.add(id);
    return n;
  });
  const cols = 10;
  return (
    <Section id="invoices" title="Invoices" count={props.invoices.length}>
      <Table label="Invoices" head={['Invoice', 'Issued', 'Period', 'Kind', 'Status', { num: 'Total' }, { num: 'Tax' }, { num: 'Charged' }, { num: 'Refunded' }, 'Actions']}>
        {props.invoices.flatMap((i) => {
          const expanded = open.has(i.id);
          const linesId = `cs-lines-${i.number}-${i.source ?? 'hot'}`;
          const rows = [
            <tr key={i.id} class={i.source === 'archive' ? 'cs-row-archived' : undefined}>
              <th scope="row">{i.id} {i.source === 'archive' && <Archived />}</th>
              <td class="cs-nowrap">{i.issuedOn}</td>
              <td class="cs-nowrap">{i.periodStart} – {i.periodEnd}</td>
              <td>{i.kind}</td>
              <td>{i.status}{i.nextAttemptOn && i.status !== 'paid' ? ` (next attempt ${i.nextAttemptOn})` : ''}</td>
              <td class="num">{money(i.total)}</td>
              <td class="num">{money(i.tax)}</td>
              <td class="num">{money(i.charged)}</td>
              <td class="num">{money(i.refunded)}</td>
              <td class="cs-row-actions">
                <button type="button" class="secondary small" aria-expanded={expanded} aria-controls={expanded ? linesId : undefined} onClick={() => toggle(i.id)}>
                  {expanded ? 'Hide' : 'Show'} lines<span class="visually-hidden"> of invoice {i.id}</span>
                </button>
                {props.refundable.has(i.number) && i.source !== 'archive' && (
                  <button type="button" class="secondary small" onClick={() => props.onRefund(i.number)}>Refund<span class="visually-hidden"> invoice {i.id}</span></button>
                )}
              </td>
            </tr>,
          ];
          if (expanded) {
            rows.push(
              <tr key={`${i.id}-lines`} id={linesId} class="cs-lines">
                <td colSpan={cols}>
                  <table aria-label={`Lines of invoice ${i.id}`}>
                    <thead><tr><th scope="col">Line</th><th scope="col">Description</th><th scope="col">Kind</th><th scope="col" class="num">Amount</th><th scope="col" class="num">Discount</th><th scope="col" class="num">Net</th><th scope="col">Tax rate</th><th scope="col" class="num">Tax</th><th scope="col" class="num">Total</th></tr></thead>
                    <tbody>
                      {i.lines.map((l) => (
                        <tr key={l.line}>
                          <td>{l.line}</td><td>{l.description}</td><td>{l.kind}</td>
                          <td class="num">{money(l.amount)}</td><td class="num">{money(l.discount)}</td><td class="num">{money(l.net)}</td>
                          <td>{`${(l.taxRatePpm / 10000).toString()} % ${l.taxName}`}</td>
                          <td class="num">{money(l.tax)}</td><td class="num">{money(l.total)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </td>
              </tr>,
            );
          }
          return rows;
        })}
      </Table>
    </Section>
  );
}
