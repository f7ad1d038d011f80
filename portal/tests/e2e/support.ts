/**
 * The browser tests' tools: Debian's chromium through playwright-core (nothing downloaded),
 * a real broker with the built portal mounted, login through the dev provider's real form,
 * axe-core injected into every page, and a screenshot of each page kept as a test artifact.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const PORTAL_DIR = join(import.meta.dirname, '..', '..');
export const REPO_DIR = join(PORTAL_DIR, '..');
export const ARTIFACTS = join(PORTAL_DIR, 'test-artifacts');
export const BUILD_DIR = join(PORTAL_DIR, 'build');

/**
 * Whether the browser tests can run here. Without chromium they are skipped with a message, except
 * in CI (CI=true), where a missing browser is a failure: CI must run them.
 */
export function browserAvailable(): boolean {
  const ok = existsSync(CHROMIUM) && existsSync(join(BUILD_DIR, 'handler.js'));
  if (!ok) {
    const why = !existsSync(CHROMIUM) ? `no chromium at ${CHROMIUM} (apt-get install -y chromium)` : `no portal build at ${BUILD_DIR} (npm run -w @ibroker/portal build)`;
    if (process.env.CI === 'true') throw new Error(`The portal's browser tests cannot run: ${why}.`);
    console.warn(`\n  SKIPPED: the portal's browser tests: ${why}.\n`);
  }
  return ok;
}

export interface BrowserUser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Contexts opened with JavaScript off: they never hydrate, so nothing waits for it there. */
const withoutJs = new WeakSet<BrowserContext>();

/** A fresh chromium profile (its own user-data dir), headless, nothing phoning home. */
export async function openBrowser(options: { javaScriptEnabled?: boolean } = {}): Promise<BrowserUser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'portal-e2e-profile-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    javaScriptEnabled: options.javaScriptEnabled ?? true,
  });
  context.setDefaultTimeout(20_000);
  if (options.javaScriptEnabled === false) withoutJs.add(context);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until the portal's layout has mounted (it sets `<html data-hydrated>`): before that a
 * synthetic drop or a click may reach the server-rendered HTML without its handlers (on a busy CI
 * machine hydration can finish well after the `load` event). Pages without JavaScript never set
 * it, so this is only for browsers with JavaScript on.
 */
export async function waitForHydration(page: Page): Promise<void> {
  await page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true', undefined, { timeout: 20_000 });
}

/** `page.goto` for pages that need JavaScript: returns once the page is hydrated. */
export async function gotoReady(page: Page, url: string): ReturnType<Page['goto']> {
  const res = await page.goto(url);
  await waitForHydration(page);
  return res;
}

/** Signs in through the portal's "Sign in" and the dev provider's login form. */
export async function signIn(page: Page, base: string, username: string, password = username): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByRole('link', { name: /^Sign in/ }).first().click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/`);
  await expect.poll(() => page.getByText(`Signed in as`).count()).toBe(1);
  if (!withoutJs.has(page.context())) await waitForHydration(page);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * Runs axe-core in the page (evaluated through the DevTools protocol, so the portal's CSP stays as
 * it is) and fails on any serious or critical violation, naming it.
 */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  const hasAxe = await page.evaluate(() => 'axe' in window);
  if (!hasAxe) await page.evaluate(axeSource);
  const violations = (await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: unknown[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations;
  })) as AxeViolation[];
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  expect(report, `axe on ${name}`).toEqual([]);
}

/** A full-page screenshot in test-artifacts/screenshots (git-ignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = join(ARTIFACTS, 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** Every page gets both: an accessibility check and a screenshot. */
export async function checkPage(page: Page, name: string): Promise<void> {
  await expectAccessible(page, name);
  await screenshot(page, name);
}

export const demoFile = (build: 'hg19' | 'hg38', chr: number) => join(REPO_DIR, 'demo', 'data', build, `chr${chr}.vcf.gz`);
