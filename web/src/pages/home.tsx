import { Link, Page } from '../page.tsx';
import { sectionsFor } from '../nav.ts';
import { useSession } from '../session.tsx';

export function Home() {
  const { name, role } = useSession();
  const mine = sectionsFor(role);
  return (
    <Page title="Tally console">
      <p>Signed in with the key <strong>{name}</strong>, role <strong>{role}</strong>.</p>
      {mine.length
        ? <ul class="cards">{mine.map((s) => <li key={s.path}><Link to={s.path}>{s.label}</Link></li>)}</ul>
        : <p>This role has no console pages: the console is for customer service, finance and operations.</p>}
    </Page>
  );
}

export function NotFound(props: { path: string }) {
  return (
    <Page title="Page not found">
      <p>There is no console page at <code>{props.path}</code>. <Link to="/">Back to the start</Link>.</p>
    </Page>
  );
}

export function NotAllowed(props: { label: string }) {
  const { role } = useSession();
  return (
    <Page title={`${props.label}: not allowed`}>
      <p>The role <strong>{role}</strong> may not open {props.label}. Sign in with another key to use it.</p>
    </Page>
  );
}
