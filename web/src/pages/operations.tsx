import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { problemMessage, type paths } from '../api/client.ts';
import { formatDateTime, formatMoney } from '../format.ts';
import { Notice, Page } from '../page.tsx';
import { useSession } from '../session.tsx';
import './operations.css';

type Json<P extends keyof paths, M extends 'get' | 'post'> = paths[P] extends { [K in M]: { responses: infer R } }
  ? R extends { 200: { content: { 'application/json': infer J } } } ? J : R extends { 201: { content: { 'application/json': infer J } } } ? J : never : never;
type JobRun = Json<'/v1/admin/job-runs', 'get'>['runs'][number];
type ApiKey = Json<'/v1/admin/api-keys', 'get'>['keys'][number];
type Catalog = Json<'/v1/admin/catalog', 'get'>;
type Job = paths['/v1/admin/jobs/{job}/runs']['post']['parameters']['path']['job'];
type KeyRole = paths['/v1/admin/api-keys']['post']['requestBody']['content']['application/json']['role'];
type DeadLetter = Json<'/v1/admin/dead-letters', 'get'>['deadLetters'][number];

const jobs: { job: Job; label: string; what: string }[] = [
  { job: 'renew', label: 'renew', what: 'bills the subscriptions due on that day' },
  { job: 'collect', label: 'collect', what: 'retries the payments due on that day' },
  { job: 'report-revenue', label: 'report-revenue', what: 'closes the revenue report of that day' },
];
const keyRoles: KeyRole[] = ['cs-agent', 'finance', 'admin', 'member-app', 'dvd-partner'];
/** Times here are the service's (job runs, keys, catalog versions), shown in UTC and saying so. */
const zone = 'UTC';
const when = (v: string | null) => (v ? formatDateTime(v, zone) : '—');

type Load<T> = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'ok'; data: T };

/** Fetch once and on `reload()`; a failed call is a message, never a thrown error. */
function useLoad<T>(fetch: () => Promise<{ data?: T; error?: unknown; response: Response }>): [Load<T>, () => void] {
  const [state, setState] = useState<Load<T>>({ kind: 'loading' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    fetch().then(({ data, error, response }) => {
      if (!live) return;
      if (data !== undefined) setState({ kind: 'ok', data });
      else setState({ kind: 'error', message: problemMessage(error, `The API answered ${response.status}.`) });
    }, (err: unknown) => live && setState({ kind: 'error', message: problemMessage(err, 'The Tally API could not be reached.') }));
    return () => {
      live = false;
    };
  }, [round]); // `fetch` is a fresh closure each render; `round` asks again
  return [state, useCallback(() => setRound((r) => r + 1), [])];
}

function Loading<T>(props: { state: Load<T>; what: string; children: (data: T) => preact.ComponentChildren }) {
  if (props.state.kind === 'loading') return <p role="status">Loading {props.what}…</p>;
  if (props.state.kind === 'error') return <Notice kind="error">{props.what}: {props.state.message}</Notice>;
  return <>{props.children(props.state.data)}</>;
}

/** Operations: job runs, running a job, API keys, the catalog in force, and dead letters. */
export function Operations(_props: { path: string }) {
  const { api } = useSession();
  const [runs, reloadRuns] = useLoad(() => api.GET('/v1/admin/job-runs', { params: { query: { limit: 50 } } }));
  return (
    <Page title="Operations">
      <nav aria-label="On this page">
        <p class="help">
          <a href="#job-runs">Job runs</a> · <a href="#run-job">Run a job</a> · <a href="#api-keys">API keys</a> · <a href="#catalog">Catalog</a> · <a href="#dead-letters">Dead letters</a>
        </p>
      </nav>
      <RunJob onRan={reloadRuns} />
      <section class="ops-section" aria-labelledby="job-runs">
        <h2 id="job-runs">Job runs</h2>
        <p class="help">The latest 50 runs, newest first; times in {zone}.</p>
        <Loading state={runs} what="Job runs">{(d) => <JobRuns runs={d.runs} />}</Loading>
      </section>
      <ApiKeys />
      <CatalogInForce />
      <DeadLetters />
    </Page>
  );
}

function JobRuns(props: { runs: JobRun[] }) {
  if (!props.runs.length) return <p>No job has run yet.</p>;
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label="Job runs table">
      <table>
        <caption class="visually-hidden">Job runs, newest first</caption>
        <thead>
          <tr><th scope="col">Run</th><th scope="col">Job</th><th scope="col">Business date</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Finished</th><th scope="col">Counts</th><th scope="col">Errors</th></tr>
        </thead>
        <tbody>
          {props.runs.map((r) => (
            <tr key={r.id}>
              <td class="num">{r.id}</td>
              <td>{r.job}</td>
              <td>{r.businessDate}</td>
              <td>{r.status}</td>
              <td>{when(r.startedAt)}</td>
              <td>{when(r.finishedAt)}</td>
              <td class="ops-counts">{Object.entries(r.counts).map(([k, v]) => <div key={k}>{k}: {v}</div>)}</td>
              <td>
                {r.errors.length === 0 ? 'none' : (
                  <details>
                    <summary>{r.errors.length} {r.errors.length === 1 ? 'error' : 'errors'}</summary>
                    <ul class="ops-errors">{r.errors.map((e, i) => <li key={i}><code>{e.item}</code>: {e.message}</li>)}</ul>
                  </details>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

function RunJob(props: { onRan: () => void }) {
  const { api } = useSession();
  const [job, setJob] = useState<Job>('renew');
  const [date, setDate] = useState(today);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ kind: 'error' | 'info'; text: string } | null>(null);
  const what = jobs.find((j) => j.job === job)!;
  const run = async () => {
    if (busy) return;
    setBusy(true);
    try {
      const { data, error, response } = await api.POST('/v1/admin/jobs/{job}/runs', { params: { path: { job } }, body: { date } });
      if (data) {
        setResult({ kind: 'info', text: `${job} ran for ${date}.` });
        props.onRan();
      } else setResult({ kind: 'error', text: problemMessage(error, `The API answered ${response.status}.`) });
    } catch (err) {
      setResult({ kind: 'error', text: problemMessage(err, 'The Tally API could not be reached.') });
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  return (
    <section class="ops-section" aria-labelledby="run-job">
      <h2 id="run-job">Run a job</h2>
      <form class="panel" onSubmit={(e) => { e.preventDefault(); setResult(null); if (date) setConfirming(true); }}>
        <div class="ops-form">
          <div>
            <label for="ops-job">Job</label>
            <select id="ops-job" value={job} disabled={confirming} onChange={(e) => setJob((e.currentTarget as HTMLSelectElement).value as Job)}>
              {jobs.map((j) => <option key={j.job} value={j.job}>{j.label}</option>)}
            </select>
          </div>
          <div>
            <label for="ops-date">Business date</label>
            <input id="ops-date" type="date" required value={date} disabled={confirming} onInput={(e) => setDate((e.currentTarget as HTMLInputElement).value)} />
          </div>
          <div><button type="submit" disabled={confirming || busy}>Run job…</button></div>
        </div>
        <p class="help">{what.label} {what.what}. A job run again for a day does only what is left to do.</p>
        {confirming && (
          <div class="ops-confirm" role="group" aria-labelledby="ops-run-confirm">
            <p id="ops-run-confirm"><strong>Run {job} for {date}?</strong> It {what.what}.</p>
            <button type="button" disabled={busy} onClick={() => void run()} ref={(b) => b?.focus()}>{busy ? 'Running…' : `Confirm: run ${job}`}</button>
            <button type="button" class="secondary" disabled={busy} onClick={() => setConfirming(false)}>Cancel</button>
          </div>
        )}
      </form>
      {result && <Notice kind={result.kind}>{result.text}</Notice>}
    </section>
  );
}

function ApiKeys() {
  const { api } = useSession();
  const [keys, reload] = useLoad(() => api.GET('/v1/admin/api-keys'));
  const [name, setName] = useState('');
  const [role, setRole] = useState<KeyRole>('cs-agent');
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ key: ApiKey; secret: string | null } | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [message, setMessage] = useState<{ kind: 'error' | 'info'; text: string } | null>(null);

  const create = async () => {
    if (busy || !name.trim()) return;
    setBusy(true);
    setMessage(null);
    try {
      const { data, error, response } = await api.POST('/v1/admin/api-keys', { body: { name: name.trim(), role } });
      if (data) {
        setCreated(data);
        setCopied(null);
        setName('');
        reload();
      } else setMessage({ kind: 'error', text: problemMessage(error, `The API answered ${response.status}.`) });
    } catch (err) {
      setMessage({ kind: 'error', text: problemMessage(err, 'The Tally API could not be reached.') });
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (key: ApiKey) => {
    setBusy(true);
    try {
      const { error, response } = await api.POST('/v1/admin/api-keys/{keyId}/revocation', { params: { path: { keyId: key.id } } });
      if (response.ok) setMessage({ kind: 'info', text: `The key “${key.name}” (${key.id}) is revoked.` });
      else setMessage({ kind: 'error', text: problemMessage(error, `The API answered ${response.status}.`) });
      reload();
    } catch (err) {
      setMessage({ kind: 'error', text: problemMessage(err, 'The Tally API could not be reached.') });
    } finally {
      setBusy(false);
      setRevoking(null);
    }
  };
  const copy = async (secret: string) => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('The browser did not allow copying: select the secret and copy it yourself.');
    }
  };

  return (
    <section class="ops-section" aria-labelledby="api-keys">
      <h2 id="api-keys">API keys</h2>
      <form class="panel" onSubmit={(e) => { e.preventDefault(); void create(); }}>
        <div class="ops-form">
          <div>
            <label for="ops-key-name">Name</label>
            <input id="ops-key-name" required maxLength={120} value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
          </div>
          <div>
            <label for="ops-key-role">Role</label>
            <select id="ops-key-role" value={role} onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value as KeyRole)}>
              {keyRoles.map((r) => <option key={r} value={r}>{r}</option>)}
            </select>
          </div>
          <div><button type="submit" disabled={busy}>Create key</button></div>
        </div>
        <p class="help">A key has one role. Its secret is shown once, right after it is created; Tally keeps only its hash.</p>
      </form>
      {created && (
        <div class="panel" role="region" aria-labelledby="ops-new-key">
          <h3 id="ops-new-key">New key “{created.key.name}” ({created.key.role})</h3>
          {created.secret ? (
            <>
              <label for="ops-secret">Secret, shown only now</label>
              <div class="ops-secret">
                <input id="ops-secret" readOnly value={created.secret} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
                <button type="button" class="secondary" onClick={() => void copy(created.secret!)}>Copy secret</button>
                <button type="button" class="secondary" onClick={() => setCreated(null)}>Done, hide it</button>
              </div>
              <p class="help">Store it now: it cannot be shown again, not here and not by the API. Lost, it is revoked and replaced.</p>
              {copied && <Notice kind="info">{copied}</Notice>}
            </>
          ) : <p>The API did not return the secret again (a repeated request): revoke this key and create another.</p>}
        </div>
      )}
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      <Loading state={keys} what="API keys">
        {(d) => (
          <div class="table-wrap" tabIndex={0} role="region" aria-label="API keys table">
            <table>
              <caption class="visually-hidden">API keys (never their secrets)</caption>
              <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Id</th><th scope="col">Created</th><th scope="col">Status</th><th scope="col">Action</th></tr></thead>
              <tbody>
                {d.keys.map((k) => (
                  <tr key={k.id}>
                    <th scope="row">{k.name}</th>
                    <td>{k.role}</td>
                    <td><code>{k.id}</code></td>
                    <td>{when(k.createdAt)}</td>
                    <td>{k.revokedAt ? `revoked ${when(k.revokedAt)}` : 'active'}</td>
                    <td class="ops-row-actions">
                      {k.revokedAt ? '—' : revoking?.id === k.id ? (
                        <span class="ops-confirm" role="group" aria-label={`Confirm revoking ${k.name}`}>
                          <button type="button" class="small" disabled={busy} ref={(b) => b?.focus()} onClick={() => void revoke(k)}>Confirm revoke</button>
                          <button type="button" class="small secondary" disabled={busy} onClick={() => setRevoking(null)}>Cancel</button>
                        </span>
                      ) : <button type="button" class="small secondary" aria-label={`Revoke ${k.name} (${k.id})`} onClick={() => setRevoking(k)}>Revoke…</button>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loading>
      {revoking && <p class="help" role="status">Revoking “{revoking.name}” stops every caller using it at once; it cannot be undone.</p>}
    </section>
  );
}

function CatalogInForce() {
  const { api } = useSession();
  const [catalog] = useLoad(() => api.GET('/v1/admin/catalog'));
  return (
    <section class="ops-section" aria-labelledby="catalog">
      <h2 id="catalog">Catalog in force</h2>
      <Loading state={catalog} what="The catalog">
        {(c: Catalog) => (
          <>
            <p class="help">
              Version {c.version}{c.version === 0 ? ' (the built-in catalog)' : ''}{c.createdAt ? `, put in force ${when(c.createdAt)}` : ''}{c.createdBy ? ` by ${c.createdBy}` : ''}{c.reason ? `: ${c.reason}` : ''}.
              Read-only here; a new version is put with <code>tally catalog import</code> or <code>PUT /v1/admin/catalog</code>.
            </p>
            <div class="table-wrap" tabIndex={0} role="region" aria-label="Catalog table">
              <table>
                <caption class="visually-hidden">Plans in the catalog in force</caption>
                <thead><tr><th scope="col">Plan</th><th scope="col">Product</th><th scope="col">Period</th><th scope="col">Trial</th><th scope="col">Prices</th></tr></thead>
                <tbody>
                  {c.catalog.plans.map((p) => (
                    <tr key={p.id}>
                      <th scope="row">{p.name ?? p.id} <code>{p.id}</code></th>
                      <td>{p.product}</td>
                      <td>{p.period}</td>
                      <td>{p.trialDays} days</td>
                      <td>{new Set(p.prices.map((x) => x.country)).size} countries, {p.prices.length} prices</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {c.catalog.plans.map((p) => (
              <details key={p.id} class="ops-prices">
                <summary>Prices of {p.name ?? p.id} (<code>{p.id}</code>)</summary>
                <div class="table-wrap" tabIndex={0} role="region" aria-label={`Prices of ${p.id}`}>
                  <table>
                    <thead><tr><th scope="col">Country</th><th scope="col" class="num">Price</th><th scope="col">From</th></tr></thead>
                    <tbody>
                      {p.prices.map((price) => (
                        <tr key={`${price.country}-${price.from ?? ''}`}>
                          <th scope="row">{price.country}</th>
                          <td class="num">{formatMoney(price.amount, price.currency)}</td>
                          <td>{price.from ?? 'always'}{price.grandfatherUntil ? ` (earlier members until ${price.grandfatherUntil})` : ''}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </details>
            ))}
          </>
        )}
      </Loading>
    </section>
  );
}

/**
 * Dead letters of the embedded transport: listed, one shown with its message, and replayed after a
 * confirmation. A replay's Idempotency-Key is made when its confirmation opens and kept until a
 * definite answer, so a double click or a retry after a lost answer delivers the message once.
 */
function DeadLetters() {
  const { api } = useSession();
  const [list, reload] = useLoad(() => api.GET('/v1/admin/dead-letters', { params: { query: { limit: 100 } } }));
  const [shown, setShown] = useState<Load<DeadLetter> | null>(null);
  // Replayed here: out of the list at once, before the reload answers. Keyed with the time it was parked, as SQLite may give a deleted row's id to the next one.
  const [replayed, setReplayed] = useState<string[]>([]);
  const parkedKey = (d: DeadLetter) => `${d.id} ${d.failedAt}`;
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'error' | 'info'; text: string } | null>(null);
  const inFlight = useRef(false);
  const key = useRef('');
  const heading = useRef<HTMLHeadingElement>(null);

  const load = async (id: string) => {
    try {
      const { data, error, response } = await api.GET('/v1/admin/dead-letters/{id}', { params: { path: { id } } });
      setShown(data ? { kind: 'ok', data } : { kind: 'error', message: problemMessage(error, `The API answered ${response.status}.`) });
    } catch (err) {
      setShown({ kind: 'error', message: problemMessage(err, 'The Tally API could not be reached.') });
    }
  };
  const show = (id: string) => {
    setMessage(null);
    setConfirming(false);
    setShown({ kind: 'loading' });
    void load(id);
  };
  const askReplay = () => {
    key.current = crypto.randomUUID();
    setMessage(null);
    setConfirming(true);
  };
  const replay = async (d: DeadLetter) => {
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    try {
      const { data, error, response } = await api.POST('/v1/admin/dead-letters/{id}/replay', { params: { path: { id: d.id } }, headers: { 'Idempotency-Key': key.current } });
      if (data) {
        setReplayed((r) => [...r, parkedKey(d)]);
        setShown(null);
        setMessage({ kind: 'info', text: `Dead letter ${d.id} (${d.type}, event ${d.eventId}) was delivered to ${d.consumer} again and left the list.` });
        heading.current?.focus();
      } else {
        setMessage({ kind: 'error', text: problemMessage(error, `The API answered ${response.status}.`) });
        // A consumer that failed again left new attempts and a new error on it.
        void load(d.id);
      }
      setConfirming(false);
      reload();
    } catch (err) {
      // No answer: it may have been delivered. The same key asks again without delivering twice.
      setMessage({ kind: 'error', text: `${problemMessage(err, 'The Tally API could not be reached.')} Replay again: it will not be delivered twice.` });
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  return (
    <section class="ops-section" aria-labelledby="dead-letters">
      <h2 id="dead-letters" ref={heading} tabIndex={-1}>Dead letters</h2>
      <p class="help">
        Messages a consumer gave up on after its last attempt, parked in Tally's database by the in-process bus, oldest first; times in {zone}.
        Replaying one delivers it to that consumer again, as <code>tally dlq replay ID</code> does.
      </p>
      {message && shown?.kind !== 'ok' && <Notice kind={message.kind}>{message.text}</Notice>}
      <Loading state={list} what="Dead letters">
        {(d) => {
          const rows = d.deadLetters.filter((x) => !replayed.includes(parkedKey(x)));
          return (
            <>
              {d.transport === 'amqp' && (
                <p>
                  This service runs its messaging on RabbitMQ, whose dead-letter queues are not read here (looking means taking the whole queue off and putting it back):
                  use <code>tally dlq list --transport amqp</code>. Below are only messages parked while the in-process bus was in use.
                </p>
              )}
              {rows.length === 0 ? <p>No dead letters: every consumer has taken every message so far.</p> : (
                <div class="table-wrap" tabIndex={0} role="region" aria-label="Dead letters table">
                  <table>
                    <caption class="visually-hidden">Dead letters, oldest first</caption>
                    <thead><tr><th scope="col">Id</th><th scope="col">Consumer</th><th scope="col">Event type</th><th scope="col">Event id</th><th scope="col" class="num">Attempts</th><th scope="col">Failed at</th><th scope="col">Error</th><th scope="col">Action</th></tr></thead>
                    <tbody>
                      {rows.map((x) => (
                        <tr key={x.id}>
                          <th scope="row" class="num">{x.id}</th>
                          <td>{x.consumer}</td>
                          <td>{x.type}</td>
                          <td><code>{x.eventId}</code></td>
                          <td class="num">{x.attempts}</td>
                          <td>{when(x.failedAt)}</td>
                          <td class="ops-dlq-error">{x.error}</td>
                          <td class="ops-row-actions">
                            <button type="button" class="small secondary" aria-label={`Show dead letter ${x.id}`} aria-controls="ops-dlq-shown" onClick={() => show(x.id)}>Show</button>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </>
          );
        }}
      </Loading>
      <div id="ops-dlq-shown">
        {shown && (
          <Loading state={shown} what="The dead letter">
            {(x) => (
              <ShownDeadLetter x={x} confirming={confirming} busy={busy} message={message} onAsk={askReplay}
                onConfirm={() => void replay(x)} onCancel={() => setConfirming(false)} onClose={() => setShown(null)} />
            )}
          </Loading>
        )}
      </div>
    </section>
  );
}

/** One dead letter with its error and message, and its replay; the heading takes focus when it opens and when a failed replay brings it back changed. */
function ShownDeadLetter(props: {
  x: DeadLetter; confirming: boolean; busy: boolean; message: { kind: 'error' | 'info'; text: string } | null;
  onAsk: () => void; onConfirm: () => void; onCancel: () => void; onClose: () => void;
}) {
  const { x, confirming, busy } = props;
  const heading = useRef<HTMLHeadingElement>(null);
  const confirm = useRef<HTMLButtonElement>(null);
  useEffect(() => heading.current?.focus(), [x]);
  useEffect(() => {
    if (confirming) confirm.current?.focus();
  }, [confirming]);
  return (
    <div class="panel" role="region" aria-labelledby="ops-dlq-title">
      <h3 id="ops-dlq-title" tabIndex={-1} ref={heading}>Dead letter {x.id}: {x.type} for {x.consumer}</h3>
      <dl class="cs-facts">
        <div><dt>Event id</dt><dd><code>{x.eventId}</code></dd></div>
        <div><dt>Member</dt><dd>{x.message?.memberId ?? '—'}</dd></div>
        <div><dt>Attempts</dt><dd>{x.attempts}</dd></div>
        <div><dt>Failed at</dt><dd>{when(x.failedAt)}</dd></div>
      </dl>
      <h4>Error</h4>
      <p class="ops-dlq-error">{x.error}</p>
      <h4>Message</h4>
      <pre class="ops-dlq-message" tabIndex={0} role="region" aria-label={`Message of dead letter ${x.id}`}>{x.message ? JSON.stringify(x.message, null, 2) : x.raw ?? ''}</pre>
      {!x.message && <p class="help">The stored body is not a Tally event, so it cannot be replayed; <code>tally dlq purge</code> removes it.</p>}
      {props.message && <Notice kind={props.message.kind}>{props.message.text}</Notice>}
      {confirming ? (
        <div class="ops-confirm" role="group" aria-labelledby="ops-dlq-confirm">
          <p id="ops-dlq-confirm"><strong>Deliver dead letter {x.id} to {x.consumer} again?</strong> One attempt is made now; if the consumer fails again, the message stays parked with the new error, and can be replayed again.</p>
          <button type="button" ref={confirm} disabled={busy} aria-busy={busy} onClick={props.onConfirm}>{busy ? 'Replaying…' : `Confirm: replay ${x.id}`}</button>
          <button type="button" class="secondary" disabled={busy} onClick={props.onCancel}>Cancel</button>
        </div>
      ) : (
        <div class="ops-confirm">
          {x.message && <button type="button" onClick={props.onAsk}>Replay…</button>}
          <button type="button" class="secondary" onClick={props.onClose}>Close</button>
        </div>
      )}
    </div>
  );
}
