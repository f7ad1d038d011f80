/**
 * The federation features in a real browser: a webhook with its delivery history and e-mail
 * preferences, the dashboard's progress bar moving with the broker's event stream (no reload),
 * results as DRS objects with a signed link that works without the session, the same inputs run
 * again and the two runs compared (QC figures and r² charts), and the administrator disabling a
 * service and finding it in the audit trail, which alice may not do.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '@ibroker/broker/testing/broker';
import { BUILD_DIR, browserAvailable, checkPage, demoFile, gotoReady, openBrowser, screenshot, signIn, type BrowserUser } from './support';

describe.runIf(browserAvailable())('portal: the federation features', () => {
  let tb: TestBroker;
  let alice: BrowserUser;
  let base: string;
  let hooks: Server;
  let hookUrl = '';
  const received: string[] = [];
  let runA = '';
  let runB = '';

  beforeAll(async () => {
    // A local webhook receiver: the broker may POST to loopback only when told so.
    hooks = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
    tb = await startTestBroker({ portal: BUILD_DIR, timing: { imputation: 6_000 }, env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
    base = tb.url;
    alice = await openBrowser();
  });

  afterAll(async () => {
    await alice?.close();
    await tb?.close();
    await new Promise((r) => hooks?.close(r));
  });

  it('registers a webhook (secret shown once) and e-mail preferences', async () => {
    const { page } = alice;
    await signIn(page, base, 'alice');
    await gotoReady(page, `${base}/settings`);
    await page.getByLabel(/^URL/).fill(hookUrl);
    await page.getByRole('button', { name: 'Add the webhook' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Registered the webhook for run.terminal');
    const secret = await page.getByRole('textbox', { name: 'Webhook signing secret' }).inputValue();
    expect(secret.length).toBeGreaterThan(16);
    expect(await page.getByText(hookUrl).count()).toBe(1);
    await page.reload();
    await page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true');
    expect(await page.content()).not.toContain(secret);

    await page.getByLabel(/E-mail address/).fill('alice@example.org');
    await page.getByLabel('When a run completes').check();
    await page.getByRole('button', { name: 'Save e-mail preferences' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/Saved: an e-mail to .* when a run completes/);
    await checkPage(page, '30-settings-webhook');
  });

  it('uploads each file on its own and moves the dashboard’s progress bar without a reload', async () => {
    const { page } = alice;
    await gotoReady(page, `${base}/runs/new`);
    await page.getByLabel('Reference panel').selectOption('1000g-phase-3-v5');
    await page.getByLabel('Population').selectOption('eur');
    await page.locator('input[type=file]').setInputFiles([demoFile('hg19', 20), demoFile('hg19', 21)]);
    await page.getByRole('button', { name: 'Submit the run' }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}\?submitted=1$/, { timeout: 60_000 });
    runA = /\/runs\/([0-9a-f-]{36})/.exec(page.url())![1]!;

    await gotoReady(page, `${base}/`);
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    await expect.poll(() => page.locator('[data-live]').getAttribute('data-live')).toBe('on');
    await checkPage(page, '31-dashboard-live');
    const bar = page.getByLabel(`Progress of run ${runA}`);
    const seen = new Set<number>();
    // The counts by state follow the stream too (a run that started is counted as running, not queued).
    let countedRunning = false;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if ((await bar.count()) === 0) break; // finished: the run left "In progress"
      const v = await bar.getAttribute('value').catch(() => null);
      if (v !== null) seen.add(Number(v));
      if (!countedRunning && (await page.locator('ul.counts').getByText('Running').count()) > 0) countedRunning = true;
      await page.waitForTimeout(150);
    }
    expect(seen.size, `progress values seen: ${[...seen].join(', ')}`).toBeGreaterThanOrEqual(2);
    expect(countedRunning, 'the counts by state showed the running run').toBe(true);
    expect(Math.max(...seen)).toBeGreaterThan(Math.min(...seen));
    await expect.poll(() => page.getByText('Nothing is running right now.').count(), { timeout: 30_000 }).toBe(1);
    // The same document all along: the stream moved it, not a reload.
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  });

  it('lists the results as DRS objects with a signed link that works without the session', async () => {
    const { page } = alice;
    await gotoReady(page, `${base}/runs/${runA}`);
    await expect.poll(() => page.locator('.state .badge').textContent(), { timeout: 60_000 }).toContain('Complete');
    const bundle = await page.getByRole('textbox', { name: 'drs:// URI of the results bundle' }).inputValue();
    expect(bundle).toMatch(/^drs:\/\/[^/]+\/[0-9a-f-]{36}$/);
    expect(await page.getByRole('textbox', { name: 'drs:// URI of chr_20.zip' }).inputValue()).toMatch(/^drs:\/\//);
    await page.getByRole('button', { name: 'Signed link for chr_20.zip' }).click();
    const command = await page.getByRole('textbox', { name: 'Command to download chr_20.zip' }).inputValue();
    const url = /'(https?:\/\/[^']+)'$/.exec(command)![1]!;
    const res = await fetch(url); // no cookie, no token
    expect(res.status).toBe(200);
    const sha = createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex');
    expect(await page.getByRole('cell', { name: sha }).count()).toBe(1);
    await checkPage(page, '32-run-drs');
  });

  it('runs the same inputs again and compares the two runs', async () => {
    const { page } = alice;
    await page.getByLabel('Service').selectOption('mis2');
    await page.getByRole('button', { name: 'Run again with the same inputs' }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}\?submitted=1&resubmitted_from=/, { timeout: 30_000 });
    runB = /\/runs\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    expect(runB).not.toBe(runA);
    await expect.poll(() => page.locator('.state .badge').textContent(), { timeout: 90_000, interval: 500 }).toContain('Complete');
    await page.getByRole('link', { name: 'compare the two' }).click();
    await page.waitForURL(/\/runs\/compare\?a=/);
    await expect.poll(() => page.getByRole('heading', { name: 'Quality control' }).count()).toBe(1);
    expect(await page.getByText('did not use the same input files').count()).toBe(0);
    expect(await page.getByRole('rowheader', { name: 'Reference Overlap (%)' }).count()).toBe(1);
    // r² charts for both chromosomes, each with its summary in words.
    const charts = page.locator('figure.r2 svg[role=img]');
    await expect.poll(() => charts.count()).toBe(2);
    expect(await charts.first().getAttribute('aria-label')).toMatch(/Chromosome 20\. Run A: [\d,]+ variants, mean r² 0\.\d{3}/);
    await checkPage(page, '33-compare');
    // Phone-sized: the comparison and the run page scroll down, never sideways (wide tables scroll in their box).
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(await overflow()).toBeLessThanOrEqual(0);
      await screenshot(page, '33-compare-phone');
      await gotoReady(page, `${base}/runs/${runA}`);
      expect(await overflow()).toBeLessThanOrEqual(0);
      await screenshot(page, '32-run-drs-phone');
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  it('previews where a run would go, schedules one for later and submits a batch', async () => {
    const { page } = alice;
    await gotoReady(page, `${base}/runs/new`);
    await page.getByLabel('Reference panel').selectOption('1000g-phase-3-v5');
    await expect.poll(() => page.locator('.route').textContent()).toMatch(/would send it to mis2/);
    await page.getByText('All services, in the order the broker would try them').click();
    expect(await page.locator('.route li').count()).toBeGreaterThan(1);
    await checkPage(page, '38-new-run-route');

    // Scheduled for tomorrow: the run waits, and its page says so.
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 16);
    await page.getByLabel(/Start no earlier than/).fill(tomorrow);
    await page.locator('input[type=file]').setInputFiles([demoFile('hg19', 22)]);
    await page.getByRole('button', { name: 'Submit the run' }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}\?submitted=1$/, { timeout: 60_000 });
    await expect.poll(() => page.locator('main').textContent()).toContain('scheduled: it waits until then');
    expect((await page.locator('main').textContent()) ?? '').toMatch(/Asked for\s*any service/);
    await page.getByRole('button', { name: 'Cancel this run' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContainEqual(expect.stringContaining('Cancel requested'));

    // Two files, one run each, as a batch; then the batch is cancelled as one.
    await gotoReady(page, `${base}/runs/new`);
    await page.getByLabel('Reference panel').selectOption('1000g-phase-3-v5');
    await page.locator('input[type=file]').setInputFiles([demoFile('hg19', 20), demoFile('hg19', 21)]);
    await page.getByLabel(/One run per file/).check();
    await page.getByLabel(/Batch name/).fill('two cohorts');
    await page.getByRole('button', { name: 'Submit the run' }).click();
    await page.waitForURL(/\/batches\/[^/?]+\?submitted=1$/, { timeout: 60_000 });
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toContain('two cohorts');
    expect(await page.locator('ol.runs li').count()).toBe(2);
    await checkPage(page, '39-batch');
    await page.getByRole('button', { name: /Cancel the batch/ }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContainEqual(expect.stringContaining('Cancel requested'));
    await gotoReady(page, `${base}/batches`);
    expect(await page.getByRole('link', { name: 'two cohorts' }).count()).toBe(1);
  });

  it('shows the webhook’s deliveries', async () => {
    const { page } = alice;
    await expect.poll(() => received.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    await gotoReady(page, `${base}/settings`);
    await expect.poll(async () => {
      await page.reload();
      return page.getByText('Delivered').count();
    }, { timeout: 30_000, interval: 1_000 }).toBeGreaterThanOrEqual(1);
    expect(await page.getByText(/#1: 204 in \d+ ms/).count()).toBeGreaterThanOrEqual(1);
    await page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true');
    await checkPage(page, '34-settings-deliveries');
  });

  it('shows the services with health history and a recommendation for AFR, hg38', async () => {
    const { page } = alice;
    await gotoReady(page, `${base}/services?ancestry=AFR&rbuild=hg38#recommend`);
    expect(await page.getByText('Health history').count()).toBeGreaterThan(0);
    const first = (await page.locator('.recs > li').first().textContent()) ?? '';
    expect(first).toMatch(/H3Africa|h3africa/i);
    await checkPage(page, '35-services-recommendation');
  });

  it('refuses alice the administration of services', async () => {
    const { page } = alice;
    expect(await page.getByRole('link', { name: 'Manage services' }).count()).toBe(0);
    const res = await gotoReady(page, `${base}/admin/backends`);
    expect(res?.status()).toBe(403);
    expect(await page.getByRole('alert').textContent()).toContain('for administrators');
  });

  it('lets the administrator disable a service and find it in the audit trail', async () => {
    const admin = await openBrowser();
    try {
      const { page } = admin;
      await signIn(page, base, 'admin');
      await page.getByRole('link', { name: 'Manage services' }).click();
      await page.waitForURL(`${base}/admin/backends`);
      await page.getByLabel('Reason', { exact: false }).first().waitFor();
      await page.locator('#reason-afrigen').fill('Maintenance until Monday');
      await page.getByRole('button', { name: 'Disable afrigen' }).click();
      await expect.poll(() => page.getByRole('status').allTextContents()).toContainEqual(expect.stringContaining('Disabled afrigen'));
      await expect.poll(() => page.getByRole('button', { name: 'Enable afrigen' }).count()).toBe(1);
      await checkPage(page, '36-admin-backends');

      await gotoReady(page, `${base}/admin/audit?action=admin.backend_changed`);
      await expect.poll(() => page.getByRole('cell', { name: 'admin.backend_changed' }).count()).toBeGreaterThan(0);
      const trail = (await page.locator('tbody').textContent()) ?? '';
      expect(trail).toContain('afrigen');
      expect(trail).toContain('disabled');
      await checkPage(page, '37-admin-audit-backend');

      // Services show it as disabled (text and symbol), then it is enabled again.
      await gotoReady(page, `${base}/services`);
      expect(await page.getByText('Disabled: Maintenance until Monday').count()).toBe(1);
      await gotoReady(page, `${base}/admin/backends`);
      await page.getByRole('button', { name: 'Enable afrigen' }).click();
      await expect.poll(() => page.getByRole('status').allTextContents()).toContainEqual(expect.stringContaining('Enabled afrigen'));
    } finally {
      await admin.close();
    }
  });
});
