/**
 * E-mail notifications against a real SMTP server started here (smtp-server, with AUTH), each
 * message parsed back (mailparser): nothing at all without SMTP settings (and the start-up log
 * says so), a mail for a completed and for a failed real run on the Cloudgene simulator with what
 * the user needs and nothing secret, none where the preferences say no, a refused attempt retried.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunLog } from '@ibroker/api-spec/index';
import type { Principal } from '../auth/principal';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { getJson, submit, terminal, waitForState } from '../testing/wes-client';
import { preferencesView } from './preferences-view';
import { insertRun, setRun, until } from './test-support';

const demo = (chr: string) => join(import.meta.dirname, '../../../demo/data/hg19', `chr${chr}.vcf.gz`);
const params = { refpanel: 'hapmap-2', population: 'eur' };
const SMTP_PASSWORD = 'smtp-Pa55word-that-must-never-show';

let tb: TestBroker;
let token: string;
let token2: string;
let issuer: string;
let smtp: SMTPServer;
let smtpPort: number;
let dir: string;
const received: ParsedMail[] = [];
const logins: string[] = [];
let refuseNext = 0;
const logLines: string[] = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'broker' && auth.password === SMTP_PASSWORD) {
        logins.push(auth.username);
        cb(null, { user: auth.username });
      } else cb(new Error('Invalid username or password'));
    },
    onRcptTo(_address, _session, cb) {
      if (refuseNext > 0) {
        refuseNext--;
        return cb(Object.assign(new Error('Mailbox busy, try again later'), { responseCode: 451 }));
      }
      cb();
    },
    onData(stream, _session, cb) {
      simpleParser(stream).then(
        (mail) => {
          received.push(mail);
          cb();
        },
        (err: Error) => cb(err),
      );
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  smtpPort = (smtp.server.address() as AddressInfo).port;
  dir = mkdtempSync(join(tmpdir(), 'ibroker-mail-'));
  writeFileSync(join(dir, 'smtp-password'), `${SMTP_PASSWORD}\n`);
  tb = await startTestBroker({
    profiles: [{ id: 'mis2', profile: 'mis2' }],
    env: { LOG_LEVEL: 'info', DELIVERY_RETRY_BASE_MS: '300' },
    logDestination: { write: (line: string) => void logLines.push(line) },
  });
  token = await tb.token();
  token2 = await tb.token('demo-cli-2');
  issuer = tb.broker.devOidc!.issuer;
});

afterAll(async () => {
  await tb?.close();
  await new Promise((r) => smtp?.close(() => r(undefined)));
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, t: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${tb.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${t}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const prefs = (t: string, body: unknown) => call('PUT', '/api/v1/me/notifications', t, body);

/** Waits until the dispatcher has looked at every event written so far. */
async function dispatched(): Promise<void> {
  const ds = tb.broker.deps.ds;
  const [{ id }] = (await ds.query(`SELECT coalesce(max(id), 0) AS id FROM run_events`)) as [{ id: string }];
  await until(async () => {
    const [{ last }] = (await tb.broker.deps.ds.query(`SELECT last_event_id AS last FROM notification_cursor`)) as [{ last: string }];
    return Number(last) >= Number(id);
  }, 30_000, 'dispatch');
}

async function newRun(t: string): Promise<string> {
  const res = await submit(tb.url, t, { files: [demo('20')], params });
  expect(res.status).toBe(200);
  return ((await res.json()) as { run_id: string }).run_id;
}

const mailsFor = (runId: string) => received.filter((m) => m.subject?.includes(runId));

describe('without SMTP settings', () => {
  it('says so once at start-up, takes preferences, and sends nothing at all', async () => {
    const off = logLines.filter((l) => l.includes('e-mail notifications are off'));
    expect(off).toHaveLength(1);
    expect(JSON.parse(off[0]!).msg).toBe('e-mail notifications are off: no SMTP server configured (set SMTP_URL or SMTP_HOST, and MAIL_FROM)');
    const put = await prefs(token, { email: 'researcher@example.org', on_complete: true, on_failure: true });
    expect(put).toEqual({
      status: 200,
      json: expect.objectContaining({ email: 'researcher@example.org', email_source: 'stored', on_complete: true, on_failure: true, mail_enabled: false }),
    });
    const run = await insertRun(tb.broker.deps.ds, { issuer, subject: 'demo-cli' });
    await setRun(tb.broker.deps.ds, run, { state: 'COMPLETE' });
    await dispatched();
    expect(await tb.broker.deps.ds.query(`SELECT count(*)::int AS n FROM notification_deliveries WHERE channel = 'email'`)).toEqual([{ n: 0 }]);
    expect(received).toHaveLength(0);
    expect((await call('GET', '/api/v1/me/notifications/deliveries', token)).json).toEqual({ deliveries: [], next_page_token: '' });
  });
});

describe('with SMTP (user and password file, MAIL_FROM)', () => {
  beforeAll(async () => {
    logLines.length = 0;
    await tb.restartWith({
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtpPort),
      SMTP_SECURE: 'false',
      SMTP_USER: 'broker',
      SMTP_PASSWORD_FILE: join(dir, 'smtp-password'),
      MAIL_FROM: 'Imputation broker <broker@imputation.example.org>',
    });
  });

  it('says where it mails from at start-up, never the password', () => {
    const on = logLines.filter((l) => l.includes('e-mail notifications are on'));
    expect(on).toHaveLength(1);
    expect(JSON.parse(on[0]!)).toMatchObject({ smtp: `smtp://127.0.0.1:${smtpPort}`, from: 'Imputation broker <broker@imputation.example.org>' });
    expect(logLines.some((l) => l.includes('e-mail notifications are off'))).toBe(false);
  });

  it('refuses to switch e-mails on without an address (the token has none), and bad bodies, with 400', async () => {
    expect((await call('GET', '/api/v1/me/notifications', token2)).json).toEqual({
      email: null,
      email_source: 'none',
      on_complete: false,
      on_failure: false,
      mail_enabled: true,
      updated_at: null,
    });
    for (const [body, msg] of [
      [{ on_complete: true, on_failure: false }, 'email: give the address to write to; your access token carries no e-mail address'],
      [{ email: 'not-an-address', on_complete: true, on_failure: true }, 'email: not an e-mail address (or null to forget it)'],
      [{ email: 'a@example.org\r\nBcc: x@example.org', on_complete: true, on_failure: true }, 'email: not an e-mail address (or null to forget it)'],
      [{ email: 'a@example.org', on_complete: 'yes', on_failure: true }, 'on_complete: true or false'],
      [{ email: 'a@example.org', on_complete: true }, 'on_failure: true or false'],
      [{ email: 'a@example.org', on_complete: true, on_failure: true, cc: 'b@example.org' }, 'unknown field "cc"; give email, on_complete and on_failure'],
    ] as const) {
      expect(await prefs(token2, body)).toEqual({ status: 400, json: { msg, status_code: 400 } });
    }
    expect(await tb.broker.deps.ds.query(`SELECT count(*)::int AS n FROM notification_preferences WHERE owner_subject = 'demo-cli-2'`)).toEqual([{ n: 0 }]);
  });

  it('mails the completion of a real run: run id, state, backend, how to fetch the results; no token, no result password', async () => {
    const run = await newRun(token);
    const done = await waitForState(tb.url, token, run, terminal, 60_000);
    expect(done.state).toBe('COMPLETE');
    const [mail] = await until(() => mailsFor(run).length > 0 && mailsFor(run), 30_000, 'the mail');
    expect(mail!.subject).toBe(`Imputation run ${run} is complete`);
    expect(mail!.from?.text).toBe('"Imputation broker" <broker@imputation.example.org>');
    expect((Array.isArray(mail!.to) ? mail!.to[0] : mail!.to)?.text).toBe('researcher@example.org');
    const text = mail!.text!;
    const log = (await getJson<RunLog>(`${tb.url}/ga4gh/wes/v1/runs/${run}`, token)).body;
    const bundle = (log.outputs as { drs_uri: string }).drs_uri;
    expect(bundle).toMatch(/^drs:\/\//);
    for (const line of [
      `Your imputation run ${run} is complete.`,
      `Run:      ${run}`,
      'State:    COMPLETE',
      'Backend:  mis2 (mis2 simulator)',
      `Run log (GA4GH WES):  GET ${tb.url}/ga4gh/wes/v1/runs/${run}`,
      `Results (GA4GH DRS bundle):  ${bundle}`,
      `their password: GET ${tb.url}/api/v1/runs/${run}/result-password`,
    ]) {
      expect(text).toContain(line);
    }
    const password = ((await getJson<{ password: string }>(`${tb.url}/api/v1/runs/${run}/result-password`, token)).body).password;
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(text).not.toContain(password);
    expect(text).not.toContain(token);
    expect(text).not.toContain(SMTP_PASSWORD);
    expect(logins).toContain('broker');
    const list = (await call('GET', '/api/v1/me/notifications/deliveries', token)).json.deliveries as {
      channel: string;
      status: string;
      event: { run_id: string; state: string };
      attempts: { status_code: number; error: string | null }[];
    }[];
    const mine = list.filter((d) => d.event.run_id === run);
    expect(mine).toEqual([expect.objectContaining({ channel: 'email', status: 'delivered', event: expect.objectContaining({ state: 'COMPLETE' }) })]);
    expect(mine[0]!.attempts.map((a) => [a.status_code, a.error])).toEqual([[250, null]]);
    expect(mailsFor(run)).toHaveLength(1);
  });

  it('mails the failure of a real run, with what went wrong', async () => {
    const run = await newRun(token);
    const remoteId = await until(async () => {
      const [row] = (await tb.broker.deps.ds.query(`SELECT remote_id FROM runs WHERE id = $1`, [run])) as [{ remote_id: string | null }];
      return row.remote_id;
    });
    // The broker cannot reach the server while the job finishes and is retired: the results are lost.
    tb.sims.mis2!.setFaults({ dropRate: 1 });
    await until(() => (tb.sims.mis2!.getJob(remoteId)?.state ?? 0) >= 4, 60_000, 'the job to finish');
    await tb.sims.mis2!.retire(remoteId);
    tb.sims.mis2!.setFaults({ dropRate: 0 });
    expect((await waitForState(tb.url, token, run, terminal, 60_000)).state).toBe('EXECUTOR_ERROR');
    const [mail] = await until(() => mailsFor(run).length > 0 && mailsFor(run), 30_000, 'the mail');
    expect(mail!.subject).toBe(`Imputation run ${run} failed (EXECUTOR_ERROR)`);
    expect(mail!.text).toContain(`Your imputation run ${run} has failed (EXECUTOR_ERROR).`);
    expect(mail!.text).toContain('State:    EXECUTOR_ERROR');
    expect(mail!.text).toContain('What happened:\n  mis2 retired or deleted the job before its results came home; the results are no longer available.');
    expect(mail!.text).not.toContain('result-password');
  });

  it('sends nothing where the preferences say no', async () => {
    expect((await prefs(token2, { email: 'other@example.org', on_complete: false, on_failure: true })).status).toBe(200);
    const ds = tb.broker.deps.ds;
    const completed = await insertRun(ds, { issuer, subject: 'demo-cli-2' });
    await setRun(ds, completed, { state: 'COMPLETE' });
    // A user who switched both off after switching them on.
    expect((await prefs(token, { on_complete: false, on_failure: false })).json).toMatchObject({ email: 'researcher@example.org', on_complete: false });
    const failed = await insertRun(ds, { issuer, subject: 'demo-cli' });
    await setRun(ds, failed, { state: 'SYSTEM_ERROR' });
    const canceled = await insertRun(ds, { issuer, subject: 'demo-cli-2' });
    await setRun(ds, canceled, { state: 'CANCELED' });
    // The marker: a failure user 2 does want; once it is mailed, everything before it was dispatched.
    const marker = await insertRun(ds, { issuer, subject: 'demo-cli-2' });
    await setRun(ds, marker, { state: 'SYSTEM_ERROR' });
    await until(() => mailsFor(marker).length > 0, 30_000, 'the marker mail');
    await dispatched();
    for (const run of [completed, failed, canceled]) expect(mailsFor(run)).toHaveLength(0);
    const rows = (await ds.query(`SELECT e.run_id FROM notification_deliveries d JOIN run_events e ON e.id = d.event_id WHERE d.channel = 'email' AND e.run_id = ANY($1::uuid[])`, [
      [completed, failed, canceled],
    ])) as unknown[];
    expect(rows).toEqual([]);
  });

  it('retries when the SMTP server refuses for now, with each attempt listed', async () => {
    refuseNext = 1;
    const ds = tb.broker.deps.ds;
    const run = await insertRun(ds, { issuer, subject: 'demo-cli-2' });
    await setRun(ds, run, { state: 'EXECUTOR_ERROR' });
    await until(() => mailsFor(run).length > 0, 30_000, 'the mail after a retry');
    type Listed = { status: string; event: { run_id: string }; attempts: { attempt: number; status_code: number | null; error: string | null }[] };
    // The message is in before the broker has written down the SMTP server's answer.
    const d = await until(async () => {
      const list = (await call('GET', '/api/v1/me/notifications/deliveries', token2)).json.deliveries as Listed[];
      const found = list.find((x) => x.event.run_id === run);
      return found?.status === 'delivered' && found;
    }, 10_000, 'the delivery recorded');
    expect(d.attempts.map((a) => [a.attempt, a.status_code])).toEqual([
      [1, 451],
      [2, 250],
    ]);
    expect(d.attempts[0]!.error).toContain('Mailbox busy, try again later');
  });

  it('never logs the SMTP password', () => {
    expect(logLines.length).toBeGreaterThan(10);
    for (const line of logLines) expect(line).not.toContain(SMTP_PASSWORD);
  });
});

describe('the administrators (ADMIN_EMAILS)', () => {
  beforeAll(async () => {
    logLines.length = 0;
    await tb.restartWith({ ADMIN_EMAILS: 'ops@imputation.example.org, oncall@imputation.example.org' });
  });

  it('are mailed, each address once, when the health monitor deactivates a backend after a long outage', async () => {
    const ds = tb.broker.deps.ds;
    tb.sims.mis2!.setFaults({ errorRate: 1 });
    // A month of failures without waiting a month: the outage began 31 days ago, and the backend is due a probe now.
    await ds.query(
      `INSERT INTO backend_states (id, healthy, consecutive_failures, failing_since, next_check_at) VALUES ('mis2', false, 5, now() - interval '31 days', NULL)
       ON CONFLICT (id) DO UPDATE SET healthy = false, failing_since = now() - interval '31 days', next_check_at = NULL`,
    );
    const before = received.length;
    // This round, or the monitor's own if it came first: either way exactly one deactivation.
    await tb.broker.monitor!.tick();
    await until(async () => received.length - before >= 2, 10_000, 'admin mails');
    expect(await ds.query(`SELECT object_id FROM audit_events WHERE action = 'backend.deactivated'`)).toEqual([{ object_id: 'mis2' }]);
    const mails = received.slice(before);
    expect(mails.map((m) => (Array.isArray(m.to) ? m.to[0] : m.to)?.text).sort()).toEqual(['oncall@imputation.example.org', 'ops@imputation.example.org']);
    for (const m of mails) {
      expect(m.subject).toBe('Backend mis2 deactivated after a long outage');
      expect(m.text).toContain('deactivated backend mis2 (mis2 simulator)');
      expect(m.text).toContain('POST /api/v1/admin/backends/mis2/enable');
      expect(m.text).not.toContain(SMTP_PASSWORD);
    }
    expect(logLines.filter((l) => l.includes('administrator mailed'))).toHaveLength(2);
    tb.sims.mis2!.setFaults({ errorRate: 0 });
  });

  it('refuse to start on an address that is not one, or without an SMTP server', async () => {
    const { parseNotificationSettings } = await import('./settings');
    const bad = parseNotificationSettings({ SMTP_HOST: 'mail.example.org', MAIL_FROM: 'b@example.org', ADMIN_EMAILS: 'ops@example.org,not-an-address' });
    expect(bad).toEqual({ problems: [expect.stringContaining(`ADMIN_EMAILS: 'not-an-address' is not an e-mail address`)] });
    const noSmtp = parseNotificationSettings({ ADMIN_EMAILS: 'ops@example.org' });
    expect(noSmtp).toEqual({ problems: ['ADMIN_EMAILS: mailing the administrators needs an SMTP server: set SMTP_URL or SMTP_HOST, and MAIL_FROM'] });
    const ok = parseNotificationSettings({ SMTP_HOST: 'mail.example.org', MAIL_FROM: 'b@example.org', ADMIN_EMAILS: ' a@example.org , a@example.org,b@example.org ' });
    expect('settings' in ok && ok.settings.adminEmails).toEqual(['a@example.org', 'b@example.org']);
  });
});

describe('the default address', () => {
  const principal = (claims: Record<string, unknown>): Principal => ({ issuer: 'https://idp.example.org/', subject: 'u1', scopes: [], claims });

  it("is the token's email claim until the user stores one", () => {
    expect(preferencesView(null, principal({ email: 'ada@example.org' }), true)).toEqual({
      email: 'ada@example.org',
      email_source: 'token',
      on_complete: false,
      on_failure: false,
      mail_enabled: true,
      updated_at: null,
    });
    const stored = { email: 'lab@example.org', onComplete: true, onFailure: false, updatedAt: new Date('2025-01-02T03:04:05Z') };
    expect(preferencesView(stored, principal({ email: 'ada@example.org' }), false)).toEqual({
      email: 'lab@example.org',
      email_source: 'stored',
      on_complete: true,
      on_failure: false,
      mail_enabled: false,
      updated_at: '2025-01-02T03:04:05.000Z',
    });
    expect(preferencesView(null, principal({ email: 'not an address' }), true).email).toBeNull();
    expect(preferencesView(null, principal({}), true).email_source).toBe('none');
  });
});
