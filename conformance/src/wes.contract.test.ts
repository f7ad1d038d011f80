/**
 * Every WES 1.1 operation, called live on a real broker (real PostgreSQL, dev OIDC, Cloudgene
 * simulators), every response checked against the official GA4GH WES 1.1.0 schemas (see
 * contract.ts): success bodies, and the error bodies of 400, 401 and 404.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ContractRecorder } from './contract';
import { FAST_BACKEND, SLOW_BACKEND, startConformanceBroker, type ConformanceBroker } from './launcher';
import { call, demoFile, runIdOf, submitRun, TERMINAL, waitForState } from './wes-client';
import { wesSchemas } from './wes-schema';

const RUN_PARAMS = { refpanel: 'hapmap-2', population: 'eur', build: 'hg19' };
const CHR20 = demoFile('hg19', 20);

let tb: ConformanceBroker;
let wes: string;
let token: string;
let otherToken: string;
const rec = new ContractRecorder(wesSchemas());

/** A run that reached COMPLETE on the fast backend, and its task ids. */
let done: { runId: string; taskIds: string[] };
/** Run ids the first client created, to check that listing returns exactly them. */
const created: string[] = [];

beforeAll(async () => {
  tb = await startConformanceBroker({ adminUrl: inject('conformancePgAdminUrl') });
  wes = tb.wesUrl;
  token = await tb.token('demo-cli');
  otherToken = await tb.token('demo-cli-2');
});

afterAll(async () => {
  if (rec.calls.length) console.info(`WES contract calls (method path: statuses):\n  ${rec.summary().join('\n  ')}`);
  await tb?.close();
});

const items = <T>(body: unknown, key: string): T[] => {
  const v = (body as Record<string, unknown>)[key];
  if (!Array.isArray(v)) throw new Error(`${key} is not an array in ${JSON.stringify(body)}`);
  return v as T[];
};
const field = (body: unknown, key: string): unknown => (body as Record<string, unknown>)[key];

describe('GET /service-info (GetServiceInfo)', () => {
  it('answers without a token with a valid ServiceInfo', async () => {
    const r = await rec.check(wes, '/service-info', 'GET', '/service-info', null);
    expect(r.status).toBe(200);
    expect(field(r.body, 'type')).toEqual({ group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' });
    expect(field(r.body, 'supported_wes_versions')).toContain('1.1.0');
  });

  it('answers with a token too', async () => {
    const r = await rec.check(wes, '/service-info', 'GET', '/service-info', token);
    expect(r.status).toBe(200);
  });
});

describe('a run that completes: POST /runs, GET /runs/{id} while active and when COMPLETE, /status, /tasks, /tasks/{id}', () => {
  it('POST /runs with a real multipart body and a demo VCF returns a RunId', async () => {
    const res = await submitRun(wes, token, { files: [CHR20], params: { ...RUN_PARAMS, backend: FAST_BACKEND } });
    const r = await rec.verifyResponse('/runs', 'POST', res);
    expect(r.status).toBe(200);
    const runId = runIdOf(r.body);
    created.push(runId);
    done = { runId, taskIds: [] };

    // Right after submission the run is not finished yet: QUEUED, INITIALIZING or RUNNING.
    const early = await rec.check(wes, '/runs/{run_id}', 'GET', `/runs/${runId}`, token);
    expect(early.status).toBe(200);
    expect(['QUEUED', 'INITIALIZING', 'RUNNING']).toContain(field(early.body, 'state'));
    const earlyStatus = await rec.check(wes, '/runs/{run_id}/status', 'GET', `/runs/${runId}/status`, token);
    expect(field(earlyStatus.body, 'run_id')).toBe(runId);
  });

  it('GET /runs/{id} when COMPLETE is a valid RunLog with request, run_log, task_logs_url and outputs', async () => {
    expect(await waitForState(wes, token, done.runId, (s) => TERMINAL.has(s))).toBe('COMPLETE');
    const r = await rec.check(wes, '/runs/{run_id}', 'GET', `/runs/${done.runId}`, token);
    expect(r.status).toBe(200);
    expect(field(r.body, 'state')).toBe('COMPLETE');
    expect(field(r.body, 'task_logs_url')).toBe(`${wes}/runs/${done.runId}/tasks`);
    expect(wesSchemas().validateSchema('RunRequest', field(r.body, 'request')).valid).toBe(true);
    // The deprecated task_logs, when present, hold TaskLogs (each valid as TaskLog, not only as Log).
    for (const t of items<unknown>(r.body, 'task_logs')) expect(wesSchemas().validateSchema('TaskLog', t).errors).toEqual([]);
  });

  it('GET /runs/{id}/status when COMPLETE', async () => {
    const r = await rec.check(wes, '/runs/{run_id}/status', 'GET', `/runs/${done.runId}/status`, token);
    expect(r.body).toEqual({ run_id: done.runId, state: 'COMPLETE' });
  });

  it('GET /runs/{id}/tasks pages with page_size=1 until next_page_token is empty', async () => {
    const all = await rec.check(wes, '/runs/{run_id}/tasks', 'GET', `/runs/${done.runId}/tasks`, token);
    const allTasks = items<{ id: string }>(all.body, 'task_logs');
    expect(allTasks.length).toBeGreaterThan(1);
    expect(field(all.body, 'next_page_token')).toBe('');

    const paged: string[] = [];
    let pageToken = '';
    for (let i = 0; i < 20; i++) {
      const q = `?page_size=1${pageToken ? `&page_token=${encodeURIComponent(pageToken)}` : ''}`;
      const r = await rec.check(wes, '/runs/{run_id}/tasks', 'GET', `/runs/${done.runId}/tasks${q}`, token);
      const page = items<{ id: string }>(r.body, 'task_logs');
      expect(page.length).toBeLessThanOrEqual(1);
      paged.push(...page.map((t) => t.id));
      const next = field(r.body, 'next_page_token');
      expect(typeof next).toBe('string');
      if (next === '') break;
      pageToken = next as string;
    }
    expect(paged).toEqual(allTasks.map((t) => t.id));
    done.taskIds = paged;
  });

  it('GET /runs/{id}/tasks/{task_id} for every task is a valid TaskLog', async () => {
    for (const id of done.taskIds) {
      const r = await rec.check(wes, '/runs/{run_id}/tasks/{task_id}', 'GET', `/runs/${done.runId}/tasks/${encodeURIComponent(id)}`, token);
      expect(field(r.body, 'id')).toBe(id);
    }
  });
});

describe('a run that is canceled: RUNNING reads, POST /runs/{id}/cancel', () => {
  let runId: string;

  it('is read while RUNNING (RunLog, RunStatus, TaskListResponse)', async () => {
    const res = await submitRun(wes, token, { files: [CHR20], params: { ...RUN_PARAMS, backend: SLOW_BACKEND }, fields: { tags: JSON.stringify({ suite: 'conformance' }) } });
    runId = runIdOf((await rec.verifyResponse('/runs', 'POST', res)).body);
    created.push(runId);
    await waitForState(wes, token, runId, (s) => s === 'RUNNING' || TERMINAL.has(s));
    const log = await rec.check(wes, '/runs/{run_id}', 'GET', `/runs/${runId}`, token);
    expect(field(log.body, 'state')).toBe('RUNNING');
    expect(field(field(log.body, 'request'), 'tags')).toEqual({ suite: 'conformance' });
    const status = await rec.check(wes, '/runs/{run_id}/status', 'GET', `/runs/${runId}/status`, token);
    expect(status.body).toEqual({ run_id: runId, state: 'RUNNING' });
    await rec.check(wes, '/runs/{run_id}/tasks', 'GET', `/runs/${runId}/tasks`, token);
  });

  it('POST /runs/{id}/cancel returns the RunId; the run goes CANCELING → CANCELED', async () => {
    const r = await rec.check(wes, '/runs/{run_id}/cancel', 'POST', `/runs/${runId}/cancel`, token);
    expect(r.body).toEqual({ run_id: runId });
    const s = await rec.check(wes, '/runs/{run_id}/status', 'GET', `/runs/${runId}/status`, token);
    expect(['CANCELING', 'CANCELED']).toContain(field(s.body, 'state'));
    expect(await waitForState(wes, token, runId, (x) => TERMINAL.has(x))).toBe('CANCELED');
    const log = await rec.check(wes, '/runs/{run_id}', 'GET', `/runs/${runId}`, token);
    expect(field(log.body, 'state')).toBe('CANCELED');
  });
});

describe('GET /runs (ListRuns) paging', () => {
  it('walks every page with page_size=1: no duplicates, only the caller’s runs, empty next_page_token at the end', async () => {
    const res = await submitRun(wes, token, { files: [CHR20], params: { ...RUN_PARAMS, backend: FAST_BACKEND, mode: 'qc_only' } });
    created.push(runIdOf((await rec.verifyResponse('/runs', 'POST', res)).body));

    const seen: string[] = [];
    let pageToken = '';
    for (let i = 0; i < 20; i++) {
      const q = `?page_size=1${pageToken ? `&page_token=${encodeURIComponent(pageToken)}` : ''}`;
      const r = await rec.check(wes, '/runs', 'GET', `/runs${q}`, token);
      const runs = items<{ run_id: string }>(r.body, 'runs');
      expect(runs.length).toBeLessThanOrEqual(1);
      // WES 1.1 allows RunStatus items but deprecates them; this broker sends RunSummary.
      for (const run of runs) expect(wesSchemas().validateSchema('RunSummary', run).errors).toEqual([]);
      seen.push(...runs.map((x) => x.run_id));
      const next = field(r.body, 'next_page_token');
      expect(typeof next).toBe('string');
      if (next === '') break;
      pageToken = next as string;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...created].sort());
  });

  it('one page holds everything when page_size is large, and ends with an empty next_page_token', async () => {
    const r = await rec.check(wes, '/runs', 'GET', '/runs?page_size=100', token);
    expect(items(r.body, 'runs')).toHaveLength(created.length);
    expect(field(r.body, 'next_page_token')).toBe('');
    const noSize = await rec.check(wes, '/runs', 'GET', '/runs', token);
    expect(items(noSize.body, 'runs').length).toBeGreaterThan(0);
  });

  it('another user sees none of these runs', async () => {
    const r = await rec.check(wes, '/runs', 'GET', '/runs', otherToken);
    expect(r.body).toEqual({ runs: [], next_page_token: '' });
  });
});

describe('400: bad input gets an ErrorResponse and creates nothing', () => {
  const before = async () => items((await rec.check(wes, '/runs', 'GET', '/runs?page_size=100', token)).body, 'runs').length;

  it('POST /runs with an unsupported workflow_type', async () => {
    const n = await before();
    const res = await submitRun(wes, token, { files: [CHR20], params: { ...RUN_PARAMS, backend: FAST_BACKEND }, fields: { workflow_type: 'CWL' } });
    const r = await rec.verifyResponse('/runs', 'POST', res);
    expect(r.status).toBe(400);
    expect(String(field(r.body, 'msg'))).toMatch(/workflow_type/);
    expect(await before()).toBe(n);
  });

  it('POST /runs with workflow_params that is not JSON', async () => {
    const res = await submitRun(wes, token, { files: [CHR20], fields: { workflow_params: '{"refpanel": hapmap-2' } });
    const r = await rec.verifyResponse('/runs', 'POST', res);
    expect(r.status).toBe(400);
    expect(String(field(r.body, 'msg'))).toMatch(/workflow_params/);
  });

  it('POST /runs that is not multipart', async () => {
    const r = await rec.check(wes, '/runs', 'POST', '/runs', token, {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ workflow_type: 'NFL' }),
    });
    expect(r.status).toBe(400);
  });

  it('GET /runs with a page_token that was never issued', async () => {
    const r = await rec.check(wes, '/runs', 'GET', '/runs?page_token=not-a-token', token);
    expect(r.status).toBe(400);
    expect(String(field(r.body, 'msg'))).toMatch(/page_token/);
  });

  it.each(['0', '-1', 'abc', '1.5'])('GET /runs with page_size=%s', async (size) => {
    const r = await rec.check(wes, '/runs', 'GET', `/runs?page_size=${size}`, token);
    expect(r.status).toBe(400);
    expect(String(field(r.body, 'msg'))).toMatch(/page_size/);
  });
});

describe('401: no token or a bad token; WWW-Authenticate is sent', () => {
  const someRun = () => done.runId;
  const cases: [string, 'GET' | 'POST', () => string][] = [
    ['/runs', 'GET', () => '/runs'],
    ['/runs/{run_id}', 'GET', () => `/runs/${someRun()}`],
    ['/runs/{run_id}/status', 'GET', () => `/runs/${someRun()}/status`],
    ['/runs/{run_id}/tasks', 'GET', () => `/runs/${someRun()}/tasks`],
    ['/runs/{run_id}/tasks/{task_id}', 'GET', () => `/runs/${someRun()}/tasks/${encodeURIComponent(done.taskIds[0] ?? 'x')}`],
    ['/runs/{run_id}/cancel', 'POST', () => `/runs/${someRun()}/cancel`],
  ];

  it.each(cases)('%s %s without a token', async (path, method, concrete) => {
    const r = await rec.check(wes, path, method, concrete(), null);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it.each(cases)('%s %s with a token that is not a JWT', async (path, method, concrete) => {
    const r = await rec.check(wes, path, method, concrete(), 'not-a-jwt');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('POST /runs without a token (multipart body sent anyway)', async () => {
    const res = await submitRun(wes, null, { files: [CHR20], params: RUN_PARAMS });
    const r = await rec.verifyResponse('/runs', 'POST', res);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
});

describe('404: unknown run, unknown task, another user’s run', () => {
  const perRun = (id: string): [string, 'GET' | 'POST', string][] => [
    ['/runs/{run_id}', 'GET', `/runs/${id}`],
    ['/runs/{run_id}/status', 'GET', `/runs/${id}/status`],
    ['/runs/{run_id}/tasks', 'GET', `/runs/${id}/tasks`],
    ['/runs/{run_id}/tasks/{task_id}', 'GET', `/runs/${id}/tasks/${encodeURIComponent(done.taskIds[0] ?? 'x')}`],
    ['/runs/{run_id}/cancel', 'POST', `/runs/${id}/cancel`],
  ];

  it('for a run id that does not exist (a UUID, and something that is not one)', async () => {
    for (const id of [randomUUID(), 'no-such-run']) {
      for (const [path, method, concrete] of perRun(id)) {
        const r = await rec.check(wes, path, method, concrete, token);
        expect(r.status, `${method} ${concrete}`).toBe(404);
      }
    }
  });

  it('for a task id that does not exist in an existing run', async () => {
    const r = await rec.check(wes, '/runs/{run_id}/tasks/{task_id}', 'GET', `/runs/${done.runId}/tasks/no-such-task`, token);
    expect(r.status).toBe(404);
  });

  it('for another user’s run: every operation answers 404, and the run is not canceled', async () => {
    for (const [path, method, concrete] of perRun(done.runId)) {
      const r = await rec.check(wes, path, method, concrete, otherToken);
      expect(r.status, `${method} ${concrete}`).toBe(404);
    }
    const still = await rec.check(wes, '/runs/{run_id}/status', 'GET', `/runs/${done.runId}/status`, token);
    expect(field(still.body, 'state')).toBe('COMPLETE');
  });
});

describe('errors WES 1.1 does not list for the operation (still ErrorResponse, still the right status_code)', () => {
  // OpenAPI does not require a Responses Object to list every code; the official document lists
  // 400 only for GetServiceInfo, ListRuns and RunWorkflow. A client written from the spec still
  // gets the one error shape.
  it.each(['?page_token=not-a-token', '?page_size=0'])('GET /runs/{id}/tasks%s answers 400', async (q) => {
    const res = await call(`${wes}/runs/${done.runId}/tasks${q}`, token);
    const r = rec.verifyUndeclaredError('/runs/{run_id}/tasks', 'GET', res);
    expect(r.status).toBe(400);
  });

  it('POST /runs/{id}/cancel on a COMPLETE run is idempotent: 200 with its RunId, and it stays COMPLETE', async () => {
    const r = await rec.check(wes, '/runs/{run_id}/cancel', 'POST', `/runs/${done.runId}/cancel`, token);
    expect(r.status).toBe(200);
    expect(field(r.body, 'run_id')).toBe(done.runId);
    const s = await rec.check(wes, '/runs/{run_id}/status', 'GET', `/runs/${done.runId}/status`, token);
    expect(field(s.body, 'state')).toBe('COMPLETE');
  });
});

describe('coverage', () => {
  it('every operation of the official WES 1.1.0 document was answered with 200 and validated', () => {
    expect(rec.missingSuccess()).toEqual([]);
    const statuses = new Set(rec.calls.map((c) => c.status));
    for (const s of [200, 400, 401, 404]) expect(statuses.has(s)).toBe(true);
  });
});
