/**
 * GET /api/v1/audit over real HTTP, on a real PostgreSQL: administrators read and filter the
 * trail; bad filters get a 400 in the WES error shape; everyone else gets a 403; nothing can
 * change it through the API.
 */
import { getRequestListener } from '@hono/node-server';
import { createMiddleware } from 'hono/factory';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog, type AuditLog, type AuditRecord } from '../audit/log';
import { listen, type RunningServer } from '../auth/test-support';
import type { Principal } from '../auth/principal';
import { openDatabase } from '../db/data-source';
import type { ScratchDatabase } from '../db/embedded';
import type { AppEnv } from '../http/context';
import { ApiError, errorResponse, forbidden, unauthorized } from '../http/errors';
import { createLogger } from '../logging';
import { createTestDatabase } from '../testing/db';
import { registerAuditList } from './audit_list';
import { createApiApp } from './openapi';

const ISSUER = 'https://idp.example.org/';
let db: ScratchDatabase;
let ds: DataSource;
let audit: AuditLog;
let server: RunningServer;
let noAdmins: RunningServer;
let apiDoc: { paths: Record<string, Record<string, unknown>> };

/** Stands in for bearerAuth: "Bearer <subject>" becomes that principal. */
const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const subject = /^Bearer (\w+)$/.exec(c.req.header('authorization') ?? '')?.[1];
  if (!subject) throw unauthorized('This API needs an access token.');
  const principal: Principal = { issuer: ISSUER, subject, scopes: [], claims: { sub: subject, iss: ISSUER } };
  c.set('principal', principal);
  await next();
});

const authorizeAdmin = async (c: { get(key: 'principal'): Principal }) => {
  if (c.get('principal').subject !== 'admin') throw forbidden('Only administrators may read the audit trail.');
};

function buildApp(withAdmins: boolean) {
  const api = createApiApp();
  api.onError((err, c) => (err instanceof ApiError ? errorResponse(c, err) : c.json({ msg: 'internal', status_code: 500 }, 500)));
  registerAuditList(api, { authenticate, audit, authorizeAdmin: withAdmins ? authorizeAdmin : undefined });
  return api;
}

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url, { poolSize: 4 });
  audit = createAuditLog(ds, createLogger('silent'));
  const api = buildApp(true);
  apiDoc = api.getOpenAPIDocument({ openapi: '3.0.3', info: { title: 't', version: '1' } }) as unknown as typeof apiDoc;
  server = await listen(getRequestListener(api.fetch));
  noAdmins = await listen(getRequestListener(buildApp(false).fetch));

  const alice = { issuer: ISSUER, subject: 'alice' };
  await audit.record({ action: 'auth.login', outcome: 'ok', actor: alice });
  await audit.record({ action: 'run.submitted', outcome: 'ok', actor: alice, object: { kind: 'run', id: 'r1' } });
  await audit.record({ action: 'policy.denied', outcome: 'denied', actor: { issuer: ISSUER, subject: 'bob' }, object: { kind: 'run', id: 'r2' } });
  await audit.record({ action: 'run.canceled', outcome: 'ok', actor: alice, object: { kind: 'run', id: 'r1' } });
  await audit.record({ action: 'output.downloaded', outcome: 'ok', actor: alice, object: { kind: 'object', id: 'o1' } });
  await audit.record({ action: 'credential.stored', outcome: 'failed', actor: alice, object: { kind: 'credential', id: 'c1' } });
  await audit.record({ action: 'auth.token_refused', outcome: 'denied', reason: 'expired' });
});

afterAll(async () => {
  await server?.close();
  await noAdmins?.close();
  await ds?.destroy();
  await db?.drop();
});

interface ListBody {
  events: AuditRecord[];
  next_page_token: string;
}

async function get(query: string, as = 'admin', base = server.url, headers: Record<string, string> = {}) {
  return fetch(`${base}/api/v1/audit${query}`, { headers: { authorization: `Bearer ${as}`, ...headers } });
}

async function list(query: string): Promise<ListBody> {
  const res = await get(query);
  expect(res.status).toBe(200);
  return (await res.json()) as ListBody;
}

/** The seeded events only: reads of the trail and refusals to read it are on the trail too. */
const seeded = (body: ListBody) => body.events.filter((e) => e.object_kind !== 'audit_log');

describe('administrators read the trail', () => {
  it('lists events newest first, not cacheable', async () => {
    const res = await get('?action=run.*');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as ListBody;
    expect(body.events.map((e) => e.action)).toEqual(['run.canceled', 'run.submitted']);
    expect(body.events[0]).toMatchObject({ actor_issuer: ISSUER, actor_subject: 'alice', object_kind: 'run', object_id: 'r1', outcome: 'ok' });
    expect(body.next_page_token).toBe('');
  });

  it.each([
    ['actor=bob', ['policy.denied']],
    ['action=credential.stored', ['credential.stored']],
    ['object_id=r1', ['run.canceled', 'run.submitted']],
    ['object_kind=object', ['output.downloaded']],
    ['outcome=failed', ['credential.stored']],
    ['actor=alice&object_id=r1&outcome=ok', ['run.canceled', 'run.submitted']],
    [`issuer=${encodeURIComponent('https://nowhere.example/')}`, []],
  ])('filters: %s', async (query, expected) => {
    expect(seeded(await list(`?${query}`)).map((e) => e.action)).toEqual(expected);
  });

  it('filters by time (since inclusive, until exclusive)', async () => {
    const [newest] = (await list('?action=auth.token_refused')).events;
    const at = encodeURIComponent(newest!.at);
    expect((await list(`?action=auth.*&since=${at}`)).events.map((e) => e.action)).toEqual(['auth.token_refused']);
    expect((await list(`?action=auth.*&until=${at}`)).events.map((e) => e.action)).toEqual(['auth.login']);
    expect((await list(`?action=auth.*&since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00%2B01:00`)).events).toEqual([]);
  });

  it('pages with next_page_token until it is empty', async () => {
    const ids: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const body = await list(`?outcome=ok&actor=alice&page_size=2${token ? `&page_token=${token}` : ''}`);
      expect(body.events.length).toBeLessThanOrEqual(2);
      ids.push(...body.events.map((e) => e.id));
      token = body.next_page_token;
      pages++;
    } while (token && pages < 10);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
    expect(pages).toBe(2);
  });

  it('records each read of the trail, with who and which filters', async () => {
    await get('?object_id=o1', 'admin', server.url, { 'x-request-id': 'read-42', 'user-agent': 'audit-test/1' });
    // A read is recorded after it reads, so the newest read this list sees is the one above.
    const [read] = (await list('?action=audit.read&page_size=1')).events;
    expect(read).toMatchObject({
      actor_subject: 'admin',
      object_kind: 'audit_log',
      outcome: 'ok',
      source_ip: '127.0.0.1',
      user_agent: 'audit-test/1',
      request_id: 'read-42',
      details: { filters: { objectId: 'o1' }, returned: 1 },
    });
  });
});

describe('bad filters: 400 in the WES error shape', () => {
  it.each([
    ['since=yesterday', 'since'],
    ['since=2025-02-30T00:00:00Z', 'since'],
    ['until=2025-01-01T00:00:00', 'until'],
    ['until=2025-01-01', 'until'],
    ['since=2025-01-02T00:00:00Z&until=2025-01-01T00:00:00Z', 'until'],
    ['page_size=0', 'page_size'],
    ['page_size=9999', 'page_size'],
    ['page_size=-1', 'page_size'],
    ['page_size=2.5', 'page_size'],
    ['page_size=abc', 'page_size'],
    ['page_token=not-a-token', 'page_token'],
    [`page_token=${Buffer.from('s:12').toString('base64url')}`, 'page_token'],
    [`page_token=${'A'.repeat(200)}`, 'page_token'],
    ['outcome=maybe', 'outcome'],
    ['action=DROP%20TABLE', 'action'],
    ['actor=', 'actor'],
  ])('%s', async (query, param) => {
    const res = await get(`?${query}`);
    const body = (await res.json()) as { msg: string; status_code: number };
    expect({ status: res.status, body }).toEqual({ status: 400, body: { msg: expect.stringContaining(param), status_code: 400 } });
  });

  it('explains what a good value looks like', async () => {
    const dates = (await (await get('?since=yesterday')).json()) as { msg: string };
    expect(dates.msg).toContain('RFC 3339');
    const size = (await (await get('?page_size=9999')).json()) as { msg: string };
    expect(size.msg).toContain('from 1 to 500');
  });
});

describe('security', () => {
  it('refuses a non-administrator with 403, before looking at the filters, and records the denial', async () => {
    for (const query of ['', '?page_size=9999']) {
      const res = await get(query, 'mallory', server.url, { 'x-request-id': 'deny-1' });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ msg: 'Only administrators may read the audit trail.', status_code: 403 });
    }
    const denied = (await list('?actor=mallory&action=policy.denied')).events;
    expect(denied).toHaveLength(2);
    expect(denied[0]).toMatchObject({ object_kind: 'audit_log', outcome: 'denied', source_ip: '127.0.0.1', request_id: 'deny-1' });
  });

  it('refuses everyone when no administrator check is configured', async () => {
    const res = await get('', 'admin', noAdmins.url);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ status_code: 403 });
  });

  it('needs a bearer token', async () => {
    const res = await fetch(`${server.url}/api/v1/audit`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ status_code: 401 });
  });

  it('offers no way to change the trail', async () => {
    const before = Number((await ds.query('SELECT count(*)::int AS n FROM audit_events'))[0].n);
    const [some] = (await list('?page_size=1')).events;
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const path of ['/api/v1/audit', `/api/v1/audit/${some!.id}`]) {
        const res = await fetch(`${server.url}${path}`, {
          method,
          headers: { authorization: 'Bearer admin', 'content-type': 'application/json' },
          body: method === 'DELETE' ? undefined : JSON.stringify({ outcome: 'ok' }),
        });
        expect([404, 405]).toContain(res.status);
      }
    }
    // Only the list call above was added (as an audit.read); nothing was changed or removed.
    expect(Number((await ds.query('SELECT count(*)::int AS n FROM audit_events'))[0].n)).toBe(before + 1);
    expect(Object.keys(apiDoc.paths['/api/v1/audit'] ?? {})).toEqual(['get']);
    expect(Object.keys(apiDoc.paths).filter((p) => p.startsWith('/api/v1/audit'))).toEqual(['/api/v1/audit']);
  });
});
