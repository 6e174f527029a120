import type { FunctionComponent } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { apiClient, problemMessage, type Role } from './api/client.ts';
import { sectionOf, sectionsFor } from './nav.ts';
import { Link } from './page.tsx';
import { CustomerService } from './pages/cs.tsx';
import { Finance } from './pages/finance.tsx';
import { Home, NotAllowed, NotFound } from './pages/home.tsx';
import { Migration } from './pages/migration.tsx';
import { Operations } from './pages/operations.tsx';
import { SignIn } from './pages/sign-in.tsx';
import { navigate, usePath } from './router.ts';
import { forgetKey, SessionContext, storedKey, storeKey, useSession, type Session } from './session.tsx';

/** Each section's page, by its path in nav.ts; it routes the rest of the path itself. */
const sectionPages: Record<string, FunctionComponent<{ path: string }>> = {
  '/cs': CustomerService,
  '/finance': Finance,
  '/operations': Operations,
  '/migration': Migration,
};

type State = { kind: 'checking' } | { kind: 'signed-out'; notice: string | null } | { kind: 'signed-in'; key: string; name: string; role: Role; reportingTimeZone: string };

/** Ask the API whose key this is: the key's name and role, or why it cannot be used. */
async function whoami(key: string): Promise<{ name: string; role: Role; reportingTimeZone: string } | { failure: string }> {
  try {
    const { data, error, response } = await apiClient(key).GET('/v1/whoami');
    if (data) return data;
    if (response.status === 401) return { failure: 'That API key is not valid: it is mistyped, revoked or from another Tally.' };
    return { failure: problemMessage(error, `The API answered ${response.status}.`) };
  } catch (err) {
    return { failure: problemMessage(err, 'The Tally API could not be reached.') };
  }
}

export function App() {
  const path = usePath();
  const [state, setState] = useState<State>(() => (storedKey() ? { kind: 'checking' } : { kind: 'signed-out', notice: null }));

  const signOut = useCallback((notice: string | null = null) => {
    forgetKey();
    setState({ kind: 'signed-out', notice });
    navigate('/', { replace: true });
  }, []);

  // A key kept from earlier in this tab is checked again: it may have been revoked since.
  useEffect(() => {
    const key = storedKey();
    if (!key) return;
    void whoami(key).then((who) => {
      if ('failure' in who) signOut('Your saved key no longer works; sign in again.');
      else setState({ kind: 'signed-in', key, ...who });
    });
  }, [signOut]);

  const signIn = useCallback(async (key: string) => {
    const who = await whoami(key);
    if ('failure' in who) return who.failure;
    storeKey(key);
    setState({ kind: 'signed-in', key, ...who });
    if (path === '/sign-in') navigate('/', { replace: true });
    return null;
  }, [path]);

  const session = useMemo<Session | null>(() => state.kind !== 'signed-in' ? null : {
    name: state.name,
    role: state.role,
    reportingTimeZone: state.reportingTimeZone,
    api: apiClient(state.key, () => signOut('The API no longer accepts your key; sign in again.')),
    signOut: () => signOut(),
  }, [state, signOut]);

  if (state.kind === 'checking') return <main id="main" class="centered"><p role="status">Checking your key…</p></main>;
  if (!session) {
    return (
      <>
        <header class="top"><span class="brand">Tally console</span></header>
        <main id="main" class="centered"><SignIn onSignIn={signIn} notice={state.kind === 'signed-out' ? state.notice : null} /></main>
      </>
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Layout path={path} />
    </SessionContext.Provider>
  );
}

function Layout(props: { path: string }) {
  const { path } = props;
  const session = useSession();
  const mine = sectionsFor(session.role);
  const section = sectionOf(path);
  let content;
  if (path === '/' || path === '/sign-in') content = <Home />;
  else if (!section) content = <NotFound path={path} />;
  else if (!section.roles.includes(session.role)) content = <NotAllowed label={section.label} />;
  else {
    const SectionPage = sectionPages[section.path]!;
    content = <SectionPage path={path.slice(section.path.length) || '/'} />;
  }
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <Link to="/" class="brand">Tally console</Link>
        <div class="who">
          <span>Signed in as <strong>{session.name}</strong></span>
          <span class="role" data-role={session.role}>{session.role}</span>
          <button type="button" class="secondary" onClick={session.signOut}>Sign out</button>
        </div>
      </header>
      {mine.length > 0 && (
        <nav aria-label="Sections" class="sections">
          <ul>
            {mine.map((s) => <li key={s.path}><Link to={s.path} current={section?.path === s.path}>{s.label}</Link></li>)}
          </ul>
        </nav>
      )}
      <main id="main" tabIndex={-1}>{content}</main>
    </>
  );
}

