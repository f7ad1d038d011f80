/**
 * The portal without JavaScript (login, a plain multipart form post of the run, cancel, settings:
 * every form works as HTML), and the administrator's audit trail with filters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '@ibroker/broker/testing/broker';
import { BUILD_DIR, browserAvailable, checkPage, demoFile, gotoReady, openBrowser, screenshot, signIn } from './support';

describe.runIf(browserAvailable())('portal: without JavaScript, and the administrator', () => {
  let tb: TestBroker;
  let base: string;
  let runId = '';

  beforeAll(async () => {
    tb = await startTestBroker({ portal: BUILD_DIR, timing: { imputation: 6_000 } });
    base = tb.url;
  });

  afterAll(async () => {
    await tb?.close();
  });

  it('lets alice sign in, submit by a plain form post, cancel and store a token with JavaScript off', async () => {
    const alice = await openBrowser({ javaScriptEnabled: false });
    try {
      const { page } = alice;
      await signIn(page, base, 'alice');
      await page.goto(`${base}/runs/new`);
      await page.getByLabel('Reference panel').selectOption('1000g-phase-3-v5');
      await page.getByLabel('Population').selectOption('eur');
      await page.locator('input[type=file]').setInputFiles([demoFile('hg19', 20), demoFile('hg19', 21)]);
      await page.getByRole('button', { name: 'Submit the run' }).click();
      await page.waitForURL(/\/runs\/[0-9a-f-]{36}\?submitted=1$/, { timeout: 60_000 });
      runId = /\/runs\/([0-9a-f-]{36})/.exec(page.url())![1]!;
      expect(await page.getByText('Run submitted').count()).toBe(1);
      // axe needs scripts in the page: these pages are checked with JavaScript on elsewhere.
      await screenshot(page, '20-nojs-run-submitted');

      // A refusal comes back as the form again, with the broker's message and the choices kept.
      await page.goto(`${base}/runs/new`);
      await page.getByLabel('Reference panel').selectOption('1000g-phase-3-v5');
      await page.getByLabel('Service').selectOption('afrigen');
      await page.locator('input[type=file]').setInputFiles([demoFile('hg19', 20)]);
      await page.getByRole('button', { name: 'Submit the run' }).click();
      await page.waitForURL(/\/runs\/new\?error=/);
      const alert = (await page.getByRole('alert').textContent()) ?? '';
      expect(alert).toContain('The run was not submitted.');
      expect(alert).toMatch(/afrigen/);
      expect(await page.getByLabel('Service').inputValue()).toBe('afrigen');
      await screenshot(page, '21-nojs-refused');

      // Cancel: a plain form post to the action, CSRF token in the form.
      await page.goto(`${base}/runs/${runId}`);
      await page.getByRole('button', { name: 'Cancel this run' }).click();
      await page.waitForLoadState('load');
      expect(await page.getByRole('status').allTextContents()).toContainEqual(expect.stringContaining('Cancel requested'));

      await page.goto(`${base}/settings`);
      await page.getByLabel('Service', { exact: true }).selectOption('afrigen');
      await page.getByLabel(/API token/).fill('nojs-secret-token-value');
      await page.getByRole('button', { name: 'Save the token' }).click();
      await page.waitForLoadState('load');
      expect(await page.getByRole('status').textContent()).toContain('Stored your token for afrigen');
      expect(await page.content()).not.toContain('nojs-secret-token-value');

      // Sign out: the form posts straight to the broker's POST /auth/logout with the CSRF token.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForLoadState('load');
      const session = (await alice.context.request.get(`${base}/auth/session`).then((r) => r.json())) as { authenticated: boolean };
      expect(session.authenticated).toBe(false);
    } finally {
      await alice.close();
    }
  });

  it('refuses a form post from another site (SvelteKit origin check) and one without the CSRF token (broker)', async () => {
    const cookie = await loginCookie(base);
    const csrf = ((await (await fetch(`${base}/auth/session`, { headers: { cookie } })).json()) as { csrf_token: string }).csrf_token;
    const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
    const headers = { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    const crossSite = await fetch(`${base}/settings?/delete`, { method: 'POST', headers: { ...headers, origin: 'https://evil.example' }, body: form({ backend_id: 'mis2', _csrf: csrf }) });
    expect(crossSite.status).toBe(403);
    const noToken = await fetch(`${base}/settings?/delete`, { method: 'POST', headers: { ...headers, origin: base }, body: form({ backend_id: 'mis2' }) });
    const body = (await noToken.json()) as { type: string; status: number; data: string };
    expect(body.type).toBe('failure');
    expect(body.status).toBe(403);
    expect(body.data).toContain('CSRF token');
  });

  it('shows the administrator the audit trail, with filters and the API’s message for a bad one', async () => {
    const admin = await openBrowser();
    try {
      const { page } = admin;
      await signIn(page, base, 'admin');
      await page.getByRole('link', { name: 'Audit trail' }).click();
      await page.waitForURL(`${base}/admin/audit`);
      await expect.poll(() => page.getByRole('cell', { name: 'run.submitted' }).count()).toBeGreaterThan(0);
      expect(await page.getByRole('cell', { name: 'alice' }).count()).toBeGreaterThan(0);
      await checkPage(page, '22-admin-audit');

      await page.getByLabel(/^Action/).fill('credential.*');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/action=credential/);
      const actions = await page.locator('tbody tr td:nth-child(3)').allTextContents();
      expect(actions).toContain('credential.stored');
      expect(actions.every((a) => a.startsWith('credential.'))).toBe(true);
      await checkPage(page, '23-admin-audit-filtered');

      const res = await gotoReady(page, `${base}/admin/audit?since=yesterday`);
      expect(res?.status()).toBe(400);
      expect(await page.getByRole('alert').textContent()).toContain('RFC 3339');
      await checkPage(page, '24-admin-audit-bad-filter');

      // The admin's own dashboard: a phone-sized screen.
      await page.setViewportSize({ width: 390, height: 844 });
      await gotoReady(page, `${base}/`);
      await checkPage(page, '25-dashboard-phone');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow).toBeLessThanOrEqual(0);
    } finally {
      await admin.close();
    }
  });
});

/** Alice's session cookie after a real login in the browser (for the raw form posts). */
async function loginCookie(base: string): Promise<string> {
  const user = await openBrowser();
  try {
    await signIn(user.page, base, 'alice');
    const session = (await user.context.cookies(base)).find((c) => c.name === 'session');
    if (!session) throw new Error('no session cookie after the login');
    return `session=${session.value}`;
  } finally {
    await user.close();
  }
}
