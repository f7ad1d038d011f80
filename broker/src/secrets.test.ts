/**
 * Secrets stay secret: the backend API token, the client's access token and a run's result
 * password never appear in a log line (debug level included), in a WES or broker API response
 * other than the password endpoint, or in the database except sealed. A real broker, a real run
 * on the MIS 2 simulator, and a backend failure on the way.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunListResponse, RunLog } from '@ibroker/api-spec/index';
import { startTestBroker, type TestBroker } from './testing/broker';
import { getJson, submit, terminal, waitForState } from './testing/wes-client';

const hg19 = ['20', '21', '22'].map((c) => join(import.meta.dirname, '../../demo/data/hg19', `chr${c}.vcf.gz`));

/** Every JSON line the broker logs, as written. */
const lines: string[] = [];
const logDestination = {
  write(line: string) {
    lines.push(line);
  },
};
const parsed = () => lines.map((l) => JSON.parse(l) as { level: number; msg: string; [k: string]: unknown });

let tb: TestBroker;
let accessToken: string;
let apiToken: string;
let runId: string;
let password: string;
/** Bodies of every API response the test read, to search afterwards. */
const bodies: { what: string; text: string }[] = [];

async function read(what: string, url: string): Promise<string> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${accessToken}` } });
  const text = await res.text();
  expect(res.status, `${what}: ${text}`).toBe(200);
  bodies.push({ what, text });
  return text;
}

/** Where a secret shows up in a text (a short excerpt, so a failure reads well), else null. */
function leak(text: string, secret: string): string | null {
  const i = text.indexOf(secret);
  return i < 0 ? null : `...${text.slice(Math.max(0, i - 100), i + secret.length + 10)}...`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  tb = await startTestBroker({
    env: { LOG_LEVEL: 'debug' },
    logDestination,
    // Long enough an imputation step for the polls to meet the injected failures.
    timing: { imputation: 4_000 },
  });
  accessToken = await tb.token();
  apiToken = tb.broker.deps.registry.list()[0]!.config.token!;
  expect(tb.broker.deps.registry.list()[0]!.config.id).toBe('mis2');
  expect(apiToken.length).toBeGreaterThan(16);

  const res = await submit(tb.url, accessToken, { files: hg19, params: { refpanel: '1000g-phase-3-v5', population: 'eur', build: 'hg19' } });
  const body = await res.text();
  bodies.push({ what: 'POST /runs', text: body });
  expect(res.status, body).toBe(200);
  runId = (JSON.parse(body) as { run_id: string }).run_id;

  // Once the job runs on MIS 2, make every call to it fail for a moment while the broker polls.
  await until('the run to be submitted to mis2', async () => {
    const [row] = (await tb.broker.deps.ds.query('SELECT remote_id FROM runs WHERE id = $1', [runId])) as { remote_id: string | null }[];
    return Boolean(row?.remote_id);
  });
  tb.sims.mis2!.setFaults({ errorRate: 1 });
  try {
    await until('a failed backend call to be logged', () => parsed().some((l) => l.msg === 'backend call failed'), 20_000);
  } finally {
    tb.sims.mis2!.setFaults({ errorRate: 0 });
  }

  const log = await waitForState(tb.url, accessToken, runId, terminal, 90_000);
  expect(log.state, JSON.stringify(log.run_log?.system_logs)).toBe('COMPLETE');

  const pw = JSON.parse(await read('result-password', `${tb.url}/api/v1/runs/${runId}/result-password`)) as { password: string };
  password = pw.password;
  expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
  bodies.pop(); // the one response that is meant to carry it

  await read('run log', `${tb.url}/ga4gh/wes/v1/runs/${runId}`);
  await read('run status', `${tb.url}/ga4gh/wes/v1/runs/${runId}/status`);
  await read('tasks', `${tb.url}/ga4gh/wes/v1/runs/${runId}/tasks`);
  const tasks = JSON.parse(bodies.at(-1)!.text) as { task_logs?: { id: string }[] };
  for (const t of tasks.task_logs ?? []) await read(`task ${t.id}`, `${tb.url}/ga4gh/wes/v1/runs/${runId}/tasks/${t.id}`);
  await read('run list', `${tb.url}/ga4gh/wes/v1/runs`);
  await read('service-info', `${tb.url}/ga4gh/wes/v1/service-info`);
  await read('backends', `${tb.url}/api/v1/backends`);
  await read('panels', `${tb.url}/api/v1/panels`);
}, 180_000);

afterAll(async () => {
  await tb?.close();
});

describe('secrets', () => {
  it('the broker logged at debug level, the failure included', () => {
    const all = parsed();
    expect(all.length).toBeGreaterThan(20);
    expect(tb.broker.deps.log.level).toBe('debug');
    expect(all.some((l) => l.msg === 'request' && String(l.path).endsWith('/result-password'))).toBe(true);
    const failures = all.filter((l) => l.msg === 'backend call failed');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((l) => l.level === 40 && l.backend === 'mis2')).toBe(true);
    expect(String(failures[0]!.err)).toMatch(/HTTP 500/);
  });

  it('no log line carries the backend API token, the access token or the result password', () => {
    for (const [name, secret] of [
      ['backend API token', apiToken],
      ['access token', accessToken],
      ['result password', password],
    ] as const) {
      const leaking = lines.filter((l) => l.includes(secret));
      expect(leaking, `${name} in the logs`).toEqual([]);
    }
    // The token is checked in pieces too: a JWT's signature alone is a credential leak.
    const signature = accessToken.split('.')[2]!;
    expect(lines.filter((l) => l.includes(signature))).toEqual([]);
  });

  it('the warning about the failed backend call names the backend and the problem, not the token', () => {
    const warnings = lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 40);
    expect(warnings.length).toBeGreaterThan(0);
    for (const w of warnings) {
      expect(w).not.toContain(apiToken);
      expect(w).not.toContain('X-Auth-Token');
    }
  });

  it('no WES or broker API response carries any of them', () => {
    expect(bodies.map((b) => b.what)).toEqual(expect.arrayContaining(['run log', 'tasks', 'run list', 'backends']));
    for (const { what, text } of bodies) {
      expect(leak(text, apiToken), `${what} has the backend API token`).toBeNull();
      expect(leak(text, accessToken), `${what} has the access token`).toBeNull();
      expect(leak(text, password), `${what} has the result password`).toBeNull();
    }
    const list = JSON.parse(bodies.find((b) => b.what === 'run list')!.text) as RunListResponse;
    expect(list.runs?.map((r) => r.run_id)).toContain(runId);
    const log = JSON.parse(bodies.find((b) => b.what === 'run log')!.text) as RunLog;
    expect(log.state).toBe('COMPLETE');
  });

  it('the runs table holds the password only sealed, in password_enc', async () => {
    const [row] = (await tb.broker.deps.ds.query('SELECT r::text AS text, r.password_enc FROM runs r WHERE id = $1', [runId])) as {
      text: string;
      password_enc: string;
    }[];
    expect(row!.password_enc).toMatch(/^v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(leak(row!.text, password)).toBeNull();
    expect(leak(row!.text, apiToken)).toBeNull();
    expect(leak(row!.text, accessToken)).toBeNull();
    // ...and the sealed form is the password the endpoint gave (it did not make one up).
    const run = await tb.broker.deps.runs.getOwned(runId, (await tb.broker.deps.ds.query('SELECT owner_key FROM runs WHERE id = $1', [runId]))[0].owner_key);
    expect(run.passwordEnc).toBe(row!.password_enc);
    expect(tb.broker.deps.runs.resultPassword(run)).toBe(password);
  });

  it('no table in the database holds any of them in clear', async () => {
    const tables = (await tb.broker.deps.ds.query(
      "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'",
    )) as { name: string }[];
    expect(tables.map((t) => t.name)).toContain('public.runs');
    for (const { name } of tables) {
      const rows = (await tb.broker.deps.ds.query(`SELECT t::text AS text FROM ${name} t`)) as { text: string }[];
      for (const { text } of rows) {
        expect(leak(text, apiToken), `${name} has the backend API token`).toBeNull();
        expect(leak(text, accessToken), `${name} has the access token`).toBeNull();
        expect(leak(text, password), `${name} has the result password`).toBeNull();
      }
    }
  });
});
