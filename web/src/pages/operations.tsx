import { Page } from '../page.tsx';

/** Operations: job runs, running a job, dead letters, API keys, the catalog. `path` is the rest of the URL under this section, for its own sub-pages. */
export function Operations(_props: { path: string }) {
  return (
    <Page title="Operations">
      <p>Coming here: job runs, running a job, dead letters, API keys, the catalog.</p>
    </Page>
  );
}
