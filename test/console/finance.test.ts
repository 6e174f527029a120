import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { formatMoney } from '../../web/src/format.ts';
import { consoleHarness, skipBrowserTests, viewports, type ConsoleHarness } from '../support/browser.ts';

const figures = ['billed', 'tax', 'collected', 'refunded', 'chargebacks', 'writtenOff'] as const;
type Line = Record<(typeof figures)[number], number> & { country: string; currency: string };
type Day = { businessDate: string; lines: Line[]; balanced: boolean };

/** Each figure summed over days and countries, per currency. */
function totals(rows: Line[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const l of rows) {
    const t = out.get(l.currency) ?? Object.fromEntries(figures.map((f) => [f, 0]));
    for (const f of figures) t[f]! += l[f];
    out.set(l.currency, t);
  }
  return out;
}

function csvLines(csv: string): Line[] {
  const [head, ...rows] = csv.trim().split('\n');
  const cols = head!.split(',');
  return rows.map((r) => {
    const cells = r.split(',');
    const line: Record<string, string | number> = {};
    cols.forEach((c, i) => (line[c] = c === 'country' || c === 'currency' || c === 'businessDate' ? cells[i]! : Number(cells[i])));
    return line as unknown as Line;
  });
}

describe('console: finance', { skip: skipBrowserTests }, () => {
  let h: ConsoleHarness;
  let days: Day[];
  let apiCsv: string;
  const range = '?from=2026-03-10&to=2026-03-11';

  before(async () => {
    h = await consoleHarness({ today: '2026-03-10' });
    const { t } = h;
    const signUp = async (id: string, country: string, region: string | undefined, timezone: string) => {
      const r = await t.app.inject({ method: 'POST', url: '/v1/members', headers: t.auth('member-app'), payload: { id, email: `${id}@example.com`, country, ...(region ? { region } : {}), timezone, paymentToken: 'tok_ok', plan: 'basic' } });
      assert.equal(r.statusCode, 201, r.body);
    };
    // Two business days in two currencies (USD, EUR), each closed once it is over.
    await signUp('fin-us-1', 'US', 'WA', 'America/Los_Angeles');
    await signUp('fin-de-1', 'DE', undefined, 'Europe/Berlin');
    await t.schedule.runJob('renew', '2026-03-10');
    await t.schedule.runJob('collect', '2026-03-10');
    t.setToday('2026-03-11');
    await t.schedule.runJob('report-revenue', '2026-03-10');
    await signUp('fin-us-2', 'US', 'WA', 'America/Los_Angeles');
    await signUp('fin-de-2', 'DE', undefined, 'Europe/Berlin');
    await t.schedule.runJob('renew', '2026-03-11');
    await t.schedule.runJob('collect', '2026-03-11');
    t.setToday('2026-03-12');
    await t.schedule.runJob('report-revenue', '2026-03-11');

    const json = await t.app.inject({ method: 'GET', url: `/v1/finance/revenue${range}`, headers: t.auth('finance') });
    assert.equal(json.statusCode, 200, json.body);
    days = (json.json() as { days: Day[] }).days;
    const csv = await t.app.inject({ method: 'GET', url: `/v1/finance/revenue${range}&format=csv`, headers: t.auth('finance') });
    assert.equal(csv.statusCode, 200, csv.body);
    apiCsv = csv.body;
    // The seed is what the page is tested on: two closed days, two currencies, something billed.
    assert.deepEqual(days.map((d) => d.businessDate), ['2026-03-10', '2026-03-11']);
    assert.deepEqual([...totals(days.flatMap((d) => d.lines)).keys()].sort(), ['EUR', 'USD']);
    assert.ok(days.flatMap((d) => d.lines).some((l) => l.billed > 0));
  });
  after(() => h?.close());

  test('finance reads the revenue chart and table for a range; the totals equal the API\'s', async () => {
    const { page, errors } = await h.newPage();
    await h.signIn(page, 'finance', `/finance${range}`);
    await page.getByRole('heading', { level: 1, name: 'Finance' }).waitFor();
    await page.getByRole('table', { name: /Revenue per business day/ }).waitFor();
    assert.match(await page.getByRole('main').innerText(), /business day in UTC \(the reporting time zone/);

    // The chart: a canvas drawn with something on it, described for a screen reader.
    const canvas = page.getByRole('img', { name: /Line chart: billed, collected and refunded in EUR/ });
    await canvas.waitFor();
    const painted = await canvas.evaluate((c) => {
      const el = c as HTMLCanvasElement;
      const px = el.getContext('2d')!.getImageData(0, 0, el.width, el.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
      return { width: el.width, painted: n };
    });
    assert.ok(painted.width > 200 && painted.painted > 500, JSON.stringify(painted));

    // The table: one row per day, country and currency; the totals per currency are the API's.
    const table = page.getByRole('table', { name: /Revenue per business day/ });
    assert.equal(await table.locator('tbody tr').count(), days.reduce((n, d) => n + d.lines.length, 0));
    const expected = totals(days.flatMap((d) => d.lines));
    assert.equal(await table.locator('tfoot tr').count(), expected.size);
    for (const [currency, t] of expected) {
      const cells = await table.locator(`tfoot tr[data-currency="${currency}"] td.num`).allInnerTexts();
      assert.deepEqual(cells, figures.map((f) => formatMoney(t[f]!, currency)), currency);
    }

    // Another currency for the chart, by keyboard: the chart is drawn again, in USD.
    await page.getByLabel('Currency of the chart').focus();
    await page.keyboard.press('ArrowDown');
    await page.getByRole('img', { name: /in USD per business day/ }).waitFor();
    assert.equal(await page.locator('.finance-chart canvas').count(), 1);

    // The journal balance check: every day balances in every currency.
    const balance = page.getByRole('table', { name: /Journal debits and credits/ });
    assert.equal(await balance.locator('tbody tr').count(), days.reduce((n, d) => n + (d as unknown as { balances: unknown[] }).balances.length, 0));
    assert.deepEqual([...new Set(await balance.locator('tbody td:last-child').allInnerTexts())], ['Balanced']);
    assert.ok(days.every((d) => d.balanced));

    await h.screenshot(page, 'finance-revenue');
    assert.deepEqual(errors, []);
  });

  test('the CSV download is the API\'s CSV for the range, and its totals equal the API\'s', async () => {
    const { page, errors } = await h.newPage();
    await h.signIn(page, 'finance', `/finance${range}`);
    const button = page.getByRole('button', { name: 'Download CSV' });
    await button.waitFor();
    await button.focus();
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    assert.equal(download.suggestedFilename(), 'tally-revenue-2026-03-10-to-2026-03-11.csv');
    const csv = readFileSync((await download.path())!, 'utf8');
    assert.equal(csv, apiCsv);
    const fromCsv = totals(csvLines(csv));
    const fromJson = totals(days.flatMap((d) => d.lines));
    assert.deepEqual(fromCsv, fromJson);
    assert.deepEqual(errors, []);
  });

  test('a range is chosen with the form; a range without closed days says so', async () => {
    const { page, errors } = await h.newPage();
    await h.signIn(page, 'finance', `/finance${range}`);
    await page.getByRole('table', { name: /Revenue per business day/ }).waitFor();
    await page.getByLabel('First business day').fill('2026-03-11');
    await page.getByRole('button', { name: 'Show revenue' }).click();
    await page.getByRole('heading', { name: 'Revenue, 2026-03-11 to 2026-03-11' }).waitFor();
    const table = page.getByRole('table', { name: /Revenue per business day/ });
    await table.waitFor();
    assert.equal(await table.locator('tbody tr').count(), days[1]!.lines.length);
    assert.equal(new URL(page.url()).search, '?from=2026-03-11&to=2026-03-11');
    await page.getByLabel('First business day').fill('2026-02-01');
    await page.getByLabel('Last business day').fill('2026-02-02');
    await page.getByRole('button', { name: 'Show revenue' }).click();
    await page.getByText('No closed business day between 2026-02-01 and 2026-02-02.').waitFor();
    // The browser logs the API's 404 (no closed day) as a failed load; nothing else may be logged.
    assert.deepEqual(errors.filter((e) => !/status of 404/.test(e)), []);
  });

  test('job runs are listed with their counts; without a range the page shows the 30 days up to the last closed day', async () => {
    const { page, errors } = await h.newPage();
    await h.signIn(page, 'finance', '/finance');
    await page.getByRole('heading', { name: 'Revenue, 2026-02-10 to 2026-03-11' }).waitFor();
    assert.equal(await page.getByLabel('Last business day').inputValue(), '2026-03-11');
    const runs = page.getByRole('table', { name: /job runs/ });
    await runs.waitFor();
    const api = (await h.t.app.inject({ method: 'GET', url: '/v1/finance/job-runs?limit=50', headers: h.t.auth('finance') })).json() as { runs: { job: string; businessDate: string; status: string }[] };
    assert.equal(await runs.locator('tbody tr').count(), api.runs.length);
    const rows = await runs.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)));
    assert.deepEqual(rows, api.runs.map((r) => [r.job, r.businessDate, r.status]));
    for (const job of ['renew', 'collect', 'report-revenue']) assert.ok(rows.some((r) => r[0] === job), job);
    assert.deepEqual(errors, []);
  });

  test('no serious or critical accessibility violations, at 1280 px and on a phone', async () => {
    for (const [name, viewport] of Object.entries(viewports)) {
      const { page, errors } = await h.newPage({ viewport });
      await h.signIn(page, 'finance', `/finance${range}`);
      await page.getByRole('table', { name: /job runs/ }).waitFor();
      await page.getByRole('img', { name: /Line chart/ }).waitFor();
      assert.deepEqual(await h.axe(page), [], name);
      if (name === 'phone') {
        await h.screenshot(page, 'finance-revenue-phone');
        // Nothing wider than the phone but the tables, which scroll inside their own box.
        assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth + 1), 'the page scrolls sideways');
      }
      assert.deepEqual(errors, [], name);
    }
  });
});
