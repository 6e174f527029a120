import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Temporal } from 'temporal-polyfill';
import { runArchive } from '../../src/archive/archive-run.ts';
import { cutoffs, dataClasses, defaultPolicy } from '../../src/archive/policy.ts';
import { billedForYears } from '../support/archive-history.ts';
import { consoleHarness, skipBrowserTests, type ConsoleHarness } from '../support/browser.ts';
import { openTestServices } from '../support/engine.ts';

/**
 * The member page over a real archive: two years of monthly billing archived with the default
 * policy on 2026-11-30 (invoices issued before 2024-11-30 leave the hot store), then read by an
 * agent with and without "Include archived history".
 */
describe('console: a member\'s archived history', { skip: skipBrowserTests }, () => {
  let h: ConsoleHarness;

  before(async () => {
    const svc = await openTestServices();
    await billedForYears(svc, 4);
    const purgeOnly = new Set(dataClasses.filter((c) => defaultPolicy[c].purge));
    const run = await runArchive({ ledger: svc.store.db, member: svc.memberStore.db }, {
      cutoffs: cutoffs(defaultPolicy, Temporal.Instant.from('2026-11-30T00:00:00Z')), purgeOnly, root: mkdtempSync(join(tmpdir(), 'tally-archive-')), runId: 1,
    });
    assert.deepEqual(run.errors, []);
    h = await consoleHarness({ today: '2026-11-30', svc });
  });
  after(() => h?.close());

  test('archived invoices and refunds are marked as such, come back with the toggle, and offer no refund', async () => {
    const { page, errors } = await h.newPage();
    await h.signIn(page, 'cs-agent', '/cs/members/b00000000');
    const invoices = page.getByRole('table', { name: 'Invoices' });
    await invoices.waitFor();
    // Hot only: b00000000 paid monthly from 2023-01-15 to 2025-03-15, the 4 invoices issued from 2024-12-15 on are hot.
    assert.equal(await invoices.locator('tbody tr').filter({ hasText: /^b00000000#\d+/ }).count(), 4);
    assert.equal(await page.locator('.cs-archived').count(), 0);

    await page.getByLabel('Include archived history').check();
    await invoices.locator('.cs-archived').first().waitFor();
    // All 27, the 23 issued before 2024-11-30 each marked archived; the first one's refund of 2023 with them.
    assert.equal(await invoices.locator('tbody tr').filter({ hasText: /^b00000000#\d+/ }).count(), 27);
    assert.equal(await invoices.locator('tbody tr.cs-row-archived').count(), 23);
    assert.match(await invoices.locator('tbody tr.cs-row-archived').first().innerText(), /^b00000000#1 archived/);
    // Attempts read by day: the one of 2023-09-15 (#9) before the one of 2023-10-15 (#10).
    const attempts = await page.getByRole('table', { name: 'Payment attempts' }).locator('tbody tr th, tbody tr td:first-child').allInnerTexts();
    assert.deepEqual(attempts.slice(7, 11), ['b00000000#8', 'b00000000#9', 'b00000000#10', 'b00000000#11']);
    const refunds = page.getByRole('table', { name: 'Refunds' });
    assert.match(await refunds.innerText(), /archived/);
    // An archived invoice is history: no refund is offered on it, a hot paid one keeps its button.
    assert.equal(await page.getByRole('button', { name: 'Refund invoice b00000000#1' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Refund invoice b00000000#27' }).count(), 1);
    await h.screenshot(page, 'cs-member-archived');
    assert.deepEqual(errors, []);
  });
});
