/**
 * Webhooks over real HTTP on a real broker and PostgreSQL, delivered to a real receiver on
 * loopback: registration and its refusals (SSRF, bad bodies, other users, limits), the secret
 * shown once, signatures that verify, retries with growing delays and every attempt listed, a
 * webhook disabled after its retries, a hanging endpoint cut off without holding up others, and
 * the address checked again when delivering.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userTokens } from '../dev/test-support';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { insertRun, setRun, startWebhookReceiver, until, type EventData, type WebhookReceiver } from './test-support';

let tb: TestBroker;
let token: string;
let token2: string;
let issuer: string;
let receiver: WebhookReceiver;
const logLines: string[] = [];
/** Every response body of the file, to look for secrets in. */
const bodies: string[] = [];

beforeAll(async () => {
  tb = await startTestBroker({
    profiles: [{ id: 'mis2', profile: 'mis2' }],
    env: { LOG_LEVEL: 'debug', WEBHOOKS_PER_USER: '3' },
    logDestination: { write: (line: string) => void logLines.push(line) },
  });
  token = await tb.token();
  token2 = await tb.token('demo-cli-2');
  issuer = tb.broker.devOidc!.issuer;
  receiver = await startWebhookReceiver();
});

afterAll(async () => {
  await tb?.close();
  await receiver?.close();
});

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

async function call(method: string, path: string, t: string | null, body?: unknown, raw?: string): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${tb.url}${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await res.text();
  bodies.push(text);
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const create = (t: string, body: unknown) => call('POST', '/api/v1/webhooks', t, body);

interface Delivery {
  id: string;
  status: string;
  event: EventData;
  next_attempt_at: string | null;
  last_error: string | null;
  attempts: { attempt: number; at: string; duration_ms: number; status_code: number | null; error: string | null }[];
}

async function deliveries(t: string, hookId: string): Promise<Delivery[]> {
  const res = await call('GET', `/api/v1/webhooks/${hookId}/deliveries?page_size=100`, t);
  expect(res.status).toBe(200);
  return res.json.deliveries as Delivery[];
}

/** What a receiver does: HMAC-SHA-256 of "<timestamp>.<raw body>" under the secret, compared in constant time. */
function verifies(secret: string, timestamp: string, body: string, header: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('registration on a broker that allows public https targets only (the default)', () => {
  it.each([
    ['http://hooks.example.org/x', 'url: a webhook URL must use https (plain http is refused on this broker)'],
    ['https://127.0.0.1/hook', 'The webhook URL points to a private network address.'],
    ['https://localhost/hook', 'The webhook URL points to a private network address.'],
    ['https://[::1]:8443/hook', 'The webhook URL points to a private network address.'],
    ['https://10.1.2.3/hook', 'The webhook URL points to a private network address.'],
    ['https://169.254.169.254/latest/meta-data', 'The webhook URL points to a private network address.'],
    ['https://192.168.0.10/hook', 'The webhook URL points to a private network address.'],
    ['https://no-such-host.invalid/hook', 'The host of the webhook URL could not be resolved.'],
    ['https://user:pw@hooks.example.org/x', 'url: a webhook URL must not carry a user name or password; the broker signs every request instead'],
    ['not a url', 'url: not an absolute URL; give one such as https://hooks.example.org/imputation'],
    ['ftp://hooks.example.org/x', 'url: a webhook URL must use https (plain http is refused on this broker)'],
  ])('refuses %s', async (url, msg) => {
    const res = await create(token, { url });
    expect(res).toEqual({ status: 400, json: { msg, status_code: 400 } });
  });

  it('stored none of them', async () => {
    expect(await tb.broker.deps.ds.query(`SELECT count(*)::int AS n FROM webhooks`)).toEqual([{ n: 0 }]);
  });
});

describe('with WEBHOOK_ALLOW_PRIVATE (as the tests need for their loopback receiver)', () => {
  beforeAll(async () => {
    await tb.restartWith({ WEBHOOK_ALLOW_PRIVATE: 'true', DELIVERY_RETRY_BASE_MS: '300', DELIVERY_MAX_ATTEMPTS: '4', WEBHOOK_TIMEOUT_MS: '2500' });
  });

  let secret: string;
  let hookId: string;

  it('registers a loopback http URL and shows the secret once', async () => {
    const res = await create(token, { url: `${receiver.url}/all`, events: ['run.state', 'run.progress'], description: 'lab pipeline' });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      url: `${receiver.url}/all`,
      events: ['run.state', 'run.progress'],
      description: 'lab pipeline',
      enabled: true,
      disabled_reason: null,
      signature: { header: 'X-Broker-Signature', timestamp_header: 'X-Broker-Timestamp' },
    });
    secret = res.json.secret as string;
    hookId = res.json.id as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const list = await call('GET', '/api/v1/webhooks', token);
    expect(list.status).toBe(200);
    expect((list.json.webhooks as { id: string }[]).map((w) => w.id)).toEqual([hookId]);
    expect(JSON.stringify(list.json)).not.toContain(secret);
    const stored = (await tb.broker.deps.ds.query(`SELECT secret_enc FROM webhooks WHERE id = $1`, [hookId])) as { secret_enc: string }[];
    expect(stored[0]!.secret_enc).toMatch(/^v1\./);
    expect(stored[0]!.secret_enc).not.toContain(secret);
    const audit = (await tb.broker.deps.ds.query(`SELECT action, object_id, details FROM audit_events WHERE action LIKE 'webhook.%'`)) as {
      action: string;
      object_id: string;
      details: Record<string, unknown>;
    }[];
    expect(audit).toEqual([{ action: 'webhook.created', object_id: hookId, details: { host: new URL(receiver.url).host, events: ['run.state', 'run.progress'] } }]);
  });

  it('POSTs every event of a run, signed so that the shown secret verifies it', async () => {
    const ds = tb.broker.deps.ds;
    const run = await insertRun(ds, { issuer, subject: 'demo-cli' });
    await setRun(ds, run, { state: 'RUNNING', progress: 0 });
    await setRun(ds, run, { progress: 50 });
    await setRun(ds, run, { state: 'COMPLETE', progress: 100 });
    const got = await receiver.until((rs) => rs.filter((r) => r.path === '/all' && r.body.includes(run)).length >= 4);
    const mine = got.filter((r) => r.path === '/all' && r.body.includes(run));
    const events = mine.map((r) => JSON.parse(r.body) as EventData).sort((a, b) => a.id - b.id);
    expect(events.map((e) => [e.type, e.state, e.progress, e.terminal])).toEqual([
      ['run.state', 'QUEUED', null, false],
      ['run.state', 'RUNNING', 0, false],
      ['run.progress', 'RUNNING', 50, false],
      ['run.state', 'COMPLETE', 100, true],
    ]);
    for (const r of mine) {
      const ts = r.headers['x-broker-timestamp'] as string;
      expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(300);
      expect(verifies(secret, ts, r.body, r.headers['x-broker-signature'] as string)).toBe(true);
      // Any other secret, body or timestamp does not verify.
      expect(verifies(`${secret}x`, ts, r.body, r.headers['x-broker-signature'] as string)).toBe(false);
      expect(verifies(secret, String(Number(ts) + 1), r.body, r.headers['x-broker-signature'] as string)).toBe(false);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-broker-event']).toBe((JSON.parse(r.body) as EventData).type);
    }
    const listed = await until(async () => {
      const ds = (await deliveries(token, hookId)).filter((d) => d.event.run_id === run);
      return ds.length === 4 && ds.every((d) => d.status === 'delivered') && ds;
    });
    expect(listed.map((d) => d.attempts.map((a) => a.status_code))).toEqual([[204], [204], [204], [204]]);
    expect(new Set(mine.map((r) => r.headers['x-broker-delivery']))).toEqual(new Set(listed.map((d) => d.id)));
  });

  it('sends only what a webhook asked for: terminal states only, or progress only', async () => {
    const ds = tb.broker.deps.ds;
    const terminal = await create(token, { url: `${receiver.url}/terminal`, events: ['run.terminal'] });
    const progress = await create(token, { url: `${receiver.url}/progress`, events: ['run.progress'] });
    expect([terminal.status, progress.status]).toEqual([201, 201]);
    const run = await insertRun(ds, { issuer, subject: 'demo-cli' });
    await setRun(ds, run, { state: 'RUNNING', progress: 10 });
    await setRun(ds, run, { progress: 60 });
    await setRun(ds, run, { state: 'EXECUTOR_ERROR' });
    await receiver.until((rs) => rs.some((r) => r.path === '/terminal' && r.body.includes(run)) && rs.filter((r) => r.path === '/all' && r.body.includes(run)).length >= 4);
    await until(async () => (await deliveries(token, progress.json.id as string)).some((d) => d.event.run_id === run && d.status === 'delivered'));
    const bodiesAt = (path: string) => receiver.requests.filter((r) => r.path === path && r.body.includes(run)).map((r) => JSON.parse(r.body) as EventData);
    expect(bodiesAt('/terminal').map((e) => e.state)).toEqual(['EXECUTOR_ERROR']);
    expect(bodiesAt('/progress').map((e) => [e.type, e.progress])).toEqual([['run.progress', 60]]);
    // Other users' runs reach none of this user's webhooks.
    const theirs = await insertRun(ds, { issuer, subject: 'demo-cli-2' });
    await setRun(ds, theirs, { state: 'COMPLETE' });
    const marker = await insertRun(ds, { issuer, subject: 'demo-cli' });
    await receiver.until((rs) => rs.some((r) => r.path === '/all' && r.body.includes(marker)));
    expect(receiver.requests.some((r) => r.body.includes(theirs))).toBe(false);
    for (const id of [terminal.json.id, progress.json.id]) expect((await call('DELETE', `/api/v1/webhooks/${id}`, token)).status).toBe(204);
  });

  it('retries a failing endpoint with growing delays, lists every attempt, then disables the webhook and says why', async () => {
    const ds = tb.broker.deps.ds;
    receiver.behave('/failing', 500);
    const hook = await create(token2, { url: `${receiver.url}/failing`, events: ['run.terminal'] });
    expect(hook.status).toBe(201);
    const id = hook.json.id as string;
    const run = await insertRun(ds, { issuer, subject: 'demo-cli-2' });
    await setRun(ds, run, { state: 'COMPLETE' });
    const [failed] = await until(async () => {
      const ds = await deliveries(token2, id);
      return ds.length === 1 && ds[0]!.status === 'failed' && ds;
    }, 60_000);
    expect(failed!.event).toMatchObject({ run_id: run, state: 'COMPLETE', terminal: true });
    expect(failed!.attempts.map((a) => [a.attempt, a.status_code, a.error])).toEqual([
      [1, 500, 'the endpoint answered HTTP 500'],
      [2, 500, 'the endpoint answered HTTP 500'],
      [3, 500, 'the endpoint answered HTTP 500'],
      [4, 500, 'the endpoint answered HTTP 500'],
    ]);
    expect(failed!.last_error).toBe('the endpoint answered HTTP 500');
    expect(failed!.next_attempt_at).toBeNull();
    // Each wait at least the scheduled base * 4^(n-1) less the 20 % jitter, and each longer than the one before.
    const times = failed!.attempts.map((a) => Date.parse(a.at));
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(0.8 * 300 * 4 ** i));
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
    expect(gaps[2]!).toBeGreaterThan(gaps[1]!);
    expect(receiver.requests.filter((r) => r.path === '/failing').length).toBe(4);

    const [shown] = (await call('GET', '/api/v1/webhooks', token2)).json.webhooks as { id: string; enabled: boolean; disabled_reason: string; disabled_at: string }[];
    expect(shown).toMatchObject({ id, enabled: false });
    expect(shown!.disabled_reason).toMatch(
      new RegExp(`^Disabled .*: delivery ${failed!.id} \\(event ${failed!.event.id}\\) failed 4 times from .*; last error: the endpoint answered HTTP 500\\. Delete the webhook`),
    );
    // A disabled webhook gets no new deliveries.
    const later = await insertRun(ds, { issuer, subject: 'demo-cli-2' });
    await setRun(ds, later, { state: 'COMPLETE' });
    await until(async () => Number(((await ds.query(`SELECT last_event_id FROM notification_cursor`)) as { last_event_id: string }[])[0]!.last_event_id) >=
      Number(((await ds.query(`SELECT max(id) AS id FROM run_events`)) as { id: string }[])[0]!.id));
    expect((await deliveries(token2, id)).length).toBe(1);
    expect((await call('DELETE', `/api/v1/webhooks/${id}`, token2)).status).toBe(204);
  });

  it('cuts off an endpoint that hangs, without holding up deliveries to another', async () => {
    const ds = tb.broker.deps.ds;
    receiver.behave('/hang', 'hang');
    const hanging = await create(token2, { url: `${receiver.url}/hang`, events: ['run.state'] });
    const prompt = await create(token2, { url: `${receiver.url}/prompt`, events: ['run.state'] });
    const run = await insertRun(ds, { issuer, subject: 'demo-cli-2' });
    await receiver.until((rs) => rs.some((r) => r.path === '/hang' && r.body.includes(run)));
    for (const state of ['RUNNING', 'CANCELING', 'CANCELED']) await setRun(ds, run, { state });
    await receiver.until((rs) => rs.filter((r) => r.path === '/prompt' && r.body.includes(run)).length === 4);
    const firstHang = receiver.requests.find((r) => r.path === '/hang' && r.body.includes(run))!;
    // All four events reached the other endpoint while the first request to the hanging one was still open.
    expect(firstHang.closedAt).toBeNull();
    const hangDeliveries = await until(async () => {
      const ds = await deliveries(token2, hanging.json.id as string);
      return ds.some((d) => d.attempts.length > 0) && ds;
    }, 30_000);
    const tried = hangDeliveries.find((d) => d.attempts.length > 0)!;
    expect(tried.attempts[0]).toMatchObject({ attempt: 1, status_code: null, error: 'no answer within 2500 ms; cut off' });
    expect(tried.attempts[0]!.duration_ms).toBeGreaterThanOrEqual(2500);
    expect(tried.status).toBe('pending');
    await until(() => firstHang.closedAt !== null, 10_000, 'the hanging request closed by the broker');
    for (const h of [hanging, prompt]) expect((await call('DELETE', `/api/v1/webhooks/${h.json.id}`, token2)).status).toBe(204);
  });

  it('checks the address again when delivering: a host that resolves to loopback is refused once private targets are no longer allowed', async () => {
    const hook = await create(token, { url: `https://localhost:${new URL(receiver.url).port}/rebound`, events: ['run.state'] });
    expect(hook.status).toBe(201);
    await tb.restartWith({ WEBHOOK_ALLOW_PRIVATE: 'false' });
    const run = await insertRun(tb.broker.deps.ds, { issuer, subject: 'demo-cli' });
    const [d] = await until(async () => {
      const list = await deliveries(token, hook.json.id as string);
      return list.length > 0 && list[0]!.attempts.length > 0 && list;
    });
    expect(d!.event.run_id).toBe(run);
    expect(d!.attempts[0]!.error).toMatch(/^the webhook host now resolves to a private address \((127\.0\.0\.1|::1)\); delivery refused$/);
    expect(receiver.requests.some((r) => r.path === '/rebound')).toBe(false);
    expect((await call('DELETE', `/api/v1/webhooks/${hook.json.id}`, token)).status).toBe(204);
    await tb.restartWith({ WEBHOOK_ALLOW_PRIVATE: 'true' });
  });
});

describe('clear 4xx for users', () => {
  it.each([
    ['a body that is not JSON', undefined, '{', 'Malformed JSON in request body'],
    ['url missing', {}, undefined, 'url: Invalid input: expected string, received undefined'],
    ['unknown event type', { url: 'https://hooks.example.org/x', events: ['run.finished'] }, undefined, 'events: a list of run.state, run.progress, run.terminal (at least one)'],
    ['empty event list', { url: 'https://hooks.example.org/x', events: [] }, undefined, 'events: a list of run.state, run.progress, run.terminal (at least one)'],
    ['unknown field', { url: 'https://hooks.example.org/x', secret: 'mine' }, undefined, 'unknown field "secret"; a webhook takes url, events and description'],
    ['long description', { url: 'https://hooks.example.org/x', description: 'x'.repeat(201) }, undefined, 'description: Too big: expected string to have <=200 characters'],
  ])('POST with %s: 400', async (_what, body, raw, msg) => {
    const res = await call('POST', '/api/v1/webhooks', token, body, raw);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ msg, status_code: 400 });
  });

  it("unknown ids and other users' webhooks: 404, the same answer", async () => {
    const mine = await create(token, { url: `${receiver.url}/owned` });
    expect(mine.status).toBe(201);
    const id = mine.json.id as string;
    for (const t of [token2]) {
      expect(await call('GET', `/api/v1/webhooks/${id}/deliveries`, t)).toEqual({ status: 404, json: { msg: `You have no webhook '${id}'.`, status_code: 404 } });
      expect(await call('DELETE', `/api/v1/webhooks/${id}`, t)).toEqual({ status: 404, json: { msg: `You have no webhook '${id}'.`, status_code: 404 } });
    }
    const unknown = randomUUID();
    expect(await call('DELETE', `/api/v1/webhooks/${unknown}`, token)).toEqual({ status: 404, json: { msg: `You have no webhook '${unknown}'.`, status_code: 404 } });
    expect(await call('GET', `/api/v1/webhooks/not-a-uuid/deliveries`, token)).toEqual({ status: 404, json: { msg: "You have no webhook 'not-a-uuid'.", status_code: 404 } });
    expect((await call('GET', `/api/v1/webhooks/${id}/deliveries?page_size=0`, token)).json).toEqual({ msg: 'page_size must be a whole number from 1 to 100', status_code: 400 });
    expect((await call('GET', `/api/v1/webhooks/${id}/deliveries?page_token=xyz`, token)).json).toEqual({
      msg: 'page_token is not valid: pass the next_page_token of the previous page unchanged',
      status_code: 400,
    });
    // Still there for its owner.
    expect((await call('GET', '/api/v1/webhooks', token)).json.webhooks).toContainEqual(expect.objectContaining({ id, url: `${receiver.url}/owned` }));
    expect((await call('GET', '/api/v1/webhooks', token2)).json.webhooks).toEqual([]);
    expect((await call('DELETE', `/api/v1/webhooks/${id}`, token)).status).toBe(204);
    expect((await call('DELETE', `/api/v1/webhooks/${id}`, token)).status).toBe(404);
  });

  it('refuses more webhooks than WEBHOOKS_PER_USER with 409', async () => {
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await create(token2, { url: `${receiver.url}/n${i}` }));
    expect(made.map((m) => m.status)).toEqual([201, 201, 201]);
    expect(await create(token2, { url: `${receiver.url}/n4` })).toEqual({
      status: 409,
      json: { msg: 'You have 3 webhooks, the most this broker allows (3); delete one first.', status_code: 409 },
    });
    for (const m of made) expect((await call('DELETE', `/api/v1/webhooks/${m.json.id}`, token2)).status).toBe(204);
  });

  it('asks the policy: a user who may not submit runs may not register webhooks (403), and needs a token (401)', async () => {
    const bob = await userTokens(tb.broker.devOidc!, { username: 'bob', password: 'bob', redirectUri: `${tb.url}/auth/callback` });
    const res = await create(bob.access_token, { url: `${receiver.url}/bob` });
    expect(res.status).toBe(403);
    expect(res.json.msg).toMatch(/^You may not set up notifications \(webhooks, e-mail\) about your runs\./);
    expect((await call('GET', '/api/v1/webhooks', bob.access_token)).json).toEqual({ webhooks: [] });
    expect((await call('GET', '/api/v1/webhooks', null)).status).toBe(401);
  });

  it('audited deletions; no secret in any answer after creation or in any log line', async () => {
    const created = bodies.filter((b) => b.includes('"secret":"whsec_')).map((b) => (JSON.parse(b) as { secret: string }).secret);
    expect(created.length).toBeGreaterThan(5);
    const later = bodies.filter((b) => !b.includes('"secret":"whsec_'));
    for (const s of created) {
      for (const b of later) expect(b).not.toContain(s);
      for (const line of logLines) expect(line).not.toContain(s);
    }
    const deleted = (await tb.broker.deps.ds.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'webhook.deleted'`)) as { n: number }[];
    expect(deleted[0]!.n).toBeGreaterThan(5);
    expect(logLines.length).toBeGreaterThan(10);
  });
});
