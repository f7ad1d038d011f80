/** Where a request came from, read from real HTTP requests on loopback. */
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../auth/test-support';
import { MAX_USER_AGENT_LENGTH, auditSource, normalizeIp, type AuditSourceOptions } from './middleware';

let server: RunningServer;

beforeAll(async () => {
  const app = new Hono();
  const route = (path: string, options: AuditSourceOptions) => app.get(path, (c) => c.json(auditSource(c, options)));
  route('/direct', {});
  route('/one-proxy', { trustProxy: true });
  route('/two-proxies', { trustProxy: 2 });
  app.get('/with-request-id', (c) => {
    c.set('requestId' as never, 'set-by-app' as never);
    return c.json(auditSource(c));
  });
  server = await listen(getRequestListener(app.fetch));
});

afterAll(() => server?.close());

async function source(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, { headers });
  expect(res.status).toBe(200);
  return (await res.json()) as { source_ip: string | null; user_agent: string | null; request_id: string | null };
}

describe('auditSource', () => {
  it('takes the socket address and ignores X-Forwarded-For unless proxies are trusted', async () => {
    expect(await source('/direct', { 'x-forwarded-for': '203.0.113.9', 'user-agent': 'curl/8' })).toEqual({
      source_ip: '127.0.0.1',
      user_agent: 'curl/8',
      request_id: null,
    });
  });

  it('with one trusted proxy takes the entry that proxy appended (the last), not the client-supplied first', async () => {
    expect((await source('/one-proxy', { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' })).source_ip).toBe('203.0.113.9');
    expect((await source('/one-proxy', { 'x-forwarded-for': '2001:db8::5' })).source_ip).toBe('2001:db8::5');
  });

  it('with two trusted proxies takes the second entry from the right', async () => {
    expect((await source('/two-proxies', { 'x-forwarded-for': '198.51.100.1, 203.0.113.9, 10.0.0.2' })).source_ip).toBe('203.0.113.9');
    expect((await source('/two-proxies', { 'x-forwarded-for': '203.0.113.9' })).source_ip).toBe('203.0.113.9');
  });

  it('falls back to the socket when the forwarded address is missing or not an address', async () => {
    expect((await source('/one-proxy')).source_ip).toBe('127.0.0.1');
    expect((await source('/one-proxy', { 'x-forwarded-for': 'unknown' })).source_ip).toBe('127.0.0.1');
    expect((await source('/one-proxy', { 'x-forwarded-for': "1.2.3.4'; DROP TABLE x" })).source_ip).toBe('127.0.0.1');
  });

  it('truncates the user agent', async () => {
    const s = await source('/direct', { 'user-agent': 'a'.repeat(5000) });
    expect(s.user_agent).toHaveLength(MAX_USER_AGENT_LENGTH);
  });

  it('takes the request id the app set, else a well-formed X-Request-Id, else none', async () => {
    expect((await source('/with-request-id', { 'x-request-id': 'from-client' })).request_id).toBe('set-by-app');
    expect((await source('/direct', { 'x-request-id': 'abc-123' })).request_id).toBe('abc-123');
    expect((await source('/direct', { 'x-request-id': 'bad id with spaces' })).request_id).toBeNull();
  });

  it('has no address, rather than failing, outside a Node server', async () => {
    const app = new Hono();
    app.get('/', (c) => c.json(auditSource(c)));
    const res = await app.request('/');
    expect(await res.json()).toEqual({ source_ip: null, user_agent: null, request_id: null });
  });
});

describe('normalizeIp', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['192.0.2.1:8080', '192.0.2.1'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1'],
    [' 10.0.0.1 ', '10.0.0.1'],
    ['999.1.1.1', null],
    ['example.org', null],
    ['', null],
  ])('%s -> %s', (raw, expected) => expect(normalizeIp(raw)).toBe(expected));
});
