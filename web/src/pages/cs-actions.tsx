import { useEffect, useRef, useState } from 'preact/hooks';
import { problemMessage, type Problem } from '../api/client.ts';
import { currencyDigits, formatMoney } from '../format.ts';
import { Notice } from '../page.tsx';
import { useSession } from '../session.tsx';
import type { InvoiceView, MemberView } from './cs-member.tsx';

/**
 * An amount typed in a currency's major units ("12.5" EUR, "1200" JPY, "1.250" KWD) as an integer
 * of minor units, exactly (no float arithmetic); null when it is not such an amount or not positive.
 */
export function parseAmount(input: string, currency: string): number | null {
  const digits = currencyDigits(currency);
  const s = input.trim().replace(/[\s,]/g, '');
  const re = digits === 0 ? /^(\d+)$/ : new RegExp(`^(\\d*)(?:\\.(\\d{0,${digits}}))?$`);
  const m = re.exec(s);
  if (!m || (!m[1] && !m[2])) return null;
  const minor = Number(BigInt(m[1] || '0') * 10n ** BigInt(digits) + BigInt((m[2] ?? '').padEnd(digits, '0') || '0'));
  return Number.isSafeInteger(minor) && minor > 0 ? minor : null;
}

/** Minor units as the text an agent types back into the amount field: 1250 EUR → "12.50". */
function amountText(minor: number, currency: string): string {
  const digits = currencyDigits(currency);
  const s = String(minor).padStart(digits + 1, '0');
  return digits ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s;
}

type Send = (key: string) => Promise<{ ok: true } | { ok: false; status: number; problem: unknown }>;

/**
 * One action's request under one Idempotency-Key, generated when the form opens and kept for
 * retries: a double click or a retry after a lost answer does the action once. A definite refusal
 * (4xx) means nothing was done, so the next try of a changed form gets a fresh key; an answer
 * that says "still in progress" (409) is waited out and asked again with the same key.
 */
function useIdempotentAction() {
  const key = useRef<string>(crypto.randomUUID());
  const inFlight = useRef(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function run(send: Send): Promise<boolean> {
    if (inFlight.current) return false;
    inFlight.current = true;
    setBusy(true);
    setError(null);
    try {
      for (let tries = 0; ; tries++) {
        let r: Awaited<ReturnType<Send>>;
        try {
          r = await send(key.current);
        } catch (err) {
          // No answer: the request may have been done. The same key is used again on retry.
          setError(`${problemMessage(err, 'The Tally API could not be reached.')} Try again: it will not be done twice.`);
          return false;
        }
        if (r.ok) {
          key.current = crypto.randomUUID();
          return true;
        }
        if (r.status === 409 && (r.problem as Problem | undefined)?.field === 'Idempotency-Key' && tries < 10) {
          await new Promise((res) => setTimeout(res, 300));
          continue;
        }
        if (r.status < 500) key.current = crypto.randomUUID();
        setError(problemMessage(r.problem, `The API answered ${r.status}.`));
        return false;
      }
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  }
  return { run, busy, error, clearError: () => setError(null) };
}

/** Focus on the element once it is shown: a form's first field, the confirmation's question. */
function useFocusOnMount<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}

function Confirm(props: { summary: string; confirmLabel: string; busy: boolean; error: string | null; onConfirm: () => void; onBack: () => void }) {
  const question = useFocusOnMount<HTMLParagraphElement>();
  return (
    <div class="cs-confirm" role="group" aria-labelledby="cs-confirm-text">
      <p id="cs-confirm-text" class="cs-confirm-text" tabIndex={-1} ref={question}><strong>{props.summary}</strong></p>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <div class="cs-buttons">
        <button type="button" disabled={props.busy} aria-busy={props.busy} onClick={props.onConfirm}>
          {props.busy ? 'Working…' : props.confirmLabel}
        </button>
        <button type="button" class="secondary" disabled={props.busy} onClick={props.onBack}>Back</button>
      </div>
    </div>
  );
}

function Reason(props: { id: string; value: string; invalid: boolean; onInput: (v: string) => void }) {
  return (
    <div class="cs-field">
      <label for={props.id}>Reason (required)</label>
      <textarea id={props.id} rows={2} required minLength={3} maxLength={500} value={props.value} aria-describedby={`${props.id}-help`} aria-invalid={props.invalid ? 'true' : undefined}
        onInput={(e) => props.onInput(e.currentTarget.value)} />
      <p class="help" id={`${props.id}-help`}>Recorded in the member's audit trail. At least 3 characters.</p>
    </div>
  );
}

export function CreditForm(props: { member: MemberView; onCancel: () => void; onDone: (message: string) => Promise<void> }) {
  const { api } = useSession();
  const { currency, id } = props.member;
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const action = useIdempotentAction();
  const first = useFocusOnMount<HTMLInputElement>();

  const review = (e: Event) => {
    e.preventDefault();
    const minor = parseAmount(amount, currency);
    if (minor === null) return setInvalid(`Enter a positive amount in ${currency} with at most ${currencyDigits(currency)} decimals.`);
    if (reason.trim().length < 3) return setInvalid('Give a reason of at least 3 characters.');
    setInvalid(null);
    action.clearError();
    setConfirming(minor);
  };
  const confirm = async () => {
    if (confirming === null) return;
    const body = { amount: confirming, currency, reason: reason.trim() };
    const ok = await action.run(async (key) => {
      const { data, error, response } = await api.POST('/v1/cs/members/{id}/credits', { params: { path: { id } }, body, headers: { 'Idempotency-Key': key } });
      return data ? { ok: true } : { ok: false, status: response.status, problem: error };
    });
    if (ok) await props.onDone(`Granted a credit of ${formatMoney(confirming, currency)} to ${id}.`);
  };

  return (
    <div class="cs-form">
      <h3>Grant a credit</h3>
      {confirming === null ? (
        <form onSubmit={review} noValidate>
          <div class="cs-field">
            <label for="cs-credit-amount">Amount in {currency}</label>
            <input id="cs-credit-amount" ref={first} inputMode="decimal" autoComplete="off" value={amount} aria-describedby="cs-credit-amount-help" aria-invalid={invalid?.startsWith('Enter') ? 'true' : undefined}
              onInput={(e) => setAmount(e.currentTarget.value)} />
            <p class="help" id="cs-credit-amount-help">In {currency}, with {currencyDigits(currency)} decimals at most. The credit is used against the member's next invoices.</p>
          </div>
          <Reason id="cs-credit-reason" value={reason} invalid={invalid?.startsWith('Give') ?? false} onInput={setReason} />
          {invalid && <Notice kind="error">{invalid}</Notice>}
          <div class="cs-buttons">
            <button type="submit">Review credit</button>
            <button type="button" class="secondary" onClick={props.onCancel}>Cancel</button>
          </div>
        </form>
      ) : (
        <Confirm summary={`Grant ${id} a credit of ${formatMoney(confirming, currency)}? Reason: ${reason.trim()}`} confirmLabel={`Grant ${formatMoney(confirming, currency)}`}
          busy={action.busy} error={action.error} onConfirm={() => void confirm()} onBack={() => setConfirming(null)} />
      )}
    </div>
  );
}

export function RefundForm(props: { member: MemberView; invoices: InvoiceView[]; initial: number | null; onCancel: () => void; onDone: (message: string) => Promise<void> }) {
  const { api } = useSession();
  const { currency, id } = props.member;
  const [invoice, setInvoice] = useState<number | null>(props.initial ?? props.invoices[0]?.number ?? null);
  const chosen = props.invoices.find((i) => i.number === invoice);
  const left = chosen ? chosen.charged.amount - chosen.refunded.amount : 0;
  const [amount, setAmount] = useState(() => (left > 0 ? amountText(left, currency) : ''));
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const action = useIdempotentAction();
  const first = useFocusOnMount<HTMLInputElement>();

  const review = (e: Event) => {
    e.preventDefault();
    if (!chosen) return setInvalid('Choose an invoice to refund.');
    const minor = parseAmount(amount, currency);
    if (minor === null) return setInvalid(`Enter a positive amount in ${currency} with at most ${currencyDigits(currency)} decimals.`);
    if (minor > left) return setInvalid(`Enter at most ${formatMoney(left, currency)}: what is left to refund on invoice ${chosen.id}.`);
    if (reason.trim().length < 3) return setInvalid('Give a reason of at least 3 characters.');
    setInvalid(null);
    action.clearError();
    setConfirming(minor);
  };
  const confirm = async () => {
    if (confirming === null || !chosen) return;
    const body = { invoice: chosen.number, amount: confirming, currency, reason: reason.trim() };
    const ok = await action.run(async (key) => {
      const { data, error, response } = await api.POST('/v1/cs/members/{id}/refunds', { params: { path: { id } }, body, headers: { 'Idempotency-Key': key } });
      return data ? { ok: true } : { ok: false, status: response.status, problem: error };
    });
    if (ok) await props.onDone(`Refunded ${formatMoney(confirming, currency)} of invoice ${chosen.id}.`);
  };

  return (
    <div class="cs-form">
      <h3>Refund an invoice</h3>
      {confirming === null || !chosen ? (
        <form onSubmit={review} noValidate>
          <div class="cs-field">
            <label for="cs-refund-invoice">Invoice</label>
            <select id="cs-refund-invoice" value={invoice ?? ''} onChange={(e) => {
              const n = Number(e.currentTarget.value);
              setInvoice(n);
              const inv = props.invoices.find((i) => i.number === n);
              if (inv) setAmount(amountText(inv.charged.amount - inv.refunded.amount, currency));
            }}>
              {props.invoices.map((i) => (
                <option key={i.number} value={i.number}>{`${i.id}, issued ${i.issuedOn}: ${formatMoney(i.charged.amount - i.refunded.amount, currency)} refundable`}</option>
              ))}
            </select>
          </div>
          <div class="cs-field">
            <label for="cs-refund-amount">Amount to refund in {currency}</label>
            <input id="cs-refund-amount" ref={first} inputMode="decimal" autoComplete="off" value={amount} aria-describedby="cs-refund-amount-help" aria-invalid={invalid?.startsWith('Enter') ? 'true' : undefined}
              onInput={(e) => setAmount(e.currentTarget.value)} />
            <p class="help" id="cs-refund-amount-help">All of it is {formatMoney(left, currency)}; less refunds part of the invoice.</p>
          </div>
          <Reason id="cs-refund-reason" value={reason} invalid={invalid?.startsWith('Give') ?? false} onInput={setReason} />
          {invalid && <Notice kind="error">{invalid}</Notice>}
          <div class="cs-buttons">
            <button type="submit">Review refund</button>
            <button type="button" class="secondary" onClick={props.onCancel}>Cancel</button>
          </div>
        </form>
      ) : (
        <Confirm summary={`Refund ${formatMoney(confirming, currency)} of invoice ${chosen.id}${confirming === left ? ' (all that is left)' : ` (of ${formatMoney(left, currency)} refundable)`}? Reason: ${reason.trim()}`}
          confirmLabel={`Refund ${formatMoney(confirming, currency)}`} busy={action.busy} error={action.error} onConfirm={() => void confirm()} onBack={() => setConfirming(null)} />
      )}
    </div>
  );
}
