import { useEffect, useState } from 'preact/hooks';
import type { components } from '../api/client.ts';
import { problemMessage } from '../api/client.ts';
import { Link, Notice, Page } from '../page.tsx';
import { useSession } from '../session.tsx';
import { MemberPage } from './cs-member.tsx';

type Member = components['schemas']['Member'];
type By = 'email' | 'member' | 'invoice';

const byLabel: Record<By, { label: string; help: string; placeholder: string }> = {
  email: { label: 'Email', help: 'The member\'s email address, exactly as given at sign-up.', placeholder: 'name@example.com' },
  member: { label: 'Member id', help: 'The member id, for example m-1042.', placeholder: 'm-1042' },
  invoice: { label: 'Invoice number', help: 'The member id, # and the invoice\'s number, for example m-1042#3.', placeholder: 'm-1042#3' },
};

/** Customer service: search for a member by id, email or invoice number; the member page; credits and refunds. `path` is the rest of the URL under this section. */
export function CustomerService(props: { path: string }) {
  const m = /^\/members\/([^/]+)\/?$/.exec(props.path);
  if (m) return <MemberPage id={decodeURIComponent(m[1]!)} />;
  if (props.path !== '/') {
    return <Page title="Page not found"><p>There is no customer-service page at <code>{props.path}</code>. <Link to="/cs">Search for a member</Link>.</p></Page>;
  }
  return <Search />;
}

/** The last search of this tab: back on the search page from a member, it is there again. */
let lastSearch: { by: By; text: string } | null = null;

/** A search named in the URL's query (?email=…, a link someone shared), else the tab's last one. */
function initialQuery(): { by: By; text: string } {
  const q = new URLSearchParams(location.search);
  for (const by of ['email', 'member', 'invoice'] as const) {
    const v = q.get(by);
    if (v) return { by, text: v };
  }
  return lastSearch ?? { by: 'email', text: '' };
}

function Search() {
  const { api } = useSession();
  const [query, setQuery] = useState(initialQuery);
  const [state, setState] = useState<{ kind: 'idle' } | { kind: 'searching' } | { kind: 'found'; members: Member[]; for: string } | { kind: 'error'; message: string }>({ kind: 'idle' });
  const [invalid, setInvalid] = useState<string | null>(null);

  async function run(by: By, raw: string) {
    const text = raw.trim();
    if (!text) return setInvalid(`Enter ${byLabel[by].label.toLowerCase()} to search for.`);
    if (by === 'invoice' && !/^[A-Za-z0-9_.:-]{1,64}#[0-9]{1,7}$/.test(text)) return setInvalid('An invoice number is the member id, # and the number, for example m-1042#3.');
    setInvalid(null);
    lastSearch = { by, text };
    history.replaceState(null, '', `${location.pathname}?${new URLSearchParams({ [by]: text }).toString()}`);
    setState({ kind: 'searching' });
    try {
      const { data, error } = await api.GET('/v1/cs/search', { params: { query: { [by]: text } } });
      if (data) setState({ kind: 'found', members: data.members, for: `${byLabel[by].label.toLowerCase()} ${text}` });
      else setState({ kind: 'error', message: problemMessage(error, 'The search failed.') });
    } catch (err) {
      setState({ kind: 'error', message: problemMessage(err, 'The Tally API could not be reached.') });
    }
  }

  // A search named in the URL (back from a member page) runs again once.
  useEffect(() => {
    if (query.text) void run(query.by, query.text);
  }, []);

  const spec = byLabel[query.by];
  return (
    <Page title="Customer service">
      <form class="panel cs-search" role="search" aria-label="Find a member" onSubmit={(e) => { e.preventDefault(); void run(query.by, query.text); }}>
        <div class="cs-search-fields">
          <div>
            <label for="cs-search-by">Search by</label>
            <select id="cs-search-by" value={query.by} onChange={(e) => setQuery({ ...query, by: e.currentTarget.value as By })}>
              <option value="email">Email</option>
              <option value="member">Member id</option>
              <option value="invoice">Invoice number</option>
            </select>
          </div>
          <div class="cs-grow">
            <label for="cs-search-text">{spec.label}</label>
            <input id="cs-search-text" type="text" inputMode={query.by === 'email' ? 'email' : 'text'} value={query.text} placeholder={spec.placeholder}
              autoComplete="off" spellcheck={false} aria-describedby="cs-search-help" aria-invalid={invalid ? 'true' : undefined}
              onInput={(e) => setQuery({ ...query, text: e.currentTarget.value })} />
          </div>
          <div class="cs-search-go"><button type="submit" disabled={state.kind === 'searching'}>Search</button></div>
        </div>
        <p class="help" id="cs-search-help">{spec.help}</p>
        {invalid && <Notice kind="error">{invalid}</Notice>}
      </form>
      <section aria-label="Search results" class="cs-results">
        {state.kind === 'searching' && <p role="status">Searching…</p>}
        {state.kind === 'error' && <Notice kind="error">{state.message}</Notice>}
        {state.kind === 'found' && (state.members.length === 0
          ? <p role="status">No member found for {state.for}.</p>
          : (
            <>
              <h2><span role="status">{state.members.length === 1 ? '1 member' : `${state.members.length} members`} found for {state.for}</span></h2>
              <div class="table-wrap" tabIndex={0} role="region" aria-label="Members found">
                <table>
                  <thead><tr><th scope="col">Member</th><th scope="col">Email</th><th scope="col">Status</th><th scope="col">Country</th><th scope="col">Plan</th></tr></thead>
                  <tbody>
                    {state.members.map((m) => (
                      <tr key={m.id}>
                        <td><Link to={`/cs/members/${encodeURIComponent(m.id)}`}>{m.id}</Link></td>
                        <td>{m.email ?? '—'}</td>
                        <td><span class="cs-status" data-status={m.status}>{m.status.replace('_', ' ')}</span></td>
                        <td>{m.country}</td>
                        <td>{m.plan ?? '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          ))}
      </section>
    </Page>
  );
}
