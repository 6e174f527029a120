import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { consoleBundleGzipBytes, consoleHarness, skipBrowserTests, viewports, type ConsoleHarness } from '../support/browser.ts';

describe('operator console', { skip: skipBrowserTests }, () => {
  let h: ConsoleHarness;
  before(async () => {
    h = await consoleHarness();
  });
  after(() => h?.close());

  test('a cs-agent signs in and sees Customer service, not Operations', async () => {
    const { page, errors } = await h.newPage();
    await h.open(page);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await h.screenshot(page, 'sign-in');
    await h.signIn(page, 'cs-agent');
    const nav = page.getByRole('navigation', { name: 'Sections' });
    assert.equal(await nav.getByRole('link', { name: 'Customer service' }).count(), 1);
    assert.equal(await nav.getByRole('link', { name: 'Operations' }).count(), 0);
    assert.equal(await nav.getByRole('link', { name: 'Finance' }).count(), 0);
    assert.match(await page.getByRole('banner').innerText(), /cs-agent/);
    await nav.getByRole('link', { name: 'Customer service' }).click();
    await page.getByRole('heading', { level: 1, name: 'Customer service' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/console/cs');
    assert.equal(await nav.getByRole('link', { name: 'Customer service' }).getAttribute('aria-current'), 'page');
    await h.screenshot(page, 'home-cs-agent');
    assert.deepEqual(errors, []);
  });

  test('a finance key sees Finance and no customer-service actions', async () => {
    const { page, errors } = await h.newPage();
    await h.signIn(page, 'finance');
    const nav = page.getByRole('navigation', { name: 'Sections' });
    assert.equal(await nav.getByRole('link', { name: 'Finance' }).count(), 1);
    assert.equal(await nav.getByRole('link', { name: 'Customer service' }).count(), 0);
    // A deep link into customer service says it is not allowed and offers nothing to do there.
    await h.open(page, '/cs');
    await page.getByRole('heading', { level: 1, name: 'Customer service: not allowed' }).waitFor();
    assert.equal(await page.getByRole('main').getByRole('button').count(), 0);
    assert.equal(await page.getByRole('main').getByRole('textbox').count(), 0);
    assert.deepEqual(errors, []);
  });

  test('a deep link survives a reload, and the key stays for the tab', async () => {
    const { page, errors } = await h.newPage();
    await h.signIn(page, 'admin', '/operations');
    await page.getByRole('heading', { level: 1, name: 'Operations' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Operations' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/console/operations');
    const nav = page.getByRole('navigation', { name: 'Sections' });
    for (const name of ['Operations', 'Migration']) assert.equal(await nav.getByRole('link', { name }).count(), 1, name);
    // An admin key is not a customer-service or finance key: the API would refuse it those routes.
    for (const name of ['Customer service', 'Finance']) assert.equal(await nav.getByRole('link', { name }).count(), 0, name);
    await h.open(page, '/no-such-page');
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    assert.deepEqual(errors, []);
  });

  test('a bad key is refused with a clear error', async () => {
    const { page, errors } = await h.newPage();
    await h.open(page);
    await page.getByLabel('API key').fill('tly_000000000000_notarealkeynotarealkeynotarealkeynotarealkey0');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /not valid/);
    assert.equal(await page.getByLabel('API key').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await h.screenshot(page, 'sign-in-bad-key');
    // The browser logs the 401 of the refused key as a failed load; nothing else may be logged.
    assert.deepEqual(errors.filter((e) => !/status of 401/.test(e)), []);
  });

  test('sign-out forgets the key and returns to sign-in', async () => {
    const { page, errors } = await h.newPage();
    await h.signIn(page, 'cs-agent', '/cs');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.deepEqual(errors, []);
  });

  test('usable with the keyboard alone', async () => {
    const { page, errors } = await h.newPage();
    await h.open(page);
    await page.getByLabel('API key').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'api-key');
    await page.keyboard.type(h.keys.finance);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    // A new page puts the focus on its heading (a screen reader announces it); Tab goes on into the page.
    const focused = () => page.evaluate(() => `${document.activeElement?.tagName} ${document.activeElement?.textContent?.trim()}`);
    assert.equal(await focused(), 'H1 Tally console');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'A Finance');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Finance' }).waitFor();
    assert.equal(await focused(), 'H1 Finance');
    // Back from the heading: the section's nav entry, sign-out, the product name, the skip link.
    const back: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Shift+Tab');
      back.push(await focused());
    }
    assert.deepEqual(back, ['A Finance', 'BUTTON Sign out', 'A Tally console', 'A Skip to content']);
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
    assert.deepEqual(errors, []);
  });

  test('no serious or critical accessibility violations, at 1280 px and on a phone', async () => {
    for (const [name, viewport] of Object.entries(viewports)) {
      const { page, errors } = await h.newPage({ viewport });
      await h.open(page);
      await page.getByLabel('API key').waitFor();
      assert.deepEqual(await h.axe(page), [], `sign-in, ${name}`);
      await h.signIn(page, 'admin');
      assert.deepEqual(await h.axe(page), [], `home, ${name}`);
      // Nothing wider than the screen.
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), `no sideways scrolling, ${name}`);
      if (name === 'phone') await h.screenshot(page, 'home-admin-phone');
      else await h.screenshot(page, 'home-admin');
      assert.deepEqual(errors, []);
    }
  });

  test('the console JavaScript is within its budget of 300 KB gzipped', () => {
    const { files, total } = consoleBundleGzipBytes();
    assert.ok(Object.keys(files).length > 0, 'no JavaScript in web/dist/assets');
    console.log(`console JavaScript: ${(total / 1024).toFixed(1)} KB gzipped (${Object.entries(files).map(([f, b]) => `${f} ${(b / 1024).toFixed(1)} KB`).join(', ')})`);
    assert.ok(total <= 300 * 1024, `${total} bytes gzipped`);
  });
});
