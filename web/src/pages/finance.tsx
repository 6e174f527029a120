import { useEffect, useMemo, useState } from 'preact/hooks';
import { problemMessage, type paths } from '../api/client.ts';
import { FinanceChart, type ChartSeries } from '../components/finance-chart.tsx';
import { currenciesOf, defaultRange, figures, isIsoDate, seriesOf, totalsByCurrency, type RevenueDay } from '../components/finance-revenue.ts';
import { formatDateTime, formatMoney } from '../format.ts';
import { Notice, Page } from '../page.tsx';
import { href } from '../router.ts';
import { useSession } from '../session.tsx';


type JobRun = paths['/v1/finance/job-runs']['get']['responses'][200]['content']['application/json']['runs'][number];

type Load<T> = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'empty'; message: string } | { kind: 'ok'; data: T };

/** The range in the URL (?from&to), if it has one. */
function rangeInUrl(): Range | null {
  const q = new URLSearchParams(location.search);
  const from = q.get('from');
  const to = q.get('to');
  return isIsoDate(from) && isIsoDate(to) ? { from, to } : null;
}

type Range = { from: string; to: string };

/**
 * Finance: revenue per business day (chart and table), the journal balance check, CSV download, job runs.
 * Without a range in the URL the page shows the 30 days up to the last day closed by report-revenue
 * (from the job runs), and asks for no revenue while no day has been closed at all.
 */
export function Finance(_props: { path: string }) {
  const { api, reportingTimeZone } = useSession();
  const [runs, setRuns] = useState<Load<JobRun[]>>({ kind: 'loading' });
  const [chosen, setChosen] = useState<Range | null>(rangeInUrl);

  useEffect(() => {
    let live = true;
    api.GET('/v1/finance/job-runs', { params: { query: { limit: 500 } } }).then(({ data, error, response }) => {
      if (!live) return;
      if (data) setRuns({ kind: 'ok', data: data.runs });
      else setRuns({ kind: 'error', message: problemMessage(error, `The API answered ${response.status}.`) });
    }, (err: unknown) => live && setRuns({ kind: 'error', message: problemMessage(err, 'The Tally API could not be reached.') }));
    return () => {
      live = false;
    };
  }, [api]);

  const lastClosed = runs.kind === 'ok'
    ? runs.data.filter((r) => r.job === 'report-revenue' && r.status.startsWith('finished')).map((r) => r.businessDate).sort().at(-1) ?? null
    : undefined;
  // The range shown: the one chosen (or linked), else 30 days up to the last closed day once the runs are known.
  const range: Range | null = chosen ?? (lastClosed ? defaultRange(new Date(Date.parse(`${lastClosed}T00:00:00Z`) + 86_400_000)) : null);

  return (
    <Page title="Finance">
      <p>
        Revenue per <strong>business day in {reportingTimeZone}</strong> (the reporting time zone, set on the server with <code>TALLY_REPORTING_TZ</code>),
        by country and currency. Amounts are in each currency with its own decimals; currencies are never added together.
        Only closed days are shown: a day is closed by the <code>report-revenue</code> job once it is over.
      </p>
      <RangeForm key={range ? `${range.from}/${range.to}` : 'none'} range={range ?? defaultRange()} onChange={(r) => {
        history.replaceState(null, '', `${href('/finance')}?from=${r.from}&to=${r.to}`);
        setChosen(r);
      }} />
      {range
        ? <Revenue from={range.from} to={range.to} />
        : lastClosed === null && <Notice kind="info">No business day has been closed yet: revenue shows here once report-revenue has closed a day.</Notice>}
      <JobRuns state={runs} />
    </Page>
  );
}

function RangeForm(props: { range: { from: string; to: string }; onChange(r: { from: string; to: string }): void }) {
  const [from, setFrom] = useState(props.range.from);
  const [to, setTo] = useState(props.range.to);
  const [error, setError] = useState<string | null>(null);
  return (
    <form class="finance-range panel" aria-label="Date range" onSubmit={(e) => {
      e.preventDefault();
      if (!isIsoDate(from) || !isIsoDate(to)) return setError('Enter both dates.');
      if (to < from) return setError(`The last day (${to}) is before the first (${from}).`);
      setError(null);
      props.onChange({ from, to });
    }}>
      <div>
        <label for="finance-from">First business day</label>
        <input id="finance-from" type="date" value={from} required onInput={(e) => setFrom(e.currentTarget.value)} aria-invalid={error ? 'true' : undefined} />
      </div>
      <div>
        <label for="finance-to">Last business day</label>
        <input id="finance-to" type="date" value={to} required onInput={(e) => setTo(e.currentTarget.value)} aria-invalid={error ? 'true' : undefined} />
      </div>
      <button type="submit">Show revenue</button>
      {error && <Notice kind="error">{error}</Notice>}
    </form>
  );
}

function Revenue(props: { from: string; to: string }) {
  const { from, to } = props;
  const { api } = useSession();
  const [state, setState] = useState<Load<RevenueDay[]>>({ kind: 'loading' });

  useEffect(() => {
    let live = true;
    setState({ kind: 'loading' });
    api.GET('/v1/finance/revenue', { params: { query: { from, to } } }).then(({ data, error, response }) => {
      if (!live) return;
      if (data) setState({ kind: 'ok', data: data.days as RevenueDay[] });
      else if (response.status === 404) setState({ kind: 'empty', message: `No closed business day between ${from} and ${to}.` });
      else setState({ kind: 'error', message: problemMessage(error, `The API answered ${response.status}.`) });
    }, (err: unknown) => live && setState({ kind: 'error', message: problemMessage(err, 'The Tally API could not be reached.') }));
    return () => {
      live = false;
    };
  }, [api, from, to]);

  return (
    <>
      <section class="finance-section" aria-labelledby="finance-revenue">
        <h2 id="finance-revenue">Revenue, {from} to {to}</h2>
        {state.kind === 'loading' && <p role="status">Loading revenue…</p>}
        {state.kind === 'error' && <Notice kind="error">{state.message}</Notice>}
        {state.kind === 'empty' && <Notice kind="info">{state.message}</Notice>}
        {state.kind === 'ok' && <RevenueView days={state.data} from={from} to={to} />}
      </section>
      {state.kind === 'ok' && <BalanceCheck days={state.data} />}
    </>
  );
}

const chartFigures: { figure: 'billed' | 'collected' | 'refunded'; label: string; color: string; dash?: number[]; width?: number }[] = [
  { figure: 'billed', label: 'Billed', color: '#0b57a4', width: 5 },
  { figure: 'collected', label: 'Collected', color: '#b35900', dash: [6, 4] },
  { figure: 'refunded', label: 'Refunded', color: '#a4161a', dash: [2, 3] },
];

function RevenueView(props: { days: RevenueDay[]; from: string; to: string }) {
  // Business days are the server's reporting time zone's: say which.
  const { reportingTimeZone: reportingZone } = useSession();
  const { days, from, to } = props;
  const currencies = useMemo(() => currenciesOf(days), [days]);
  const [chosen, setChosen] = useState<string | null>(null);
  const currency = chosen && currencies.includes(chosen) ? chosen : currencies[0];
  const dates = useMemo(() => days.map((d) => d.businessDate), [days]);
  const series = useMemo<ChartSeries[]>(() => currency
    ? chartFigures.map((f) => ({ label: f.label, color: f.color, dash: f.dash, width: f.width, values: seriesOf(days, currency, f.figure) }))
    : [], [days, currency]);
  const totals = useMemo(() => totalsByCurrency(days), [days]);

  return (
    <>
      <div class="finance-actions">
        {currencies.length > 1 && (
          <div>
            <label for="finance-currency">Currency of the chart</label>
            <select id="finance-currency" value={currency} onChange={(e) => setChosen(e.currentTarget.value)}>
              {currencies.map((c) => <option key={c} value={c}>{c}</option>)}
            </select>
          </div>
        )}
        <CsvDownload from={from} to={to} />
      </div>
      {currency && (
        <FinanceChart
          days={dates}
          currency={currency}
          series={series}
          description={`Line chart: billed, collected and refunded in ${currency} per business day in ${reportingZone}, ${from} to ${to}, summed over countries. The table "Revenue per business day" below has every figure.`}
        />
      )}
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="finance-revenue-caption">
        <table class="finance-revenue-table">
          <caption id="finance-revenue-caption">Revenue per business day (in {reportingZone}), country and currency</caption>
          <thead>
            <tr>
              <th scope="col">Business day</th>
              <th scope="col">Country</th>
              <th scope="col">Currency</th>
              {figures.map(([f, label]) => <th key={f} scope="col" class="num">{label}</th>)}
            </tr>
          </thead>
          <tbody>
            {days.flatMap((d) => d.lines.map((l) => (
              <tr key={`${d.businessDate}/${l.country}/${l.currency}`}>
                <td>{d.businessDate}</td>
                <td>{l.country}</td>
                <td>{l.currency}</td>
                {figures.map(([f]) => <td key={f} class="num">{formatMoney(l[f], l.currency)}</td>)}
              </tr>
            )))}
          </tbody>
          <tfoot>
            {[...totals].map(([c, t]) => (
              <tr key={c} data-currency={c}>
                <th scope="row" colSpan={2}>Total {c}</th>
                <td>{c}</td>
                {figures.map(([f]) => <td key={f} class="num">{formatMoney(t[f], c)}</td>)}
              </tr>
            ))}
          </tfoot>
        </table>
      </div>
      <p class="help">{days.length} closed business {days.length === 1 ? 'day' : 'days'}; totals are per currency.</p>
    </>
  );
}

/** The API's own CSV for the range (integer minor units, as the API writes it), saved through a Blob link. */
function CsvDownload(props: { from: string; to: string }) {
  const { from, to } = props;
  const { api } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const download = async () => {
    setBusy(true);
    setError(null);
    try {
      const { data, error: problem, response } = await api.GET('/v1/finance/revenue', { params: { query: { from, to, format: 'csv' } }, parseAs: 'text' });
      if (typeof data !== 'string') return setError(problemMessage(problem, `The API answered ${response.status}.`));
      const url = URL.createObjectURL(new Blob([data], { type: 'text/csv' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `tally-revenue-${from}-to-${to}.csv`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setError(problemMessage(err, 'The Tally API could not be reached.'));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <button type="button" class="secondary" disabled={busy} onClick={() => void download()}>
        {busy ? 'Preparing CSV…' : 'Download CSV'}
      </button>
      <span class="help"> amounts in minor units, as the API reports them</span>
      {error && <Notice kind="error">{error}</Notice>}
    </div>
  );
}

function BalanceCheck(props: { days: RevenueDay[] }) {
  // Business days are the server's reporting time zone's: say which.
  const { reportingTimeZone: reportingZone } = useSession();
  const { days } = props;
  const unbalanced = days.filter((d) => !d.balanced);
  return (
    <section class="finance-section" aria-labelledby="finance-balance">
      <h2 id="finance-balance">Journal balance check</h2>
      {unbalanced.length
        ? <Notice kind="error">{unbalanced.length} of {days.length} days do not balance: {unbalanced.map((d) => d.businessDate).join(', ')}.</Notice>
        : <p class="finance-ok">All {days.length} {days.length === 1 ? 'day balances' : 'days balance'}: debits equal credits in every currency.</p>}
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="finance-balance-caption">
        <table>
          <caption id="finance-balance-caption">Journal debits and credits per business day (in {reportingZone}) and currency</caption>
          <thead>
            <tr>
              <th scope="col">Business day</th>
              <th scope="col">Currency</th>
              <th scope="col" class="num">Debits</th>
              <th scope="col" class="num">Credits</th>
              <th scope="col">Check</th>
            </tr>
          </thead>
          <tbody>
            {days.flatMap((d) => d.balances.map((b) => {
              const gap = b.debit - b.credit;
              return (
                <tr key={`${d.businessDate}/${b.currency}`}>
                  <td>{d.businessDate}</td>
                  <td>{b.currency}</td>
                  <td class="num">{formatMoney(b.debit, b.currency)}</td>
                  <td class="num">{formatMoney(b.credit, b.currency)}</td>
                  <td>{b.balanced
                    ? <span class="finance-ok">Balanced</span>
                    : <span class="finance-bad">Not balanced: {gap > 0 ? 'debits' : 'credits'} exceed {gap > 0 ? 'credits' : 'debits'} by {formatMoney(Math.abs(gap), b.currency)}</span>}</td>
                </tr>
              );
            }))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function JobRuns(props: { state: Load<JobRun[]> }) {
  const { state } = props;
  return (
    <section class="finance-section" aria-labelledby="finance-jobs">
      <h2 id="finance-jobs">Job runs</h2>
      {state.kind === 'loading' && <p role="status">Loading job runs…</p>}
      {state.kind === 'error' && <Notice kind="error">{state.message}</Notice>}
      {state.kind === 'ok' && !state.data.length && <p>No job has run yet.</p>}
      {state.kind === 'ok' && state.data.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="finance-jobs-caption">
          <table class="finance-jobs-table">
            <caption id="finance-jobs-caption">The latest {Math.min(state.data.length, 50)} job runs, newest first (times in UTC)</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Business day</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
                <th scope="col">Counts</th>
                <th scope="col">Errors</th>
              </tr>
            </thead>
            <tbody>
              {state.data.slice(0, 50).map((r) => (
                <tr key={r.id}>
                  <td>{r.job}</td>
                  <td>{r.businessDate}</td>
                  <td class={r.status === 'failed' ? 'finance-bad' : undefined}>{r.status}</td>
                  <td>{formatDateTime(r.startedAt, 'UTC')}</td>
                  <td>{r.finishedAt ? formatDateTime(r.finishedAt, 'UTC') : 'running'}</td>
                  <td>{Object.entries(r.counts).map(([k, v]) => `${k} ${v}`).join(', ') || '–'}</td>
                  <td>{r.errors.length
                    ? <ul class="finance-errors">{r.errors.map((e, i) => <li key={i}><code>{e.item}</code>: {e.message}</li>)}</ul>
                    : 'none'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
