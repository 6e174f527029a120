import { Page } from '../page.tsx';

/** Finance: revenue per business day, the journal balance check, CSV download, job runs. `path` is the rest of the URL under this section, for its own sub-pages. */
export function Finance(_props: { path: string }) {
  return (
    <Page title="Finance">
      <p>Coming here: revenue per business day, the journal balance check, CSV download, job runs.</p>
    </Page>
  );
}
