import { Page } from '../page.tsx';

/** Customer service: search for a member by id, email or invoice number; the member page; credits and refunds. `path` is the rest of the URL under this section, for its own sub-pages. */
export function CustomerService(_props: { path: string }) {
  return (
    <Page title="Customer service">
      <p>Coming here: search for a member by id, email or invoice number; the member page; credits and refunds.</p>
    </Page>
  );
}
