/**
 * The audit log against a real PostgreSQL: what is stored, every filter and paging, the table's
 * own refusal of UPDATE/DELETE/TRUNCATE, and that no secret reaches it.
 */
import { Writable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/data-source';
import type { ScratchDatabase } from '../db/embedded';
import { Audit1763900000000 } from '../db/migrations/0002-audit';
import { ApiError } from '../http/errors';
import { createLogger } from '../logging';
import { createTestDatabase } from '../testing/db';
import {
  MAX_DETAILS_BYTES,
  createAuditLog,
  decodeAuditPageToken,
  encodeAuditPageToken,
  parseRfc3339,
  type AuditFilters,
  type AuditLog,
  type AuditRecord,
} from './log';

let db: ScratchDatabase;
let ds: DataSource;
let audit: AuditLog;
const logLines: string[] = [];

const alice = { issuer: 'https://idp.example.org/', subject: 'alice', scopes: [], claims: {} };
const bob = { issuer: 'https://other.example.org/', subject: 'bob' };
const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6ImFiYyJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWRwLmV4YW1wbGUub3JnIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMTIzNDU2Nzg5MA';

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url, { poolSize: 4 });
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  audit = createAuditLog(ds, createLogger('info', sink));
});

afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
});

/** A fresh table for each test: the migration's own down/up (DELETE is refused, by design). */
async function resetTable(): Promise<void> {
  const qr = ds.createQueryRunner();
  try {
    const m = new Audit1763900000000();
    await m.down(qr);
    await m.up(qr);
  } finally {
    await qr.release();
  }
}

async function count(): Promise<number> {
  return Number((await ds.query('SELECT count(*)::int AS n FROM audit_events'))[0].n);
}

async function all(filters: AuditFilters = {}): Promise<AuditRecord[]> {
  return (await audit.query(filters, { pageSize: 500 })).events;
}

/** Rows at chosen times (inserting is what the table allows; `at` defaults to now() otherwise). */
async function insertAt(at: string, action: string, subject: string | null = 'alice'): Promise<void> {
  await ds.query(
    `INSERT INTO audit_events (at, actor_issuer, actor_subject, action, outcome) VALUES ($1, $2, $3, $4, 'ok')`,
    [at, subject ? alice.issuer : null, subject, action],
  );
}

describe('record', () => {
  beforeEach(resetTable);

  it('stores who, what, which object, when, from where and the outcome', async () => {
    const before = Date.now();
    await audit.record({
      action: 'run.submitted',
      outcome: 'ok',
      actor: alice,
      object: { kind: 'run', id: '0b8f2c1e-7a5d-4c3b-9e2f-1a2b3c4d5e6f' },
      reason: 'accepted',
      source: { source_ip: '2001:db8::7', user_agent: 'curl/8.5.0', request_id: 'req-1' },
      details: { backend: 'mis2', refpanel: 'hapmap-2', inputs: 2 },
    });
    const [e] = await all();
    expect(e).toEqual({
      id: expect.stringMatching(/^\d+$/),
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      actor_issuer: 'https://idp.example.org/',
      actor_subject: 'alice',
      action: 'run.submitted',
      object_kind: 'run',
      object_id: '0b8f2c1e-7a5d-4c3b-9e2f-1a2b3c4d5e6f',
      outcome: 'ok',
      reason: 'accepted',
      source_ip: '2001:db8::7',
      user_agent: 'curl/8.5.0',
      request_id: 'req-1',
      details: { backend: 'mis2', refpanel: 'hapmap-2', inputs: 2 },
    });
    expect(Date.parse(e!.at)).toBeGreaterThanOrEqual(before - 5_000);
    expect(Date.parse(e!.at)).toBeLessThanOrEqual(Date.now() + 5_000);
  });

  it('stores anonymous events with no actor and no object', async () => {
    await audit.record({ action: 'auth.token_refused', outcome: 'denied', reason: 'The access token has expired.' });
    const [e] = await all();
    expect(e).toMatchObject({ actor_issuer: null, actor_subject: null, object_kind: null, object_id: null, source_ip: null, details: {} });
  });

  it('keeps the order in which awaited events were recorded', async () => {
    for (const action of ['auth.login', 'run.submitted', 'run.canceled', 'output.downloaded'] as const) {
      await audit.record({ action, outcome: 'ok', actor: alice });
    }
    expect((await all()).map((e) => e.action)).toEqual(['output.downloaded', 'run.canceled', 'run.submitted', 'auth.login']);
  });

  it('never throws: a malformed event is logged (scrubbed) and not stored', async () => {
    logLines.length = 0;
    await expect(audit.record({ action: 'Not An Action' as 'run.x', outcome: 'ok', reason: `Bearer ${JWT}` })).resolves.toBeUndefined();
    await expect(audit.record({ action: 'run.submitted', outcome: 'maybe' as 'ok' })).resolves.toBeUndefined();
    expect(await count()).toBe(0);
    expect(logLines.join('')).toContain('audit event could not be stored');
    expect(logLines.join('')).not.toContain(JWT);
  });

  it('never throws when the database is gone, and logs the scrubbed event instead', async () => {
    const gone = await openDatabase(db.url, { poolSize: 1 });
    await gone.destroy();
    logLines.length = 0;
    const lost = createAuditLog(gone, createLogger('info', new Writable({ write: (c, _e, d) => (logLines.push(String(c)), d()) })));
    await expect(
      lost.record({ action: 'credential.used', outcome: 'ok', actor: alice, details: { password: 'hunter2', note: `Bearer ${JWT}` } }),
    ).resolves.toBeUndefined();
    const logged = logLines.join('');
    expect(logged).toContain('audit event could not be stored');
    expect(logged).toContain('credential.used');
    expect(logged).not.toContain('hunter2');
    expect(logged).not.toContain(JWT);
  });

  it('stores text PostgreSQL would refuse (NUL, lone surrogates) and drops an address inet would refuse', async () => {
    await audit.record({
      action: 'auth.token_refused',
      outcome: 'denied',
      reason: 'bad\u0000byte \ud800 here',
      source: { source_ip: 'not-an-ip', user_agent: 'ua\u0000x', request_id: 'r' },
      details: { 'k\u0000': 'v\u0000\udc00', nested: { deep: ['\u0000'] } },
    });
    const [e] = await all();
    expect(e).toMatchObject({ reason: 'badbyte \ufffd here', source_ip: null, user_agent: 'uax', details: { k: 'v\ufffd', nested: { deep: [''] } } });
  });

  it('normalizes addresses (IPv4 with port, bracketed IPv6, zone index)', async () => {
    for (const ip of ['192.0.2.10:5555', '[2001:db8::1]:443', 'fe80::1%eth0']) {
      await audit.record({ action: 'auth.login', outcome: 'ok', source: { source_ip: ip } });
    }
    expect((await all()).map((e) => e.source_ip)).toEqual(['fe80::1', '2001:db8::1', '192.0.2.10']);
  });
});

describe('secrets never reach the table', () => {
  beforeEach(resetTable);

  it('masks JWTs, Bearer tokens, URL passwords, long base64 and secret-named keys in reason and details', async () => {
    const b64 = 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3A=';
    await audit.record({
      action: 'auth.token_refused',
      outcome: 'denied',
      reason: `token ${JWT} refused; header was "Bearer ${JWT}"`,
      source: { user_agent: `evil/1.0 ${JWT}` },
      details: {
        header: `Bearer opaque-token-1234567890`,
        url: 'https://alice:s3cr3t-pw@example.org/in.vcf.gz',
        callback: '/cb?state=1&access_token=AbCdEf123456',
        key: b64,
        password: 'hunter2',
        clientSecret: 'not-shown',
        nested: { list: [{ refresh_token: 'rt-1' }, JWT], Authorization: 'Basic YWxpY2U6aHVudGVyMg==' },
        sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
        run: '0b8f2c1e-7a5d-4c3b-9e2f-1a2b3c4d5e6f',
        token_type: 'Bearer',
      },
    });
    const [raw] = (await ds.query(`SELECT reason, user_agent, details::text AS details FROM audit_events`)) as Array<Record<string, string>>;
    const stored = `${raw!.reason} ${raw!.user_agent} ${raw!.details}`;
    for (const secret of [JWT, 'opaque-token-1234567890', 's3cr3t-pw', 'AbCdEf123456', b64, 'hunter2', 'not-shown', 'rt-1', 'YWxpY2U6aHVudGVyMg==']) {
      expect(stored).not.toContain(secret);
    }
    const [e] = await all();
    expect(e!.reason).toBe('token [redacted] refused; header was "Bearer [redacted]"');
    expect(e!.details).toMatchObject({
      header: 'Bearer [redacted]',
      url: 'https://alice:[redacted]@example.org/in.vcf.gz',
      password: '[redacted]',
      clientSecret: '[redacted]',
      nested: { list: [{ refresh_token: '[redacted]' }, '[redacted]'], Authorization: '[redacted]' },
      // What is not a secret stays readable.
      sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      run: '0b8f2c1e-7a5d-4c3b-9e2f-1a2b3c4d5e6f',
      token_type: 'Bearer',
    });
  });

  it('caps details at MAX_DETAILS_BYTES, and long strings, arrays and depth inside them', async () => {
    await audit.record({ action: 'admin.backend_changed', outcome: 'ok', details: { blob: 'x'.repeat(5000), list: Array.from({ length: 300 }, (_, i) => i) } });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    await audit.record({ action: 'admin.backend_changed', outcome: 'ok', details: { cyclic, deep: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } } } });
    const huge = Object.fromEntries(Array.from({ length: 90 }, (_, i) => [`k${i}`, 'y'.repeat(900)]));
    await audit.record({ action: 'admin.backend_changed', outcome: 'ok', details: huge });

    const [big, nested, capped] = await all();
    expect(big!.details).toEqual({ truncated: true, bytes: expect.any(Number), preview: expect.any(String) });
    expect(JSON.stringify(big!.details).length).toBeLessThanOrEqual(MAX_DETAILS_BYTES);
    expect(nested!.details).toEqual({ cyclic: { name: 'loop', self: '[circular]' }, deep: { a: { b: { c: { d: { e: '[too deep]' } } } } } });
    expect((capped!.details.blob as string).length).toBe(1000);
    expect(capped!.details.list).toHaveLength(101);
    expect((capped!.details.list as unknown[])[100]).toBe('[200 more]');
    const rawSizes = (await ds.query(`SELECT octet_length(details::text) AS n FROM audit_events`)) as Array<{ n: number }>;
    for (const { n } of rawSizes) expect(Number(n)).toBeLessThanOrEqual(MAX_DETAILS_BYTES + 64);
  });
});

describe('query', () => {
  beforeAll(async () => {
    await resetTable();
    await audit.record({ action: 'auth.login', outcome: 'ok', actor: alice });
    await audit.record({ action: 'run.submitted', outcome: 'ok', actor: alice, object: { kind: 'run', id: 'r1' } });
    await audit.record({ action: 'run.submitted', outcome: 'denied', actor: bob, object: { kind: 'run', id: 'r2' }, reason: 'no visa' });
    await audit.record({ action: 'policy.denied', outcome: 'denied', actor: bob, object: { kind: 'run', id: 'r2' } });
    await audit.record({ action: 'run.canceled', outcome: 'ok', actor: alice, object: { kind: 'run', id: 'r1' } });
    await audit.record({ action: 'output.downloaded', outcome: 'ok', actor: alice, object: { kind: 'object', id: 'o1' } });
    await audit.record({ action: 'credential.stored', outcome: 'failed', actor: alice, object: { kind: 'credential', id: 'c1' } });
    await audit.record({ action: 'auth.token_refused', outcome: 'denied', reason: 'expired' });
  });

  const actions = async (filters: AuditFilters) => (await all(filters)).map((e) => e.action);

  it('returns everything newest first without filters', async () => {
    expect(await actions({})).toEqual([
      'auth.token_refused',
      'credential.stored',
      'output.downloaded',
      'run.canceled',
      'policy.denied',
      'run.submitted',
      'run.submitted',
      'auth.login',
    ]);
  });

  it.each<[string, AuditFilters, string[]]>([
    ['actor', { actor: 'bob' }, ['policy.denied', 'run.submitted']],
    ['issuer', { issuer: 'https://other.example.org/' }, ['policy.denied', 'run.submitted']],
    ['action', { action: 'run.submitted' }, ['run.submitted', 'run.submitted']],
    ['action family', { action: 'run.*' }, ['run.canceled', 'run.submitted', 'run.submitted']],
    ['object_kind', { objectKind: 'credential' }, ['credential.stored']],
    ['object_id', { objectId: 'r2' }, ['policy.denied', 'run.submitted']],
    ['outcome', { outcome: 'denied' }, ['auth.token_refused', 'policy.denied', 'run.submitted']],
    ['outcome failed', { outcome: 'failed' }, ['credential.stored']],
    ['several at once', { actor: 'alice', objectId: 'r1', outcome: 'ok' }, ['run.canceled', 'run.submitted']],
    ['no match', { actor: 'carol' }, []],
    ['a name that only looks like SQL', { actor: "alice' OR '1'='1" }, []],
  ])('filters by %s', async (_name, filters, expected) => {
    expect(await actions(filters)).toEqual(expected);
  });

  it('pages newest first with keyset tokens, stable while events are appended', async () => {
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await audit.query({}, { pageSize: 3, pageToken: token || undefined });
      seen.push(...page.events.map((e) => e.id));
      token = page.nextPageToken;
      pages++;
      // A newer event between pages must not shift the next page.
      if (pages === 1) await audit.record({ action: 'auth.login', outcome: 'ok', actor: bob });
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(8);
    expect(new Set(seen).size).toBe(8);
    expect([...seen].sort((a, b) => Number(b) - Number(a))).toEqual(seen);
  });

  it('pages within a filter', async () => {
    const first = await audit.query({ outcome: 'denied' }, { pageSize: 2 });
    expect(first.events.map((e) => e.action)).toEqual(['auth.token_refused', 'policy.denied']);
    const second = await audit.query({ outcome: 'denied' }, { pageSize: 2, pageToken: first.nextPageToken });
    expect(second.events.map((e) => e.action)).toEqual(['run.submitted']);
    expect(second.nextPageToken).toBe('');
  });

  it('refuses bad page sizes, tokens and times with a 400', async () => {
    for (const call of [
      () => audit.query({}, { pageSize: 0 }),
      () => audit.query({}, { pageSize: 501 }),
      () => audit.query({}, { pageSize: 2.5 }),
      () => audit.query({}, { pageToken: 'not-a-token' }),
      () => audit.query({}, { pageToken: Buffer.from('s:12').toString('base64url') }),
      () => audit.query({ since: 'yesterday' }),
      () => audit.query({ until: '2025-02-30T00:00:00Z' }),
      () => audit.query({ since: new Date(Number.NaN) }),
      () => audit.query({ action: "run'; DROP TABLE audit_events; --" }),
    ]) {
      await expect(call()).rejects.toSatisfy((e: unknown) => e instanceof ApiError && e.status === 400);
    }
  });
});

describe('time filters', () => {
  beforeAll(async () => {
    await resetTable();
    await insertAt('2025-01-01T00:00:00Z', 'auth.login');
    await insertAt('2025-01-01T12:00:00.000001Z', 'run.submitted');
    await insertAt('2025-01-02T00:00:00Z', 'run.canceled');
    await insertAt('2025-01-03T00:00:00+02:00', 'output.downloaded');
  });

  const actions = async (filters: AuditFilters) => (await all(filters)).map((e) => e.action);

  it('since is inclusive, until exclusive, with microseconds and offsets respected', async () => {
    expect(await actions({ since: '2025-01-01T12:00:00.000001Z' })).toEqual(['output.downloaded', 'run.canceled', 'run.submitted']);
    expect(await actions({ since: '2025-01-01T12:00:00.000002Z' })).toEqual(['output.downloaded', 'run.canceled']);
    expect(await actions({ until: '2025-01-02T00:00:00Z' })).toEqual(['run.submitted', 'auth.login']);
    expect(await actions({ since: '2025-01-01T13:00:00+01:00', until: '2025-01-02T00:00:00Z' })).toEqual(['run.submitted']);
    expect(await actions({ since: new Date('2025-01-02T21:59:59Z'), until: new Date('2025-01-02T22:00:01Z') })).toEqual(['output.downloaded']);
  });

  it('reports times with microseconds in UTC', async () => {
    const [e] = await all({ action: 'run.submitted' });
    expect(e!.at).toBe('2025-01-01T12:00:00.000001Z');
  });
});

describe('the table is append-only, enforced by PostgreSQL', () => {
  beforeAll(async () => {
    await resetTable();
    await audit.record({ action: 'run.submitted', outcome: 'ok', actor: alice, object: { kind: 'run', id: 'r1' } });
    await audit.record({ action: 'run.canceled', outcome: 'ok', actor: alice, object: { kind: 'run', id: 'r1' } });
  });

  it.each([
    ['UPDATE', `UPDATE audit_events SET outcome = 'denied'`],
    ['UPDATE of one row', `UPDATE audit_events SET reason = 'rewritten' WHERE action = 'run.canceled'`],
    ['UPDATE matching nothing', `UPDATE audit_events SET reason = 'x' WHERE false`],
    ['DELETE', `DELETE FROM audit_events`],
    ['DELETE of one row', `DELETE FROM audit_events WHERE action = 'run.canceled'`],
    ['TRUNCATE', `TRUNCATE audit_events`],
    ['TRUNCATE ... CASCADE', `TRUNCATE audit_events RESTART IDENTITY CASCADE`],
  ])('%s raises and changes nothing', async (_name, sql) => {
    await expect(ds.query(sql)).rejects.toThrow(/audit_events is append-only: (UPDATE|DELETE|TRUNCATE) is not allowed/);
    const rows = await all();
    expect(rows.map((e) => [e.action, e.outcome, e.reason])).toEqual([
      ['run.canceled', 'ok', null],
      ['run.submitted', 'ok', null],
    ]);
  });

  it('refuses inside a transaction too, and the transaction rolls back', async () => {
    await expect(
      ds.transaction(async (m) => {
        await m.query(`INSERT INTO audit_events (action, outcome) VALUES ('auth.login', 'ok')`);
        await m.query(`DELETE FROM audit_events`);
      }),
    ).rejects.toThrow(/append-only/);
    expect(await count()).toBe(2);
  });

  it('still takes new events after refusing a change', async () => {
    await audit.record({ action: 'auth.login', outcome: 'ok', actor: alice });
    expect(await count()).toBe(3);
  });

  it('the database enforces the vocabulary too (action form, outcome)', async () => {
    await expect(ds.query(`INSERT INTO audit_events (action, outcome) VALUES ('DROP', 'ok')`)).rejects.toThrow(/check constraint/);
    await expect(ds.query(`INSERT INTO audit_events (action, outcome) VALUES ('auth.login', 'fine')`)).rejects.toThrow(/check constraint/);
  });

  it('down removes the table and its guard; up brings both back', async () => {
    const qr = ds.createQueryRunner();
    try {
      const m = new Audit1763900000000();
      await m.down(qr);
      expect((await ds.query(`SELECT to_regclass('audit_events') AS t`))[0].t).toBeNull();
      expect(await ds.query(`SELECT 1 FROM pg_proc WHERE proname = 'audit_events_refuse_change'`)).toHaveLength(0);
      await m.up(qr);
    } finally {
      await qr.release();
    }
    const triggers = (await ds.query(
      `SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal ORDER BY tgname`,
    )) as Array<{ tgname: string }>;
    expect(triggers.map((t) => t.tgname)).toEqual(['audit_events_append_only', 'audit_events_no_truncate']);
    await expect(ds.query(`DELETE FROM audit_events`)).rejects.toThrow(/append-only/);
  });
});

describe('ordering past id 9', () => {
  beforeAll(resetTable);

  it('is numeric on id, not textual (the select returns id as text)', async () => {
    for (let i = 0; i < 25; i++) await audit.record({ action: 'auth.login', outcome: 'ok', details: { i } });
    const ids: number[] = [];
    let token = '';
    do {
      const page = await audit.query({ action: 'auth.login' }, { pageSize: 7, pageToken: token || undefined });
      ids.push(...page.events.map((e) => Number(e.id)));
      token = page.nextPageToken;
    } while (token);
    expect(ids).toEqual(Array.from({ length: 25 }, (_, i) => 25 - i));
  });
});

describe('page tokens and RFC 3339', () => {
  it('round-trips ids and refuses anything else', () => {
    expect(decodeAuditPageToken(encodeAuditPageToken('12345'))).toBe('12345');
    for (const bad of ['', 'x', Buffer.from('a:0').toString('base64url'), Buffer.from('a:-1').toString('base64url'), Buffer.from('a:1 OR 1=1').toString('base64url'), 'a'.repeat(100)]) {
      expect(decodeAuditPageToken(bad)).toBeNull();
    }
  });

  it.each([
    ['2025-01-31T12:00:00Z', Date.UTC(2025, 0, 31, 12)],
    ['2025-01-31t12:00:00.5z', Date.UTC(2025, 0, 31, 12, 0, 0, 500)],
    ['2025-01-31T12:00:00+02:30', Date.UTC(2025, 0, 31, 9, 30)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2016-12-31T23:59:60Z', Date.UTC(2017, 0, 1)],
    ['0050-06-01T00:00:00Z', Date.parse('0050-06-01T00:00:00.000Z')],
  ])('parses %s', (text, ms) => expect(parseRfc3339(text)).toBe(ms));

  it.each(['2025-01-31', '2025-01-31T12:00:00', '2025-02-29T00:00:00Z', '2025-13-01T00:00:00Z', '2025-01-01T24:00:00Z', '0000-01-01T00:00:00Z', '2025-01-01 00:00:00Z', 'yesterday', '2025-01-01T00:00:00+24:00'])(
    'refuses %s',
    (text) => expect(parseRfc3339(text)).toBeNull(),
  );
});
