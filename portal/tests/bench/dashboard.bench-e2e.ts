/**
 * Measures what docs/benchmarks.md reports for the portal: the JS and CSS a page loads (raw and
 * gzipped) and the time to first render of the dashboard for a user with 1,000 runs (10 of them
 * running, so the dashboard also reads 10 runs for their progress bars). Real broker, real
 * PostgreSQL, real chromium; the runs are inserted straight into the database (as the broker's
 * read benchmark does) with the worker off, so nothing moves while it measures.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '@ibroker/broker/testing/broker';
import { ARTIFACTS, BUILD_DIR, browserAvailable, openBrowser, signIn, type BrowserUser } from '../e2e/support';

const RUNS = Number(process.env.BENCH_RUNS ?? 1000);
const RUNNING = 10;
const LOADS = 7;

async function insertRuns(databaseUrl: string, key: string, issuer: string, subject: string): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  const tasks = ['Input Validation', 'Quality Control', 'Phasing and Imputation', 'Summary'].map((name, i) => ({
    id: String(i + 1), name, state: i < 2 ? 'COMPLETE' : i === 2 ? 'RUNNING' : 'QUEUED', startTime: i < 3 ? '2025-01-01T10:00:00.000Z' : null,
    endTime: i < 2 ? '2025-01-01T10:01:00.000Z' : null, messages: [{ level: 'info', text: `${name}`, time: '2025-01-01T10:00:00.000Z' }],
  }));
  const sql = `
    INSERT INTO runs (id, owner_key, owner_issuer, owner_subject, state, request, params, tags,
      requested_backend, backend_id, remote_id, remote_state, submit_intent_at, submitted_at,
      start_time, end_time, tasks, system_logs, errors, progress, password_enc, outputs_fetched, created_at, updated_at)
    SELECT gen_random_uuid(), $1, $2, $3, CASE WHEN g <= $5 THEN 'RUNNING' ELSE 'COMPLETE' END,
      '{"workflow_params":{"refpanel":"1000g-phase-3-v5"},"workflow_type":"NFL","workflow_type_version":"DSL2","workflow_url":"x"}'::jsonb,
      '{"refpanel":"1000g-phase-3-v5","population":"eur","build":"hg19"}'::jsonb, '{}'::jsonb,
      'auto', 'mis2', 'job-' || g, 'running', now() - g * interval '1 minute', now() - g * interval '1 minute',
      now() - g * interval '1 minute', CASE WHEN g <= $5 THEN NULL ELSE now() - g * interval '1 minute' + interval '45 minutes' END,
      $6::jsonb, '["Routed to mis2 (bench)."]'::jsonb, '[]'::jsonb, 50, 'not-sealed', g > $5, now() - g * interval '1 minute', now()
    FROM generate_series(1, $4::int) AS g`;
  await c.query(sql, [key, issuer, subject, RUNS, RUNNING, JSON.stringify(tasks)]);
  await c.end();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.runIf(browserAvailable())('portal benchmark', () => {
  let tb: TestBroker;
  let user: BrowserUser;

  beforeAll(async () => {
    tb = await startTestBroker({ portal: BUILD_DIR, env: { WORKER: 'false' } });
    user = await openBrowser();
  });
  afterAll(async () => {
    await user?.close();
    await tb?.close();
  });

  it(`dashboard with ${RUNS} runs: page weight and first render`, async () => {
    const { page } = user;
    await signIn(page, tb.url, 'alice');
    const me = (await (await user.context.request.get(`${tb.url}/api/v1/me`)).json()) as { issuer: string; subject: string };
    const { ownerKey } = await import('@ibroker/broker/auth/principal');
    const key = ownerKey({ issuer: me.issuer, subject: me.subject });
    await insertRuns(tb.broker.deps.config.databaseUrl!, key, me.issuer, me.subject);
    const check = new pg.Client({ connectionString: tb.broker.deps.config.databaseUrl! });
    await check.connect();
    expect(Number((await check.query('SELECT count(*) AS n FROM runs WHERE owner_key = $1', [key])).rows[0].n)).toBe(RUNS);
    await check.end();

    const assets = new Map<string, { type: string; raw: number; gzip: number }>();
    page.on('response', async (res) => {
      const type = res.request().resourceType();
      if (type !== 'script' && type !== 'stylesheet') return;
      const body = await res.body().catch(() => null);
      if (body) assets.set(res.url(), { type, raw: body.length, gzip: gzipSync(body, { level: 9 }).length });
    });
    const ttfb: number[] = [];
    const fcp: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      await page.goto(`${tb.url}/`, { waitUntil: 'load' });
      const t = await page.evaluate(
        () =>
          new Promise<{ ttfb: number; fcp: number }>((resolve) => {
            const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
            const done = (fcp: number) => resolve({ ttfb: nav.responseStart - nav.startTime, fcp });
            new PerformanceObserver((list) => {
              const e = list.getEntries().find((x) => x.name === 'first-contentful-paint');
              if (e) done(e.startTime);
            }).observe({ type: 'paint', buffered: true });
            setTimeout(() => done(NaN), 5000);
          }),
      );
      ttfb.push(t.ttfb);
      fcp.push(t.fcp);
    }
    expect(await page.locator('.counts').textContent()).toContain(String(RUNS - RUNNING));
    expect(await page.locator('progress').count()).toBe(RUNNING);

    const sum = (type: string, k: 'raw' | 'gzip') => [...assets.values()].filter((a) => a.type === type).reduce((n, a) => n + a[k], 0);
    const result = {
      runs: RUNS,
      loads: LOADS,
      ttfb_ms_median: Math.round(median(ttfb)),
      first_contentful_paint_ms_median: Math.round(median(fcp)),
      js: { files: [...assets.values()].filter((a) => a.type === 'script').length, raw: sum('script', 'raw'), gzip: sum('script', 'gzip') },
      css: { files: [...assets.values()].filter((a) => a.type === 'stylesheet').length, raw: sum('stylesheet', 'raw'), gzip: sum('stylesheet', 'gzip') },
      html_bytes: (await page.content()).length,
    };
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'bench-dashboard.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\nportal bench: ${JSON.stringify(result)}\n`);
  });
});
