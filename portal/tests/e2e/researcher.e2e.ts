/**
 * A researcher's day in a real browser: alice signs in through the dev provider, reads who she
 * is, browses the services, uploads the demo cohort (drag-and-drop checks and the file input),
 * watches the run complete, downloads a result and checks its SHA-256 against the API, reads the
 * QC report, stores and deletes a token, is refused the audit trail and another user's run, and
 * signs out. Every page is checked with axe-core and photographed.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '@ibroker/broker/testing/broker';
import { submit } from '@ibroker/broker/testing/wes-client';
import { BUILD_DIR, browserAvailable, checkPage, demoFile, gotoReady, openBrowser, signIn, type BrowserUser } from './support';

describe.runIf(browserAvailable())('portal: a researcher in the browser', () => {
  let tb: TestBroker;
  let alice: BrowserUser;
  let base: string;
  let runId = '';

  beforeAll(async () => {
    // Imputation slow enough (4 s) to cancel a running run by hand, fast enough for a test.
    tb = await startTestBroker({ portal: BUILD_DIR, timing: { imputation: 4_000 } });
    base = tb.url;
    expect(tb.broker.portal).toBe(true);
    alice = await openBrowser();
  });

  afterAll(async () => {
    await alice?.close();
    await tb?.close();
  });

  it('shows a welcome page to visitors and keeps the APIs where they were', async () => {
    const { page } = alice;
    await gotoReady(page, `${base}/`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toContain('Genotype imputation');
    await checkPage(page, '01-welcome');
    // The broker's own paths stay the broker's.
    expect((await fetch(`${base}/healthz`).then((r) => r.json())) as unknown).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/ga4gh/wes/v1/runs`)).status).toBe(401);
    // A page for signed-in people sends a visitor to the login.
    const res = await fetch(`${base}/runs`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/auth/login?return_to=%2Fruns');
  });

  it('signs alice in through the dev provider and shows her dashboard', async () => {
    const { page } = alice;
    await signIn(page, base, 'alice');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Dashboard');
    await expect.poll(() => page.getByText('You have no runs yet.').count()).toBe(1);
    // Health cards of both demo backends.
    await expect.poll(() => page.getByRole('heading', { name: 'mis2 simulator' }).count()).toBe(1);
    await expect.poll(() => page.getByRole('heading', { name: 'afrigen simulator' }).count()).toBe(1);
    await checkPage(page, '02-dashboard-empty');
    // The session cookie is HttpOnly: page scripts cannot read it, and no token is in the page.
    expect(await page.evaluate(() => document.cookie)).not.toContain('session');
    expect(await page.content()).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });

  it('shows who she is, her accepted visas and what she may do', async () => {
    const { page } = alice;
    await page.getByRole('link', { name: 'Who am I' }).click();
    await page.waitForURL(`${base}/me`);
    const body = (await page.locator('main').textContent()) ?? '';
    expect(body).toContain('alice');
    expect(body).toContain('ResearcherStatus');
    expect(body).toContain('ControlledAccessGrants');
    expect(body).toMatch(/Yes\s*— Submit runs/);
    expect(body).toMatch(/No\s*— Read the audit trail/);
    await checkPage(page, '03-me');
  });

  it('lists the services and filters their panels', async () => {
    const { page } = alice;
    await gotoReady(page, `${base}/services`);
    await expect.poll(() => page.getByRole('cell', { name: '1000g-phase-3-v5' }).count()).toBeGreaterThan(0);
    await page.getByLabel('Build').selectOption('hg38');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/build=hg38/);
    const builds = await page.locator('tbody tr td:nth-child(3)').allTextContents();
    expect(builds.length).toBeGreaterThan(0);
    expect(new Set(builds)).toEqual(new Set(['hg38']));
    await checkPage(page, '04-services');
  });

  it('checks dropped files before upload and shows the broker’s refusal in words', async () => {
    const { page } = alice;
    // As on a busy CI machine (CPU slowed down 10 times): `load` fires before Svelte has
    // hydrated the page, and a drop dispatched then reaches HTML without its handlers and is lost
    // (CI's flaky failure). The test waits for the layout's hydration marker first.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 10 });
    await gotoReady(page, `${base}/runs/new`);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    await cdp.detach();
    // Drop a plain-gzip file on the drop zone: the quick check says what is wrong with it.
    await page.evaluate(() => {
      const gz = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const dt = new DataTransfer();
      dt.items.add(new File([gz], 'plain.vcf.gz', { type: 'application/gzip' }));
      document.querySelector('.drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await expect.poll(() => page.getByText('Compressed with plain gzip, not bgzip').count()).toBe(1);
    expect(await page.locator('input[type=file]').evaluate((i) => (i as HTMLInputElement).files?.length)).toBe(1);
    await checkPage(page, '05-new-run-checked');

    // A VCF compressed with plain gzip: the broker's pre-flight refuses it, the form says why.
    const plain = join(mkdtempSync(join(tmpdir(), 'portal-e2e-')), 'chr20.vcf.gz');
    writeFileSync(plain, gzipSync('##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n20\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\n'));
    await page.getByLabel('Reference panel').selectOption('1000g-phase-3-v5');
    await page.locator('input[type=file]').setInputFiles([plain]);
    await expect.poll(() => page.getByText('Compressed with plain gzip, not bgzip').count()).toBe(1);
    await page.getByRole('button', { name: 'Submit the run' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.count(), { timeout: 30_000 }).toBe(1);
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('The run was not submitted.');
    // The broker's own pre-flight message, not a generic one.
    expect(text).toMatch(/bgzip|BGZF|block/i);
    expect(page.url()).toBe(`${base}/runs/new`);
    await checkPage(page, '06-new-run-refused');
  });

  it('uploads the demo cohort with progress and follows the run to COMPLETE', async () => {
    const { page } = alice;
    await gotoReady(page, `${base}/runs/new`);
    await page.getByLabel('Reference panel').selectOption('1000g-phase-3-v5');
    await page.getByLabel('Population').selectOption('eur');
    await page.getByLabel('Build of your files').selectOption('hg19');
    await page.locator('input[type=file]').setInputFiles([demoFile('hg19', 20), demoFile('hg19', 21), demoFile('hg19', 22)]);
    await expect.poll(() => page.getByText('bgzipped VCF; the broker checks').count()).toBe(3);
    await page.getByRole('button', { name: 'Submit the run' }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}\?submitted=1$/, { timeout: 60_000 });
    runId = /\/runs\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    await expect.poll(() => page.getByText('Run submitted').count()).toBe(1);

    // The page re-reads the run while it moves; wait for the results.
    await expect.poll(() => page.locator('.state .badge').textContent(), { timeout: 90_000, interval: 500 }).toContain('Complete');
    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).toContain('mis2'); // the backend, and why
    expect(main).toMatch(/Routed to mis2|Submitted to mis2/);
    for (const step of ['Input Validation', 'Quality Control', 'Phasing and Imputation']) {
      expect(await page.getByRole('heading', { level: 3, name: new RegExp(step) }).count()).toBe(1);
    }
    await expect.poll(() => page.getByRole('link', { name: 'chr_20.zip' }).count()).toBe(1);
    // The QC report, rendered as text.
    expect(await page.getByRole('heading', { name: /Quality-control report/ }).count()).toBe(1);
    const qc = (await page.locator('.qc').textContent()) ?? '';
    expect(qc).toContain('Reference Overlap');
    expect(qc).not.toContain('::group');
    expect(qc).not.toContain('<b>');
    await checkPage(page, '07-run-complete');
  });

  it('downloads a result through the broker with the SHA-256 the API states', async () => {
    const { page, context } = alice;
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'chr_20.zip' }).click()]);
    const path = await download.path();
    const sha = createHash('sha256').update(readFileSync(path)).digest('hex');
    // The API, with the same cookie, says what it should be.
    const log = (await (await context.request.get(`${base}/ga4gh/wes/v1/runs/${runId}`)).json()) as { outputs: { files: { name: string; sha256: string }[] } };
    const expected = log.outputs.files.find((f) => f.name === 'chr_20.zip')!.sha256;
    expect(sha).toBe(expected);
    expect(await page.getByRole('cell', { name: expected }).count()).toBe(1);

    // The zips' password only on request.
    expect(await page.locator('code.secret').count()).toBe(0);
    await page.getByRole('button', { name: 'Show the password of the result zips' }).click();
    await expect.poll(() => page.locator('code.secret').textContent()).toMatch(/^[A-Za-z0-9]+$/);
  });

  it('shows the run on the dashboard and in the run list', async () => {
    const { page } = alice;
    await gotoReady(page, `${base}/`);
    await expect.poll(() => page.getByRole('link', { name: runId }).count()).toBe(1);
    const counts = (await page.locator('.counts').textContent()) ?? '';
    expect(counts).toMatch(/1\s*✓\s*Complete/);
    await checkPage(page, '08-dashboard');
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.waitForURL(`${base}/runs`);
    expect(await page.getByRole('link', { name: runId }).count()).toBe(1);
    await checkPage(page, '09-runs');
  });

  it('cancels a running run with the form (CSRF token sent)', async () => {
    const { page } = alice;
    await gotoReady(page, `${base}/runs/new`);
    await page.getByLabel('Reference panel').selectOption('1000g-phase-3-v5');
    await page.locator('input[type=file]').setInputFiles([demoFile('hg19', 20)]);
    await page.getByRole('button', { name: 'Submit the run' }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}\?submitted=1$/, { timeout: 60_000 });
    await page.getByRole('button', { name: 'Cancel this run' }).click();
    await expect.poll(() => page.getByRole('status').allTextContents()).toContainEqual(expect.stringContaining('Cancel requested'));
    await expect.poll(() => page.locator('.state .badge').textContent(), { timeout: 60_000, interval: 500 }).toMatch(/Cancell(ing|ed)/);
    await checkPage(page, '10-run-cancelled');
  });

  it('stores, replaces and deletes a backend token without ever showing it', async () => {
    const { page } = alice;
    const secret = 'my-very-secret-mis-token-3f9a1c';
    await gotoReady(page, `${base}/settings`);
    await expect.poll(() => page.getByText('You have no stored tokens.').count()).toBe(1);
    await checkPage(page, '11-settings-empty');
    await page.getByLabel('Service', { exact: true }).selectOption('mis2');
    await page.getByLabel(/API token/).fill(secret);
    await page.getByLabel(/Label/).fill('my MIS token');
    await page.getByRole('button', { name: 'Save the token' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/Stored your token for mis2 \(fingerprint sha256:[0-9a-f]{8}\)/);
    expect(await page.getByRole('cell', { name: 'my MIS token' }).count()).toBe(1);
    expect(await page.getByLabel(/API token/).inputValue()).toBe('');
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    expect(await page.content()).not.toContain(secret);
    await checkPage(page, '12-settings-stored');

    await page.getByLabel(/API token/).fill(`${secret}-2`);
    await page.getByRole('button', { name: 'Save the token' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Replaced your token for mis2');

    await page.getByRole('button', { name: 'Delete the token for mis2' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Deleted your token for mis2');
    await expect.poll(() => page.getByText('You have no stored tokens.').count()).toBe(1);
  });

  it('refuses alice the audit trail and another user’s run with the API’s message', async () => {
    const { page } = alice;
    expect(await page.getByRole('link', { name: 'Audit trail' }).count()).toBe(0);
    const res = await gotoReady(page, `${base}/admin/audit`);
    expect(res?.status()).toBe(403);
    expect(await page.getByRole('alert').textContent()).toContain('Error 403');
    expect(await page.getByRole('alert').textContent()).toMatch(/audit/i);
    await checkPage(page, '13-admin-refused');

    const other = await submit(tb.url, await tb.token('demo-cli-2'), {
      files: [demoFile('hg19', 20)],
      params: { refpanel: '1000g-phase-3-v5', population: 'eur' },
    });
    expect(other.status).toBe(200);
    const { run_id: otherId } = (await other.json()) as { run_id: string };
    const res2 = await gotoReady(page, `${base}/runs/${otherId}`);
    expect(res2?.status()).toBe(404);
    expect(await page.getByRole('alert').textContent()).toContain('Error 404');
    expect(await page.content()).not.toContain('chr20.vcf.gz');
    await checkPage(page, '14-foreign-run');
  });

  it('signs out through POST /auth/logout with the CSRF token', async () => {
    const { page, context } = alice;
    await gotoReady(page, `${base}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForLoadState('load');
    // The dev provider's end-session page may ask to confirm.
    const confirm = page.getByRole('button', { name: /yes|sign me out/i });
    if (await confirm.count()) await confirm.first().click();
    // The provider sends her back to the portal's public welcome page.
    await page.waitForURL(`${base}/`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toContain('Genotype imputation');
    expect((await context.request.get(`${base}/auth/session`).then((r) => r.json())) as { authenticated: boolean }).toMatchObject({ authenticated: false });
    await expect.poll(() => page.getByRole('link', { name: /Sign in/ }).count()).toBeGreaterThan(0);
    expect(await page.getByText('Signed in as').count()).toBe(0);
  });
});
