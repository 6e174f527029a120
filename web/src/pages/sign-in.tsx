import { useState } from 'preact/hooks';
import { Notice, Page } from '../page.tsx';

/** Sign-in: paste an API key; the API says whose key it is (GET /v1/whoami). */
export function SignIn(props: { onSignIn: (key: string) => Promise<string | null>; notice?: string | null }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const k = key.trim();
    if (!k) return setError('Paste an API key to sign in.');
    setBusy(true);
    setError(null);
    const failure = await props.onSignIn(k);
    setBusy(false);
    if (failure) setError(failure);
  };
  return (
    <div class="sign-in">
      <Page title="Sign in">
        {props.notice && !error && <Notice kind="info">{props.notice}</Notice>}
        <form onSubmit={submit} noValidate>
          <label for="api-key">API key</label>
          <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck={false} value={key}
            aria-describedby="api-key-help" aria-invalid={error ? true : undefined}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
          <p id="api-key-help" class="help">
            A key from <code>tally keys create --name NAME --role ROLE</code>. It is kept in this tab only, until you sign out or close it.
          </p>
          {error && <Notice kind="error">{error}</Notice>}
          <button type="submit" disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
        </form>
      </Page>
    </div>
  );
}
