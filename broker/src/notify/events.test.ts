/**
 * GET /api/v1/events over real HTTP: a real run on the Cloudgene simulator streamed from QUEUED to
 * COMPLETE, resumption with Last-Event-ID, isolation between users, a second broker replica on the
 * same database, the portal's session cookie, a slow client dropped and resumed, the LISTEN
 * connection killed and recovered, and the refusals.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portalLogin, type SessionBroker } from '../auth/session/test-support';
import { loadConfig } from '../config';
import { Browser } from '../dev/test-support';
import { createLogger } from '../logging';
import { startBroker, type BrokerHandle } from '../server';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { submit } from '../testing/wes-client';
import { pruneEvents } from './events';
import { insertRun, openStream, runEvents, setRun, SseParser, until, type EventData, type SseMessage } from './test-support';

const demo = (chr: string) => join(import.meta.dirname, '../../../demo/data/hg19', `chr${chr}.vcf.gz`);
const params = { refpanel: 'hapmap-2', population: 'eur' };

let tb: TestBroker;
let token: string;
let token2: string;
let issuer: string;

beforeAll(async () => {
  tb = await startTestBroker({
    profiles: [{ id: 'mis2', profile: 'mis2', maxConcurrentJobs: 4, maxRunningJobsPerUser: 4 }],
    // Long enough phases for a client to be in the middle of a run.
    timing: { imputation: 1500 },
    env: { SSE_HEARTBEAT_MS: '300', SSE_CLIENT_BUFFER: '10', SSE_CLIENT_TIMEOUT_MS: '1000', SSE_MAX_CLIENTS_PER_USER: '5' },
  });
  token = await tb.token();
  token2 = await tb.token('demo-cli-2');
  issuer = tb.broker.devOidc!.issuer;
});

afterAll(async () => {
  await tb?.close();
});

const auth = (t: string) => ({ authorization: `Bearer ${t}` });

async function newRun(t: string): Promise<string> {
  const res = await submit(tb.url, t, { files: [demo('20')], params });
  expect(res.status).toBe(200);
  return ((await res.json()) as { run_id: string }).run_id;
}

/** The body of a raw HTTP/1.1 chunked response, as far as it arrived. */
function dechunk(raw: Buffer): string {
  let at = raw.indexOf('\r\n\r\n') + 4;
  const parts: Buffer[] = [];
  while (at < raw.length) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16);
    if (!size) break;
    parts.push(raw.subarray(eol + 2, Math.min(raw.length, eol + 2 + size)));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts).toString('utf8');
}

const terminalOf = (runId: string) => (ms: SseMessage[]) => runEvents(ms).some((e) => e.run_id === runId && e.terminal);

/** The run's events as stored, oldest first. */
async function storedEvents(runId: string): Promise<{ id: number; type: string; state: string; progress: number | null }[]> {
  const rows = (await tb.broker.deps.ds.query(`SELECT id, type, state, progress FROM run_events WHERE run_id = $1 ORDER BY id`, [runId])) as {
    id: string;
    type: string;
    state: string;
    progress: number | null;
  }[];
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

describe('the event stream of a real run', () => {
  let runId: string;
  let streamed: EventData[];

  it('streams QUEUED, RUNNING with progress, then COMPLETE, in order, exactly as stored', async () => {
    const stream = await openStream(`${tb.url}/api/v1/events`, auth(token));
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await stream.until(() => stream.parser.comments.includes('connected'));
    runId = await newRun(token);
    await stream.until(terminalOf(runId), 60_000);
    stream.close();
    streamed = runEvents(stream.messages).filter((e) => e.run_id === runId);

    const states = streamed.filter((e) => e.type === 'run.state').map((e) => e.state);
    expect(states).toEqual(['QUEUED', 'RUNNING', 'COMPLETE']);
    expect(streamed[0]).toMatchObject({ type: 'run.state', state: 'QUEUED', terminal: false, backend_id: 'mis2' });
    expect(streamed.at(-1)).toMatchObject({ type: 'run.state', state: 'COMPLETE', previous_state: 'RUNNING', terminal: true });
    const progress = streamed.filter((e) => e.type === 'run.progress');
    expect(progress.length).toBeGreaterThan(0);
    const running = streamed.findIndex((e) => e.state === 'RUNNING');
    for (const p of progress) expect(streamed.indexOf(p)).toBeGreaterThan(running);
    // Ids only grow, and the SSE id is the event's id.
    const ids = streamed.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    for (const m of stream.messages.filter((m) => m.event.startsWith('run.'))) expect(m.id).toBe(String((JSON.parse(m.data) as EventData).id));
    // Nothing stored was left out, nothing was sent twice.
    expect(ids).toEqual((await storedEvents(runId)).map((e) => e.id));
  });

  it('replays from Last-Event-ID (or ?since=) without loss or duplicates', async () => {
    const cut = streamed[1]!.id;
    const resumed = await openStream(`${tb.url}/api/v1/events`, { ...auth(token), 'last-event-id': String(cut) });
    await resumed.until(terminalOf(runId));
    resumed.close();
    const ids = runEvents(resumed.messages).filter((e) => e.run_id === runId).map((e) => e.id);
    expect(ids).toEqual(streamed.slice(2).map((e) => e.id));

    // Last-Event-ID wins over ?since= (EventSource keeps the URL it was opened with).
    const both = await openStream(`${tb.url}/api/v1/events?since=0`, { ...auth(token), 'last-event-id': String(streamed.at(-2)!.id) });
    await both.until(terminalOf(runId));
    both.close();
    expect(runEvents(both.messages).filter((e) => e.run_id === runId).map((e) => e.id)).toEqual([streamed.at(-1)!.id]);

    const since = await openStream(`${tb.url}/api/v1/events?since=0`, auth(token));
    await since.until(terminalOf(runId));
    since.close();
    expect(runEvents(since.messages).filter((e) => e.run_id === runId).map((e) => e.id)).toEqual(streamed.map((e) => e.id));
  });

  it('resumes a stream cut in the middle of a run: together the two streams hold every event once', async () => {
    const first = await openStream(`${tb.url}/api/v1/events`, auth(token));
    await first.until(() => first.parser.comments.includes('connected'));
    const id = await newRun(token);
    const got = await first.until((ms) => runEvents(ms).filter((e) => e.run_id === id).length >= 2);
    first.close();
    const before = runEvents(got).filter((e) => e.run_id === id);
    const last = got.filter((m) => m.id !== null).at(-1)!.id!;
    const second = await openStream(`${tb.url}/api/v1/events`, { ...auth(token), 'last-event-id': last });
    await second.until(terminalOf(id), 60_000);
    second.close();
    const after = runEvents(second.messages).filter((e) => e.run_id === id);
    const all = [...before, ...after].map((e) => e.id);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual((await storedEvents(id)).map((e) => e.id));
    expect(after.at(-1)).toMatchObject({ state: 'COMPLETE', terminal: true });
  });

  it("shows only the caller's own runs", async () => {
    const mine = await openStream(`${tb.url}/api/v1/events?since=0`, auth(token2));
    const theirs = await openStream(`${tb.url}/api/v1/events`, auth(token));
    await theirs.until(() => theirs.parser.comments.includes('connected'));
    const id = await newRun(token2);
    await mine.until(terminalOf(id), 60_000);
    // The other user's stream has had every event the run made, and shows none of them.
    await setRun(tb.broker.deps.ds, await insertRun(tb.broker.deps.ds, { issuer, subject: 'demo-cli' }), { progress: 1 });
    await theirs.until((ms) => runEvents(ms).some((e) => e.progress === 1));
    mine.close();
    theirs.close();
    const mineRuns = new Set(runEvents(mine.messages).map((e) => e.run_id));
    expect([...mineRuns]).toEqual([id]);
    expect(runEvents(theirs.messages).some((e) => e.run_id === id)).toBe(false);
    expect(runEvents(theirs.messages).length).toBeGreaterThan(0);
  });
});

describe("with the portal's session cookie", () => {
  it('streams the signed-in user\'s events: EventSource sends the cookie, it cannot set headers', async () => {
    // The broker serves the login itself; this is all of a SessionBroker that the login helper reads.
    const sb = { url: tb.url, redirectUri: `${tb.url}/auth/callback`, callbackHere: (cb: URL) => `${tb.url}${cb.pathname}${cb.search}` } as SessionBroker;
    const browser = new Browser();
    await portalLogin(sb, browser, { username: 'alice', password: 'alice' });
    const me = await browser.get(`${tb.url}/api/v1/me`);
    expect(me.status).toBe(200);
    const alice = (await me.json()) as { issuer: string; subject: string };
    const cookie = [...browser.cookies].map(([name, c]) => `${name}=${c.value}`).join('; ');
    const stream = await openStream(`${tb.url}/api/v1/events`, { cookie });
    expect(stream.status).toBe(200);
    await stream.until(() => stream.parser.comments.includes('connected'));
    const run = await insertRun(tb.broker.deps.ds, alice);
    await setRun(tb.broker.deps.ds, run, { state: 'RUNNING' });
    await stream.until((ms) => runEvents(ms).filter((e) => e.run_id === run).length === 2);
    stream.close();
    expect(runEvents(stream.messages).map((e) => [e.run_id, e.state])).toEqual([
      [run, 'QUEUED'],
      [run, 'RUNNING'],
    ]);
    expect((await fetch(`${tb.url}/api/v1/events`, { headers: { cookie: 'ibroker_session=forged' } })).status).toBe(401);
  });
});

describe('across replicas', () => {
  let replica: BrokerHandle | undefined;
  afterAll(async () => {
    await replica?.close();
  });

  it('an event written by one broker reaches an SSE client of another on the same database', async () => {
    const c = tb.broker.deps.config;
    // An API-only replica (no worker) trusting the first broker's identity provider.
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: c.databaseUrl!,
      DATA_DIR: c.dataDir,
      DEMO: 'true',
      WORKER: 'false',
      OIDC_ISSUER: issuer,
      OIDC_AUDIENCE: `${tb.url}/ga4gh/wes/v1`,
      LOG_LEVEL: 'silent',
      ...(c.redisUrl ? { REDIS_URL: c.redisUrl } : {}),
    });
    replica = await startBroker({ config, log: createLogger('silent'), backends: [], queueName: `runs-replica-${Date.now()}` });
    expect(replica.worker).toBeNull();
    const stream = await openStream(`${replica.url}/api/v1/events`, auth(token));
    expect(stream.status).toBe(200);
    await stream.until(() => stream.parser.comments.includes('connected'));
    const id = await newRun(token); // submitted to, and run by, the first broker
    await stream.until(terminalOf(id), 60_000);
    stream.close();
    const ids = runEvents(stream.messages).filter((e) => e.run_id === id).map((e) => e.id);
    expect(ids).toEqual((await storedEvents(id)).map((e) => e.id));
  });
});

describe('robustness', () => {
  it('sends heartbeat comments while nothing happens', async () => {
    const stream = await openStream(`${tb.url}/api/v1/events`, auth(token));
    await stream.until(() => stream.parser.comments.filter((c) => c === 'keep-alive').length >= 2);
    stream.close();
    expect(stream.parser.retry).toBe(2000);
  });

  it('keeps streaming after its LISTEN connection is killed (as in a PostgreSQL restart), missing nothing', async () => {
    const ds = tb.broker.deps.ds;
    const hub = tb.broker.deps.notifications!.hub;
    const stream = await openStream(`${tb.url}/api/v1/events`, auth(token));
    await stream.until(() => stream.parser.comments.includes('connected'));
    const run = await insertRun(ds, { issuer, subject: 'demo-cli' });
    const before = hub.stats().reconnects;
    const killed = (await ds.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'ibroker-events' AND datname = current_database()`)) as {
      ok: boolean;
    }[];
    expect(killed.map((k) => k.ok)).toEqual([true]);
    // Written while nobody listens: read from the table once the hub is back.
    await setRun(ds, run, { state: 'RUNNING', progress: 10 });
    await setRun(ds, run, { progress: 20 });
    await until(() => hub.stats().reconnects > before && hub.stats().connected, 30_000, 'reconnect');
    await setRun(ds, run, { state: 'COMPLETE', progress: 100 });
    await stream.until(terminalOf(run));
    stream.close();
    const got = runEvents(stream.messages).filter((e) => e.run_id === run);
    expect(got.map((e) => [e.type, e.state, e.progress])).toEqual([
      ['run.state', 'QUEUED', null],
      ['run.state', 'RUNNING', 10],
      ['run.progress', 'RUNNING', 20],
      ['run.state', 'COMPLETE', 100],
    ]);
  });

  it('a burst far beyond the per-client buffer reaches a client that keeps reading, complete and in order', async () => {
    const ds = tb.broker.deps.ds;
    const stream = await openStream(`${tb.url}/api/v1/events`, auth(token));
    await stream.until(() => stream.parser.comments.includes('connected'));
    const run = await insertRun(ds, { issuer, subject: 'demo-cli' });
    // 2000 events in one transaction, announced at once: 200 times the buffer of 10.
    await ds.query(`DO $$ BEGIN FOR i IN 1..2000 LOOP UPDATE runs SET progress = i WHERE id = '${run}'; END LOOP; END $$`);
    await stream.until((ms) => runEvents(ms).some((e) => e.run_id === run && e.progress === 2000), 60_000);
    stream.close();
    const got = runEvents(stream.messages).filter((e) => e.run_id === run);
    expect(got.map((e) => e.progress)).toEqual([null, ...Array.from({ length: 2000 }, (_, i) => i + 1)]);
    expect(stream.messages.some((m) => m.event === 'overflow')).toBe(false);
  });

  it('drops a client that stops reading, with a final overflow event; it resumes with Last-Event-ID and gets every event once', async () => {
    const ds = tb.broker.deps.ds;
    const hub = tb.broker.deps.notifications!.hub;
    const run = await insertRun(ds, { issuer, subject: 'demo-cli-2' });
    const start = Number(((await ds.query(`SELECT max(id) AS id FROM run_events`)) as { id: string }[])[0]!.id);
    const u = new URL(tb.url);
    const socket = connect(Number(u.port), u.hostname);
    await new Promise((r) => socket.once('connect', r));
    socket.write(`GET /api/v1/events HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${token2}\r\nAccept: text/event-stream\r\n\r\n`);
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    await until(() => Buffer.concat(received).toString().includes(': connected'), 10_000, 'stream open');
    const subscribers = hub.stats().subscribers;
    socket.pause(); // a client that stops reading
    // Events in batches, beyond what the socket buffers hold, until the broker gives up on the client.
    let made = 0;
    await until(
      async () => {
        if (hub.stats().subscribers < subscribers) return true;
        await ds.query(`DO $$ BEGIN FOR i IN 1..500 LOOP UPDATE runs SET progress = CASE WHEN progress = 1 THEN 2 ELSE 1 END WHERE id = '${run}'; END LOOP; END $$`);
        made += 500;
        return made > 400_000;
      },
      120_000,
      'the slow client dropped',
    );
    expect(hub.stats().subscribers).toBe(subscribers - 1);
    socket.resume();
    await new Promise((r) => socket.once('close', r));
    const parser = new SseParser();
    const messages: SseMessage[] = [];
    parser.feed(dechunk(Buffer.concat(received)), (m) => messages.push(m));
    const overflow = messages.find((m) => m.event === 'overflow');
    expect(overflow).toBeDefined();
    const lastId = (JSON.parse(overflow!.data) as { last_event_id: number }).last_event_id;
    const first = runEvents(messages.filter((m) => m.event !== 'overflow')).filter((e) => e.run_id === run);
    expect(first.at(-1)!.id).toBe(lastId);
    expect(first.length).toBeLessThan(made);

    const all = ((await ds.query(`SELECT id FROM run_events WHERE run_id = $1 AND id > $2 ORDER BY id`, [run, start])) as { id: string }[]).map((r) => Number(r.id));
    const resumed = await openStream(`${tb.url}/api/v1/events`, { ...auth(token2), 'last-event-id': String(lastId) });
    await resumed.until((ms) => runEvents(ms).some((e) => e.id === all.at(-1)), 60_000);
    resumed.close();
    const ids = [...first, ...runEvents(resumed.messages)].filter((e) => e.run_id === run).map((e) => e.id);
    expect(ids).toEqual(all);
  });

  it('prunes events older than the retention, with their deliveries, and keeps the rest', async () => {
    const ds = tb.broker.deps.ds;
    const run = await insertRun(ds, { issuer, subject: 'demo-cli' });
    await setRun(ds, run, { state: 'RUNNING' });
    await setRun(ds, run, { state: 'COMPLETE' });
    const ids = ((await ds.query(`SELECT id FROM run_events WHERE run_id = $1 ORDER BY id`, [run])) as { id: string }[]).map((r) => r.id);
    expect(ids).toHaveLength(3);
    await ds.query(`UPDATE run_events SET at = now() - interval '8 days' WHERE id = ANY($1::bigint[])`, [ids.slice(0, 2)]);
    await ds.query(`INSERT INTO notification_deliveries (event_id, channel, email, owner_issuer, owner_subject) VALUES ($1, 'email', 'x@example.org', $2, 'demo-cli')`, [ids[0], issuer]);
    expect(await pruneEvents(ds, 7, 1)).toBeGreaterThanOrEqual(2);
    expect(((await ds.query(`SELECT id FROM run_events WHERE run_id = $1`, [run])) as { id: string }[]).map((r) => r.id)).toEqual([ids[2]]);
    expect(await ds.query(`SELECT count(*)::int AS n FROM notification_deliveries WHERE event_id = $1`, [ids[0]])).toEqual([{ n: 0 }]);
  });

  it('refuses more streams per user than allowed with 429, and bad ids with 400', async () => {
    const open = await Promise.all([1, 2, 3, 4, 5].map(() => openStream(`${tb.url}/api/v1/events`, auth(token))));
    expect(open.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);
    const sixth = await fetch(`${tb.url}/api/v1/events`, { headers: auth(token) });
    expect(sixth.status).toBe(429);
    expect(sixth.headers.get('retry-after')).toBe('5');
    expect(await sixth.json()).toEqual({ msg: 'You already have 5 event streams open here (at most 5); close one first.', status_code: 429 });
    // Another user is not affected.
    const other = await openStream(`${tb.url}/api/v1/events`, auth(token2));
    expect(other.status).toBe(200);
    for (const s of [...open, other]) s.close();
    await until(() => tb.broker.deps.notifications!.hub.stats().subscribers === 0, 10_000, 'streams closed');

    for (const [headers, query, msg] of [
      [{ 'last-event-id': 'abc' }, '', 'Last-Event-ID must be the id of an event (a whole number), as the stream gave it'],
      [{}, '?since=-1', 'since must be the id of an event (a whole number), as the stream gave it'],
      [{}, '?since=99999999999999999', 'since must be the id of an event (a whole number), as the stream gave it'],
    ] as const) {
      const res = await fetch(`${tb.url}/api/v1/events${query}`, { headers: { ...auth(token), ...headers } });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ msg, status_code: 400 });
    }
    const anonymous = await fetch(`${tb.url}/api/v1/events`);
    expect(anonymous.status).toBe(401);
    expect(tb.broker.deps.notifications!.hub.stats().subscribers).toBe(0);
  });
});
