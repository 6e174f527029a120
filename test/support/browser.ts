/**
 * Browser tests of the operator console: the Tally API with the console on a loopback port and a
 * fresh store, one API key per role, and Debian's chromium driven by playwright-core (no browser
 * download: CI installs the `chromium` package, see .ci/run).
 *
 *   const h = await consoleHarness();             // in before(); h.close() in after()
 *   const { page, errors } = await h.newPage();    // a fresh tab: its own sessionStorage
 *   await h.signIn(page, 'cs-agent');              // or h.signIn(page, someKey)
 *   await h.screenshot(page, 'member-page');       // docs/screenshots/member-page.png
 *   assert.deepEqual(await h.axe(page), []);       // serious or critical accessibility violations
 *   assert.deepEqual(errors, []);                   // console errors and uncaught exceptions of the tab
 *
 * `h.t` is the test API (test/support/api.ts): its store, clock, jobs and `inject` for setting up data.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Role } from '../../src/api/api-keys.ts';
import type { Services } from '../../src/jobs/services.ts';
import { consoleDist, ensureConsoleBuilt } from '../../src/api/console.ts';
import type { MessagingConfig } from '../../src/messaging/index.ts';
import { testApi } from './api.ts';
import { engineUnderTest } from './engine.ts';

export const chromiumPath = process.env.TALLY_CHROMIUM ?? '/usr/bin/chromium';
export const screenshotDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Browser tests run once, on the SQLite engine run (the console does not depend on the engine): the reason to skip otherwise. */
export const skipBrowserTests: string | false = engineUnderTest === 'sqlite' ? false : `browser tests run on the SQLite engine run only (this is ${engineUnderTest})`;

/** Viewports the console must be readable at. */
export const viewports = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;

export interface AxeViolation { id: string; impact: string | null; help: string; nodes: string[] }

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Console errors (`console.error`, failed loads) and uncaught exceptions of this tab, as text. */
  errors: string[];
}

export type ConsoleHarness = Awaited<ReturnType<typeof consoleHarness>>;

export async function consoleHarness(opts: { today?: string; messaging?: MessagingConfig; svc?: Services } = {}) {
  if (!existsSync(chromiumPath)) throw new Error(`no chromium at ${chromiumPath}: apt-get install -y chromium (or set TALLY_CHROMIUM)`);
  if (!(await ensureConsoleBuilt(() => undefined))) throw new Error('the console did not build: run npm run console:build');
  const t = await testApi({ today: opts.today, svc: opts.svc, server: { console: consoleDist }, messaging: opts.messaging });
  const url = await t.listen();
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: chromiumPath, headless: true,
      // Chromium's sandbox refuses to run as root (containers, CI).
      args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
    });
  } catch (err) {
    await t.close();
    throw err;
  }
  mkdirSync(screenshotDir, { recursive: true });
  const contexts: BrowserContext[] = [];

  return {
    /** The test API: store, clock, jobs, `t.app.inject` to set up data, `t.auth(role)` headers. */
    t,
    /** The service's base URL, e.g. http://127.0.0.1:41234 (the console is at `${url}/console`). */
    url,
    /** An API key secret per role. */
    keys: t.keys,
    browser,

    /** A new tab in its own browser context (own sessionStorage, so signed out), collecting errors. */
    async newPage(o: { viewport?: { width: number; height: number } } = {}): Promise<ConsolePage> {
      const context = await browser.newContext({ viewport: o.viewport ?? viewports.desktop, locale: 'en-US', timezoneId: 'UTC' });
      contexts.push(context);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
      return { page, context, errors };
    },

    /** Open a console path (`/`, `/finance`…) directly, as a deep link. */
    async open(page: Page, path = '/') {
      await page.goto(`${url}/console${path === '/' ? '' : path}`);
    },

    /** Sign in on the sign-in page with a role's key (or any key text) and wait for the signed-in header. */
    async signIn(page: Page, who: Role | string, path = '/') {
      const key = (t.keys as Record<string, string>)[who] ?? who;
      await page.goto(`${url}/console${path === '/' ? '' : path}`);
      await page.getByLabel('API key').fill(key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
    },

    /** Serious and critical axe-core violations on the page as it is now (empty when accessible). */
    async axe(page: Page): Promise<AxeViolation[]> {
      await page.addScriptTag({ content: axeSource });
      const violations = await page.evaluate(async () => {
        const axe = (globalThis as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
        const r = await axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
      });
      return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    },

    /** A full-page PNG in docs/screenshots/<name>.png (the README shows them). */
    async screenshot(page: Page, name: string) {
      const path = join(screenshotDir, `${name}.png`);
      await page.screenshot({ path, fullPage: true, animations: 'disabled' });
      return path;
    },

    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await t.close();
    },
  };
}

/** The console's JavaScript as built (web/dist/assets/*.js), gzipped, in bytes: the budget is 300 KB. */
export function consoleBundleGzipBytes(): { files: Record<string, number>; total: number } {
  const dir = join(consoleDist, 'assets');
  const files: Record<string, number> = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.js'))) files[f] = gzipSync(readFileSync(join(dir, f)), { level: 9 }).length;
  return { files, total: Object.values(files).reduce((a, b) => a + b, 0) };
}
