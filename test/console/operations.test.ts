import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { messagingConfigFromEnv } from '../../src/messaging/index.ts';
import { encodeMessage } from '../../src/messaging/message.ts';
import { setRoute } from '../../src/proxy/route-table.ts';
import { parkDeadLetter } from '../../src/store/deliveries.ts';
import { consoleHarness, skipBrowserTests, viewports, type ConsoleHarness } from '../support/browser.ts';
import { events, webhookReceiver } from '../support/messaging.ts';

describe('operations and migration pages', { skip: skipBrowserTests }, () => {
  let h: ConsoleHarness;
  let partner: Awaited<ReturnType<typeof webhookReceiver>>;
  let partnerStatus = 204;
  before(async () => {
    partner = await webhookReceiver(() => partnerStatus);
    // The service's member webhook is the partner above; two quick attempts, so a failing replay is parked again at once.
    h = await consoleHarness({ messaging: messagingConfigFromEnv({
      TALLY_WEBHOOK_URL: partner.url, TALLY_WEBHOOK_SECRET: 'whsec_test', TALLY_WEBHOOK_MAX_ATTEMPTS: '2', TALLY_RETRY_INITIAL_MS: '5', TALLY_RETRY_MAX_MS: '10',
    }) });
  });
  after(async () => {
    await h?.close();
    await partner?.close();
  });

  /** A payment.failed event the member webhook gave up on, parked as the bus parks it; returns its dead letter's id. */
  async function parkForWebhook(n: number): Promise<{ id: string; eventId: string }> {
    const [m] = events(1, 'payment.failed', n);
    await parkDeadLetter(h.t.svc.store.db, { consumer: 'member-webhook', destination: 'member-webhook.dlq', eventId: m!.id, type: m!.type, message: encodeMessage(m!), error: `webhook ${partner.url} answered 503`, attempts: 8 });
    const row = await h.t.svc.store.db.selectFrom('dead_letters').select('id').where('event_id', '=', m!.id).executeTakeFirstOrThrow();
    return { id: String(row.id), eventId: m!.id };
  }

  test('an admin sees the job runs after a job ran, and runs a job for a date with a confirmation', async () => {
    await h.t.schedule.runJob('renew', '2026-03-09');
    const { page, errors } = await h.newPage();
    await h.signIn(page, 'admin', '/operations');
    await page.getByRole('heading', { level: 1, name: 'Operations' }).waitFor();
    const runs = page.getByRole('region', { name: 'Job runs table' });
    await runs.getByRole('row', { name: /renew 2026-03-09/ }).first().waitFor();

    await page.getByLabel('Job', { exact: true }).selectOption('collect');
    await page.getByLabel('Business date').fill('2026-03-08');
    await page.getByRole('button', { name: 'Run job…' }).click();
    // Nothing runs before the confirmation; the confirmation says what and for which day.
    const confirm = page.getByRole('group', { name: /Run collect for 2026-03-08/ });
    await confirm.waitFor();
    assert.equal(await runs.getByRole('row', { name: /collect 2026-03-08/ }).count(), 0);
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Confirm: run collect');
    await confirm.getByRole('button', { name: 'Confirm: run collect' }).click();
    await page.getByRole('status').filter({ hasText: 'collect ran for 2026-03-08.' }).waitFor();
    await runs.getByRole('row', { name: /collect 2026-03-08/ }).first().waitFor();
    const api = (await h.t.app.inject({ method: 'GET', url: '/v1/admin/job-runs', headers: h.t.auth('admin') })).json() as { runs: { job: string; businessDate: string }[] };
    assert.equal(api.runs.filter((r) => r.job === 'collect' && r.businessDate === '2026-03-08').length, 1);
    assert.deepEqual(errors, []);
  });

  test('an admin creates a key, sees its secret once, copies it, and revokes the key after a confirmation', async () => {
    const { page, context, errors } = await h.newPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.url });
    await h.signIn(page, 'admin', '/operations');
    await page.getByLabel('Name').fill('console test key');
    await page.getByLabel('Role').selectOption('finance');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secretBox = page.getByLabel('Secret, shown only now');
    await secretBox.waitFor();
    const secret = await secretBox.inputValue();
    assert.match(secret, /^tly_/);
    // The secret works: it is a finance key.
    const who = (await h.t.app.inject({ method: 'GET', url: '/v1/whoami', headers: { authorization: `Bearer ${secret}` } })).json() as { name: string; role: string };
    assert.deepEqual(who, { ...who, name: 'console test key', role: 'finance' });
    await page.getByRole('button', { name: 'Copy secret' }).click();
    await page.getByRole('status').filter({ hasText: 'Copied to the clipboard.' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await h.screenshot(page, 'operations');

    // After a reload the secret is gone for good: not on the page, not in the API's list.
    await page.reload();
    const keys = page.getByRole('region', { name: 'API keys table' });
    const row = keys.getByRole('row', { name: /console test key/ });
    await row.waitFor();
    assert.equal(await page.getByLabel('Secret, shown only now').count(), 0);
    assert.equal((await page.content()).includes(secret), false);
    assert.match(await row.innerText(), /finance[\s\S]*active/);

    await row.getByRole('button', { name: /^Revoke console test key/ }).click();
    const confirm = row.getByRole('group', { name: 'Confirm revoking console test key' });
    await confirm.waitFor();
    assert.equal((await h.t.app.inject({ method: 'GET', url: '/v1/whoami', headers: { authorization: `Bearer ${secret}` } })).statusCode, 200, 'not revoked before the confirmation');
    await confirm.getByRole('button', { name: 'Confirm revoke' }).click();
    await page.getByRole('status').filter({ hasText: /console test key.*is revoked/ }).waitFor();
    // The message comes with the revocation's answer; the row changes when the list is read again after it.
    await row.getByRole('cell', { name: /^revoked/ }).waitFor();
    assert.equal(await row.getByRole('button').count(), 0);
    assert.equal((await h.t.app.inject({ method: 'GET', url: '/v1/whoami', headers: { authorization: `Bearer ${secret}` } })).statusCode, 401);
    assert.deepEqual(errors, []);
  });

  test('an admin sees the catalog in force, read-only, and that no message is dead-lettered', async () => {
    const { page, errors } = await h.newPage();
    await h.signIn(page, 'admin', '/operations');
    await page.getByRole('heading', { level: 2, name: 'Catalog in force' }).waitFor();
    const catalog = page.getByRole('region', { name: 'Catalog table' });
    await catalog.waitFor();
    assert.ok(await catalog.getByRole('row').count() > 1);
    assert.equal(await catalog.getByRole('button').count(), 0);
    const api = (await h.t.app.inject({ method: 'GET', url: '/v1/admin/catalog', headers: h.t.auth('admin') })).json() as { catalog: { plans: { id: string }[] } };
    assert.deepEqual((await catalog.getByRole('rowheader').locator('code').allInnerTexts()).sort(), api.catalog.plans.map((p) => p.id).sort());
    assert.match(await page.getByRole('main').innerText(), /Version 0 \(the built-in catalog\)/);
    // A plan's prices open under it, each in its currency's decimals.
    const [plan] = api.catalog.plans;
    await page.getByText(`Prices of`).filter({ hasText: plan!.id }).first().click();
    const prices = page.getByRole('region', { name: `Prices of ${plan!.id}` });
    const jp = prices.getByRole('row', { name: /^JP/ });
    if (await jp.count()) assert.match(await jp.innerText(), /¥[\d,]+\s/);
    assert.ok(await prices.getByRole('row').count() > 1);
    await page.getByText('No dead letters: every consumer has taken every message so far.').waitFor();
    assert.equal(await page.getByRole('region', { name: 'Dead letters table' }).count(), 0);
    assert.deepEqual(errors, []);
  });

  test('an admin opens a dead letter, replays it after a confirmation (a double click sends once), and it leaves the list and reaches the webhook once', async () => {
    const { id, eventId } = await parkForWebhook(41);
    const { page, errors } = await h.newPage();
    // Each replay answer held back a moment, so the busy button can be seen and double-clicked.
    let replays = 0;
    await page.route('**/v1/admin/dead-letters/*/replay', async (route) => {
      replays++;
      await new Promise((r) => setTimeout(r, 400));
      await route.continue();
    });
    await h.signIn(page, 'admin', '/operations');
    const table = page.getByRole('region', { name: 'Dead letters table' });
    const row = table.getByRole('row', { name: new RegExp(`^${id} member-webhook`) });
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(`payment\\.failed[\\s\\S]*${eventId.replace(/[.:]/g, '\\$&')}[\\s\\S]*8[\\s\\S]*answered 503`));

    await row.getByRole('button', { name: `Show dead letter ${id}` }).click();
    const shown = page.getByRole('region', { name: `Dead letter ${id}: payment.failed for member-webhook` });
    await shown.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'ops-dlq-title');
    const body = JSON.parse(await shown.getByRole('region', { name: `Message of dead letter ${id}` }).innerText()) as { id: string; memberId: string };
    assert.deepEqual([body.id, body.memberId], [eventId, 'm41']);
    assert.match(await shown.innerText(), /answered 503/);

    await shown.getByRole('button', { name: 'Replay…' }).click();
    const confirm = shown.getByRole('group', { name: new RegExp(`Deliver dead letter ${id} to member-webhook again`) });
    await confirm.waitFor();
    assert.deepEqual(await h.axe(page), [], 'the dead letter shown, with its confirmation');
    await h.screenshot(page, 'operations-dead-letter');
    assert.equal(partner.received.length, 0, 'nothing delivered before the confirmation');
    await confirm.getByRole('button', { name: `Confirm: replay ${id}` }).dblclick();
    const sending = confirm.getByRole('button', { name: 'Replaying…' });
    await sending.waitFor();
    assert.equal(await sending.isDisabled(), true);
    await page.getByRole('status').filter({ hasText: `Dead letter ${id} (payment.failed, event ${eventId}) was delivered to member-webhook again and left the list.` }).waitFor();
    await page.getByText('No dead letters: every consumer has taken every message so far.').waitFor();
    assert.equal(await shown.count(), 0);
    assert.equal(replays, 1, 'one replay request for the double click');
    assert.deepEqual(partner.received.map((r) => r.eventId), [eventId], 'the webhook received the event once');
    assert.deepEqual((await h.t.app.inject({ method: 'GET', url: '/v1/admin/dead-letters', headers: h.t.auth('admin') })).json<{ deadLetters: unknown[] }>().deadLetters, []);
    assert.deepEqual(errors, []);
    partner.received.length = 0;
  });

  test('a replay the consumer fails again shows its error, and the dead letter stays with its new attempts', async () => {
    const { id } = await parkForWebhook(42);
    partnerStatus = 500;
    try {
      const { page, errors } = await h.newPage();
      await h.signIn(page, 'admin', '/operations');
      await page.getByRole('button', { name: `Show dead letter ${id}` }).click();
      const shown = page.getByRole('region', { name: new RegExp(`^Dead letter ${id}:`) });
      await shown.getByRole('button', { name: 'Replay…' }).click();
      await shown.getByRole('button', { name: `Confirm: replay ${id}` }).click();
      await shown.getByRole('alert').filter({ hasText: /member-webhook" failed again: webhook .* answered 500/ }).waitFor();
      await shown.getByText('answered 500', { exact: false }).first().waitFor();
      // 8 attempts before, one more now (one attempt while the operator waits).
      await shown.filter({ hasText: /Attempts\s*9(?!\d)/ }).waitFor();
      const row = page.getByRole('region', { name: 'Dead letters table' }).getByRole('row', { name: new RegExp(`^${id} member-webhook`) });
      await row.filter({ hasText: 'answered 500' }).waitFor();
      assert.equal(partner.received.length, 1, 'one attempt at the webhook');
      assert.deepEqual(errors.filter((e) => !/status of 502/.test(e)), []);
    } finally {
      partnerStatus = 204;
      partner.received.length = 0;
      await h.t.svc.store.db.deleteFrom('dead_letters').execute();
    }
  });

  test('the migration page shows each country\'s route, compare runs and cut-over steps', async () => {
    const db = h.t.svc.store.db;
    await setRoute(db, 'DE', { state: 'tally', canaryPercent: 100 }, 'console test', 'cut over');
    await setRoute(db, 'FR', { state: 'legacy', canaryPercent: 10 }, 'console test', 'canary');
    await db.insertInto('compare_runs').values({
      mode: 'members', source: 'legacy', country: 'DE', status: 'clean', started_at: '2026-03-09T09:00:00.000Z', finished_at: '2026-03-09T09:03:00.000Z',
      report_dir: null, options: '{}', counts: '{"members":120,"differing":0}', error: null,
    }).execute();
    const run = await db.insertInto('cutover_runs').values({
      country: 'DE', cohort_percent: 100, status: 'finished', from_state: 'legacy', from_canary_percent: 10, options: '{}',
      started_at: '2026-03-09T10:00:00.000Z', finished_at: '2026-03-09T10:04:00.000Z', freeze_seconds: 3.2, outcome: '{}',
    }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('cutover_steps').values(['freeze', 'drain', 'migrate', 'compare', 'route', 'unfreeze'].map((step, i) => ({
      run_id: Number(run.id), step, started_at: `2026-03-09T10:0${i < 4 ? 0 : 1}:0${i}.000Z`, finished_at: `2026-03-09T10:0${i < 4 ? 0 : 1}:0${i + 1}.000Z`, detail: step === 'migrate' ? '{"members":120}' : null,
    }))).execute();
    // A DE member's change the legacy refused: parked by back-sync, counted on DE's row.
    const signUp = await h.t.app.inject({ method: 'POST', url: '/v1/members', headers: h.t.auth('member-app'), payload: { id: 'de-parked', email: 'p@example.com', country: 'DE', timezone: 'Europe/Berlin', paymentToken: 'tok_ok', plan: 'basic' } });
    assert.equal(signUp.statusCode, 201, signUp.body);
    const refused = { id: 'member.updated:de-parked:9', type: 'member.updated', memberId: 'de-parked', occurredOn: '2026-03-10', data: {} };
    await parkDeadLetter(db, { consumer: 'legacy-backsync', destination: 'legacy-backsync.dlq', eventId: refused.id, type: refused.type, message: encodeMessage(refused), error: 'the legacy refused it', attempts: 5 });

    const { page, errors } = await h.newPage();
    await h.signIn(page, 'admin', '/migration');
    await page.getByRole('heading', { level: 1, name: 'Migration' }).waitFor();
    const routes = page.getByRole('region', { name: 'Routes table' });
    const de = routes.getByRole('row', { name: /^DE/ });
    await de.waitFor();
    assert.match(await de.innerText(), /tally[\s\S]*100 %[\s\S]*console test[\s\S]*clean[\s\S]*members: 120/);
    assert.match(await routes.getByRole('row', { name: /^FR/ }).innerText(), /legacy[\s\S]*10 %/);
    assert.equal(await de.getByRole('link', { name: '1 parked' }).getAttribute('href'), '/console/operations#dead-letters');
    const steps = page.getByRole('region', { name: `Cut-over run ${run.id} of DE` });
    assert.match(await steps.innerText(), /finished, 100 % of the members, from legacy \(10 % canary\)[\s\S]*writes frozen 3.2 s/);
    assert.deepEqual((await steps.getByRole('rowheader').allInnerTexts()), ['freeze', 'drain', 'migrate', 'compare', 'route', 'unfreeze']);
    assert.match(await steps.getByRole('row', { name: /^migrate/ }).innerText(), /"members":120/);
    await h.screenshot(page, 'migration');
    assert.deepEqual(errors, []);
  });

  test('operations and migration: no serious accessibility violations at 1280 px and on a phone, keyboard reachable', async () => {
    for (const [name, viewport] of Object.entries(viewports)) {
      for (const path of ['/operations', '/migration']) {
        const { page, errors } = await h.newPage({ viewport });
        await h.signIn(page, 'admin', path);
        await page.getByRole('heading', { level: 2 }).first().waitFor();
        // Every section loaded (four load at once: job runs, keys, catalog, dead letters).
        await page.waitForFunction(() => ![...document.querySelectorAll('[role="status"]')].some((e) => e.textContent?.startsWith('Loading')));
        assert.deepEqual(await h.axe(page), [], `${path} ${name}`);
        if (name === 'phone') {
          // Nothing wider than the phone's screen but the tables, which scroll in their own region.
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow} px on a phone`);
          await h.screenshot(page, `${path.slice(1)}-phone`);
        }
        assert.deepEqual(errors, [], `${path} ${name}`);
      }
    }
    // With the keyboard alone: tab to the job form, pick a date and open the confirmation with Enter.
    const { page, errors } = await h.newPage();
    await h.signIn(page, 'admin', '/operations');
    await page.getByRole('heading', { level: 1, name: 'Operations' }).waitFor();
    await page.getByLabel('Job', { exact: true }).waitFor();
    for (let i = 0; i < 20 && (await page.evaluate(() => document.activeElement?.id)) !== 'ops-job'; i++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'ops-job');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'ops-date');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('group', { name: /Run renew for/ }).waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    assert.equal(await page.getByRole('group', { name: /Run renew for/ }).count(), 0, 'Cancel closes the confirmation');
    assert.deepEqual(errors, []);
  });
});
