import { useEffect, useState } from 'preact/hooks';
import { problemMessage, type paths } from '../api/client.ts';
import { formatDateTime } from '../format.ts';
import { Notice, Page } from '../page.tsx';
import { href } from '../router.ts';
import { useSession } from '../session.tsx';
import './operations.css';

type MigrationView = paths['/v1/admin/migration']['get']['responses'][200]['content']['application/json'];
type Country = MigrationView['countries'][number];
type CompareRun = NonNullable<Country['lastCompare']>;

/** Times are the service's records, shown in UTC and saying so. */
const zone = 'UTC';
const when = (v: string | null | undefined) => (v ? formatDateTime(v, zone) : '—');

function seconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function CompareCell(props: { run: CompareRun | null; none: string }) {
  const r = props.run;
  if (!r) return <>{props.none}</>;
  const counts = Object.entries(r.counts).filter(([, v]) => typeof v === 'number' || typeof v === 'string');
  return (
    <>
      <span class="ops-state" data-state={r.status === 'clean' ? 'tally' : r.status === 'running' ? undefined : 'frozen'}>{r.status}</span>{' '}
      ({r.mode}, from {r.source}, run {r.id}), {when(r.finishedAt ?? r.startedAt)}
      {counts.length > 0 && <div class="ops-counts">{counts.map(([k, v]) => `${k}: ${String(v)}`).join(' · ')}</div>}
      {r.error && <div class="ops-counts">error: {r.error}</div>}
    </>
  );
}

/** Migration: per country the route, the last compare and shadow runs, back-sync lag and the cut-over runs with their steps (GET /v1/admin/migration). */
export function Migration(_props: { path: string }) {
  const { api } = useSession();
  const [state, setState] = useState<{ kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'ok'; data: MigrationView }>({ kind: 'loading' });
  useEffect(() => {
    let live = true;
    api.GET('/v1/admin/migration').then(({ data, error, response }) => {
      if (!live) return;
      if (data) setState({ kind: 'ok', data });
      else setState({ kind: 'error', message: problemMessage(error, `The API answered ${response.status}.`) });
    }, (err: unknown) => live && setState({ kind: 'error', message: problemMessage(err, 'The Tally API could not be reached.') }));
    return () => {
      live = false;
    };
  }, [api]);

  return (
    <Page title="Migration">
      {state.kind === 'loading' && <p role="status">Loading the migration state…</p>}
      {state.kind === 'error' && <Notice kind="error">The migration state: {state.message}</Notice>}
      {state.kind === 'ok' && (state.data.countries.length === 0
        ? <p>No country has a route, a compare run or a cut-over yet: every member is served by the legacy system.</p>
        : <MigrationTables countries={state.data.countries} />)}
    </Page>
  );
}

function MigrationTables(props: { countries: Country[] }) {
  const { countries } = props;
  return (
    <>
      <section class="ops-section" aria-labelledby="routes">
        <h2 id="routes">Routes per country</h2>
        <p class="help">
          <strong>legacy</strong>: the legacy system serves the country (a canary share of its members goes to Tally); <strong>frozen</strong>: writes wait
          during a cut-over; <strong>tally</strong>: Tally serves it. A country without a route is on the legacy. Times in {zone}.
        </p>
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Routes table">
          <table>
            <caption class="visually-hidden">Route, compare, shadow and back-sync per country</caption>
            <thead>
              <tr><th scope="col">Country</th><th scope="col">Route</th><th scope="col" class="num">Canary</th><th scope="col">Changed</th><th scope="col">Last compare</th><th scope="col">Last shadow run</th><th scope="col">Back-sync</th></tr>
            </thead>
            <tbody>
              {countries.map((c) => (
                <tr key={c.country}>
                  <th scope="row">{c.country}</th>
                  <td><span class="ops-state" data-state={c.route.state}>{c.route.state}</span></td>
                  <td class="num">{c.route.canaryPercent} %</td>
                  <td>{c.route.updatedAt ? <>{when(c.route.updatedAt)}{c.route.updatedBy ? ` by ${c.route.updatedBy}` : ''}</> : 'never routed'}</td>
                  <td><CompareCell run={c.lastCompare} none="none" /></td>
                  <td><CompareCell run={c.lastShadow} none="none recorded" /></td>
                  <td>
                    {c.backsync ? (
                      <>
                        {c.backsync.waiting} waiting{c.backsync.waiting ? `, oldest ${seconds(c.backsync.oldestWaitingSeconds)}` : ''}
                        {c.backsync.lastAppliedAt ? <div class="ops-counts">last applied {when(c.backsync.lastAppliedAt)}</div> : null}
                        {c.backsync.parked ? <div class="ops-counts"><a href={href('/operations#dead-letters')}>{c.backsync.parked} parked</a>: the drain of a cut-over waits for them</div> : null}
                      </>
                    ) : 'not served by Tally'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p class="help">
          Back-sync lag counts the events of a country's members Tally has not yet seen applied to the legacy. Events the legacy refused
          are parked: counted here and replayed under Operations, Dead letters (with RabbitMQ they are in the broker: <code>tally dlq list --transport amqp</code>).
        </p>
      </section>
      <section class="ops-section" aria-labelledby="cutovers">
        <h2 id="cutovers">Cut-over runs</h2>
        {countries.every((c) => c.cutovers.length === 0) && <p>No cut-over has run yet.</p>}
        {countries.filter((c) => c.cutovers.length > 0).map((c) => (
          <div key={c.country}>
            <h3>{c.country}</h3>
            {c.cutovers.map((run) => (
              <div key={run.runId} class="table-wrap" tabIndex={0} role="region" aria-label={`Cut-over run ${run.runId} of ${c.country}`}>
                <p>
                  <strong>Run {run.runId}</strong>: {run.status}, {run.cohortPercent} % of the members, from {run.from.state ?? 'no route'}
                  {run.from.canaryPercent ? ` (${run.from.canaryPercent} % canary)` : ''}; started {when(run.startedAt)}, finished {when(run.finishedAt)}
                  {run.freezeSeconds !== null ? `; writes frozen ${run.freezeSeconds} s` : ''}.
                </p>
                <table>
                  <caption class="visually-hidden">Steps of cut-over run {run.runId} of {c.country}</caption>
                  <thead><tr><th scope="col">Step</th><th scope="col">Started</th><th scope="col">Finished</th><th scope="col">Detail</th></tr></thead>
                  <tbody>
                    {run.steps.length === 0 && <tr><td colSpan={4}>No step recorded.</td></tr>}
                    {run.steps.map((s) => (
                      <tr key={s.step}>
                        <th scope="row">{s.step}</th>
                        <td>{when(s.startedAt)}</td>
                        <td>{s.finishedAt ? when(s.finishedAt) : 'not finished'}</td>
                        <td><code>{s.detail === null || s.detail === undefined ? '—' : JSON.stringify(s.detail)}</code></td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ))}
          </div>
        ))}
      </section>
    </>
  );
}
