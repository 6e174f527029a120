import { useCallback, useEffect, useState } from 'preact/hooks';
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

/** Operations: job runs, running a job, API keys, the catalog in force, and where dead letters are handled. */
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
      <section class="ops-section" aria-labelledby="dead-letters">
        <h2 id="dead-letters">Dead letters</h2>
        <p>
          Dead letters are held by the messaging transport (the database with the in-process bus, RabbitMQ's queues with AMQP), and
          replaying one hands it to its consumer again, which needs the messaging runtime and its consumers. The admin API does not
          reach them, so this console neither lists nor replays dead letters; they are handled on the command line:
        </p>
        <ul>
          <li><code>tally dlq list [--limit N]</code> lists them,</li>
          <li><code>tally dlq show ID</code> shows one with its message and error,</li>
          <li><code>tally dlq replay ID</code> (or <code>--all</code>) delivers them again.</li>
        </ul>
      </section>
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
