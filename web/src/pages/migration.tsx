import { Page } from '../page.tsx';

/** Migration: route state per country, compare and shadow results, back-sync lag, cut-over steps. `path` is the rest of the URL under this section, for its own sub-pages. */
export function Migration(_props: { path: string }) {
  return (
    <Page title="Migration">
      <p>Coming here: route state per country, compare and shadow results, back-sync lag, cut-over steps.</p>
    </Page>
  );
}
