/**
 * The shared HTTP client against a scripted loopback server: classification hooks, capped
 * bodies, 429 with Retry-After, one refresh on 401, and where credentials may go on redirects.
 */
import { text as streamText } from 'node:stream/consumers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BackendErrorKind } from '../types';
import { HttpClient, type HttpClientOptions } from './client';
import { messageFromBody, parseRetryAfter, redact } from './errors';
import { json, rejection, ScriptedServer } from './scripted-server.test-helper';
import { carriesOwnCredentials, isPrivateAddress, pointsToPrivateNetwork } from './urls';

const TOKEN = 'tok-abcdefghijklmnop';
const server = new ScriptedServer();
const other = new ScriptedServer();

beforeAll(async () => {
  await server.start();
  await other.start();
});
afterAll(async () => {
  await server.close();
  await other.close();
});
afterEach(() => {
  server.seen.length = 0;
  other.seen.length = 0;
});

const classify = (status: number): BackendErrorKind => (status >= 500 ? 'unreachable' : status === 401 ? 'auth' : status === 404 ? 'not_found' : 'rejected');

function client(overrides: Partial<HttpClientOptions> = {}): HttpClient {
  return new HttpClient({
    label: 'Test service',
    timeoutMs: 2000,
    userAgent: 'test/1',
    maxResponseBytes: 1024,
    classify,
    secrets: () => [TOKEN],
    authorization: async () => `Bearer ${TOKEN}`,
    ...overrides,
  });
}

describe('JSON answers', () => {
  it('sends the bearer token and parses JSON', async () => {
    server.handler = (_req, res) => json(res, 200, { ok: 1 });
    expect(await client().json(`${server.url}/x`)).toEqual({ ok: 1 });
    expect(server.seen[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(server.seen[0]?.headers['user-agent']).toBe('test/1');
  });

  it('an HTML page with status 200 is unreachable, not data', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><html><title>Sign in</title><body>Please log in</body></html>');
    };
    const error = await rejection(client().json(`${server.url}/x`));
    expect(error.kind).toBe('unreachable');
    expect(error.message).toContain('HTML page');
  });

  it('a body larger than the cap is unreachable, and not read to the end', async () => {
    let written = 0;
    let closed = false;
    server.handler = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.on('close', () => (closed = true));
      const chunk = Buffer.alloc(64 * 1024, 0x5b);
      for (let i = 0; i < 1024 && !closed; i++) {
        written += chunk.length;
        if (!res.write(chunk)) await new Promise((r) => setTimeout(r, 5));
      }
      res.end();
    };
    const error = await rejection(client().json(`${server.url}/big`));
    expect(error.kind).toBe('unreachable');
    expect(error.message).toContain('more than 1024 bytes');
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('429 is rate_limited with the Retry-After of the answer', async () => {
    server.handler = (_req, res) => json(res, 429, { msg: 'slow down' }, { 'Retry-After': '7' });
    const error = await rejection(client().json(`${server.url}/x`));
    expect(error).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 7000 });
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('slow down');
  });

  it('other statuses go through the classifier with the service’s own message', async () => {
    server.handler = (_req, res) => json(res, 404, { msg: 'Could not find it', status_code: 404 });
    expect(await rejection(client().json(`${server.url}/x`))).toMatchObject({ kind: 'not_found', status: 404, retryAfterMs: null });
    server.handler = (_req, res) => json(res, 503, { msg: `down, token was ${TOKEN}` });
    const error = await rejection(client().json(`${server.url}/x`));
    expect(error.kind).toBe('unreachable');
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).toContain('[redacted]');
  });

  it('a redirect is refused for API calls: it would carry the token elsewhere', async () => {
    server.handler = (_req, res) => {
      res.writeHead(302, { location: `${other.url}/steal` });
      res.end();
    };
    const error = await rejection(client().json(`${server.url}/x`));
    expect(error.kind).toBe('rejected');
    expect(other.seen).toHaveLength(0);
  });
});

describe('401 refresh', () => {
  it('asks for new credentials once and repeats the call', async () => {
    let token = 'old-token-123';
    let refreshed = 0;
    server.handler = (req, res) => (req.headers.authorization === 'Bearer new-token-456' ? json(res, 200, { ok: true }) : json(res, 401, {}));
    const c = client({
      authorization: async () => `Bearer ${token}`,
      refreshAuthorization: async () => {
        refreshed++;
        token = 'new-token-456';
        return true;
      },
    });
    expect(await c.json(`${server.url}/x`)).toEqual({ ok: true });
    expect(refreshed).toBe(1);
    expect(server.seen.map((s) => s.headers.authorization)).toEqual(['Bearer old-token-123', 'Bearer new-token-456']);
  });

  it('a second 401 is auth, without a third attempt', async () => {
    let refreshed = 0;
    server.handler = (_req, res) => json(res, 401, {});
    const c = client({ refreshAuthorization: async () => ++refreshed > 0 });
    expect((await rejection(c.json(`${server.url}/x`))).kind).toBe('auth');
    expect(refreshed).toBe(1);
    expect(server.seen).toHaveLength(2);
  });
});

describe('downloads', () => {
  it('follows redirects, giving the token only to the URLs allowed', async () => {
    server.handler = (_req, res) => {
      res.writeHead(307, { location: `${other.url}/file?X-Amz-Signature=abc` });
      res.end();
    };
    other.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end('file bytes');
    };
    const origin = new URL(server.url);
    const body = await client().download(`${server.url}/out`, 'out', { mayAuthorize: (u) => u.host === origin.host });
    expect(await streamText(body)).toBe('file bytes');
    expect(server.seen[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(other.seen[0]?.headers.authorization).toBeUndefined();
  });

  it('a signed URL that is refused is a retryable blip, a 404 is gone', async () => {
    other.handler = (_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
    };
    const wesLike = (status: number, _m: string, context: string): BackendErrorKind =>
      status === 403 && context === 'download:signed' ? 'unreachable' : status === 404 ? 'gone' : 'auth';
    const c = client({ classify: wesLike });
    const expired = await rejection(c.download(`${other.url}/f?X-Amz-Signature=x`, 'f', { mayAuthorize: () => false }));
    expect(expired.kind).toBe('unreachable');
    expect(expired.message).toContain('Request has expired');
    other.handler = (_req, res) => json(res, 404, {});
    expect((await rejection(c.download(`${other.url}/f`, 'f', { mayAuthorize: () => false }))).kind).toBe('gone');
  });

  it('stops after five redirects', async () => {
    server.handler = (req, res) => {
      res.writeHead(302, { location: `${server.url}${req.url}x` });
      res.end();
    };
    const error = await rejection(client().download(`${server.url}/a`, 'a', { mayAuthorize: () => true }));
    expect(error.kind).toBe('unreachable');
    expect(server.seen).toHaveLength(6);
  });
});

describe('helpers', () => {
  it('parses Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2025-10-16T10:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 16 Oct 2025 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 16 Oct 2025 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter('99999999', now)).toBe(86_400_000);
  });

  it('takes the message from WES, OAuth, Spring and HTML bodies', () => {
    expect(messageFromBody('{"msg":"Could not find x","status_code":404}')).toBe('Could not find x');
    expect(messageFromBody('{"error":"invalid_client","error_description":"Client authentication failed"}')).toBe('invalid_client: Client authentication failed');
    expect(messageFromBody('{"timestamp":"t","msg":"Run not found","error_code":404}')).toBe('Run not found');
    expect(messageFromBody('<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found.</p>')).toBe(
      'Not Found The requested URL was not found.',
    );
    expect(messageFromBody('x'.repeat(2000)).length).toBeLessThanOrEqual(501);
  });

  it('redacts every secret, ignoring trivially short ones', () => {
    expect(redact('a sekret-1 and tok-2222 and ab', ['sekret-1', 'tok-2222', 'ab'])).toBe('a [redacted] and [redacted] and ab');
  });

  it('knows signed URLs and private addresses', async () => {
    expect(carriesOwnCredentials(new URL('https://s3.example.org/b/k?X-Amz-Signature=1'))).toBe(true);
    expect(carriesOwnCredentials(new URL('https://storage.googleapis.com/b/k?X-Goog-Signature=1'))).toBe(true);
    expect(carriesOwnCredentials(new URL('https://acct.blob.core.windows.net/c/k?sv=1&sig=2'))).toBe(true);
    expect(carriesOwnCredentials(new URL('https://broker.example.org/api/v1/runs/r/outputs/f'))).toBe(false);
    expect(isPrivateAddress('169.254.169.254')).toBe(true);
    expect(isPrivateAddress('::ffff:10.0.0.1')).toBe(true);
    expect(isPrivateAddress('8.8.8.8')).toBe(false);
    expect(await pointsToPrivateNetwork(new URL('http://localhost:8080/x'))).toBe(true);
    expect(await pointsToPrivateNetwork(new URL('http://[::1]/x'))).toBe(true);
    expect(await pointsToPrivateNetwork(new URL('http://93.184.216.34/x'))).toBe(false);
  });
});
