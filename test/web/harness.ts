import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { buildApp } from '../../src/http/app.ts';
import { testContext, type TestContext } from '../support/db.ts';
import { DEMO_PASSWORD } from '../../src/sim/province.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST_INDEX = path.join(ROOT, 'web/dist/index.html');
const LOCK = path.join(ROOT, 'web/.build-lock');
export const SCREENSHOTS = path.join(ROOT, 'artifacts/screenshots');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

const distIsCurrent = () => fs.existsSync(DIST_INDEX) && fs.statSync(DIST_INDEX).mtimeMs >= newestSource(path.join(ROOT, 'web/src'));

/** Build the web app once when web/dist is missing or older than its sources; parallel test files wait on a lock. */
export async function ensureWebBuilt(): Promise<void> {
  for (;;) {
    if (distIsCurrent()) return;
    try {
      fs.mkdirSync(LOCK);
    } catch {
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    try {
      // the production build users get: vitest's NODE_ENV=test would make vite build React's and antd's development code
      if (!distIsCurrent()) execFileSync('npx', ['vite', 'build', '--config', 'web/vite.config.ts'], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, NODE_ENV: 'production' } });
    } finally {
      fs.rmdirSync(LOCK);
    }
  }
}

export interface WebHarness {
  ctx: TestContext;
  app: FastifyInstance;
  url: string;
  browser: Browser;
  /** A fresh browser context (own storage) with a page; `phone` is a 390×844 touch viewport. */
  page(opts?: { phone?: boolean }): Promise<Page>;
  close(): Promise<void>;
}

/** The real server on a seeded database, listening on an ephemeral port, and a headless Debian Chromium. */
export async function startWeb(opts: { customers: number; now: string; prepare?: (ctx: TestContext) => Promise<void> }): Promise<WebHarness> {
  await ensureWebBuilt();
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const ctx = await testContext({ customers: opts.customers, now: opts.now });
  await opts.prepare?.(ctx);
  const app = await buildApp(ctx);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  // launch() gives every run a fresh temporary profile (user-data-dir) and removes it on close
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const contexts: BrowserContext[] = [];
  return {
    ctx, app, url, browser,
    async page(o = {}) {
      // reduced motion: antd's zoom moves a dialog's buttons after Playwright found them stable, so on a loaded
      // machine a click's mouseup could land beside the button and the click was lost (the portal payment's hang)
      const bc = await browser.newContext({
        reducedMotion: 'reduce',
        ...(o.phone ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : { viewport: { width: 1440, height: 900 } }),
      });
      contexts.push(bc);
      const page = await bc.newPage();
      // what went wrong in the browser shows in the test output, next to the failure it explains
      page.on('pageerror', (e) => console.log(`browser page error: ${e.message}`));
      page.on('console', (m) => m.type() === 'error' && console.log(`browser console error: ${m.text()}`));
      page.on('requestfailed', (r) => {
        // a navigation aborts the script loads of the page it leaves: only the API's failures tell something
        if (r.url().includes('/api/') || r.failure()?.errorText !== 'net::ERR_ABORTED') console.log(`browser request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
      });
      page.on('response', (r) => r.status() >= 500 && console.log(`browser got ${r.status()} for ${r.request().method()} ${r.url()}`));
      // an API request sent but not answered for long: tells a hung server from a request never sent
      const unanswered = new Map<Request, NodeJS.Timeout>();
      page.on('request', (r) => {
        if (!r.url().includes('/api/')) return;
        const timer = setTimeout(() => console.log(`browser request unanswered after 10 s: ${r.method()} ${r.url()}`), 10_000);
        timer.unref();
        unanswered.set(r, timer);
      });
      const answered = (r: Request) => {
        clearTimeout(unanswered.get(r));
        unanswered.delete(r);
      };
      page.on('requestfinished', answered);
      page.on('requestfailed', answered);
      // a page closed by the test leaves its last loads unanswered: nothing to report
      page.on('close', () => [...unanswered.keys()].forEach(answered));
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
      await app.close();
      await ctx.drop();
    },
  };
}

/** Sign in through the login form as staff (staff code) or customer (customer number). */
export async function signInAs(page: Page, url: string, kind: 'staff' | 'customer', id: string): Promise<void> {
  await page.goto(url);
  if (kind === 'customer') await page.locator('[data-testid=login-kind]').getByText(/客户|Customer/).click();
  await page.getByTestId('login-id').fill(id);
  await page.getByTestId('login-password').fill(DEMO_PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('user-name').waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Poll an assertion long enough for a loaded CI machine (the default second is too short for a browser). */
export const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 200 });
