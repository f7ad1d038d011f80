/**
 * The credential routes over real HTTP on a real PostgreSQL: PUT, GET and DELETE of the caller's
 * own credentials. Every response body of the whole file is searched for every secret sent.
 */
import { randomBytes } from 'node:crypto';
import { getRequestListener } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { SignJWT } from 'jose';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCloudgeneAdapter } from '@ibroker/adapters/cloudgene/index';
import { listen, type RunningServer } from '../auth/test-support';
import { BackendRegistry } from '../backends/registry';
import type { CloudgeneBackendConfig } from '../config';
import { createSecretBox } from '../crypto/box';
import { openDatabase } from '../db/data-source';
import type { ScratchDatabase } from '../db/embedded';
import type { AppEnv } from '../http/context';
import { ApiError, errorBody, errorResponse, unauthorized } from '../http/errors';
import { createLogger } from '../logging';
import { createTestDatabase } from '../testing/db';
import { createVault, type Vault } from '../vault/vault';
import type { CredentialRouteDeps } from '../vault/view';
import { registerCredentialsDelete } from './credentials_delete';
import { registerCredentialsList } from './credentials_list';
import { registerCredentialsPut } from './credentials_put';
import { createApiApp } from './openapi';

const ISSUER = 'https://login.example.org/';
const DAY = 86_400_000;

let db: ScratchDatabase;
let ds: DataSource;
let vault: Vault;
let server: RunningServer;
let noVaultServer: RunningServer;

/** Every secret any test sent, and every body the broker answered with. */
const sent: string[] = [];
const bodies: string[] = [];

/** Stands in for the bearer middleware: `Bearer <subject>` is that user of ISSUER. */
const fakeAuthenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const subject = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '')?.[1];
  if (!subject) throw unauthorized('A bearer token is required');
  c.set('principal', { issuer: ISSUER, subject, scopes: [], claims: { iss: ISSUER, sub: subject } });
  await next();
};

function backendConfig(id: string): CloudgeneBackendConfig {
  return {
    id,
    kind: 'cloudgene',
    name: id.toUpperCase(),
    url: 'http://127.0.0.1:9',
    appId: 'imputationserver2',
    maxConcurrentJobs: 2,
    pollIntervalMs: 10_000,
    maxPollIntervalMs: 300_000,
    retentionDays: 7,
    demo: true,
  };
}

/** The app as app.ts builds it around the broker API: same error handling. */
function buildApp(deps: CredentialRouteDeps): Hono<AppEnv> {
  const api = createApiApp();
  registerCredentialsPut(api, deps);
  registerCredentialsList(api, deps);
  registerCredentialsDelete(api, deps);
  const app = new Hono<AppEnv>();
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    if (err instanceof HTTPException) return c.json(errorBody(err.status, err.message || 'Request refused'), err.status);
    return c.json(errorBody(500, 'Internal error'), 500);
  });
  app.route('/', api);
  return app;
}

beforeAll(async () => {
  db = await createTestDatabase();
  ds = await openDatabase(db.url, { poolSize: 4 });
  vault = createVault(ds, createSecretBox(randomBytes(32)));
  const configs = [backendConfig('mis2'), backendConfig('topmed')];
  const registry = new BackendRegistry(
    ds,
    configs.map((config) => ({ config, adapter: createCloudgeneAdapter({ baseUrl: config.url, token: 'unused', appId: config.appId }) })),
    createLogger('silent'),
  );
  server = await listen(getRequestListener(buildApp({ authenticate: fakeAuthenticate, registry, vault }).fetch));
  noVaultServer = await listen(getRequestListener(buildApp({ authenticate: fakeAuthenticate, registry }).fetch));
});

afterAll(async () => {
  await server?.close();
  await noVaultServer?.close();
  await ds?.destroy();
  await db?.drop();
});

beforeEach(async () => {
  await ds.query('DELETE FROM credentials');
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

async function call(method: string, path: string, options: { user?: string | null; body?: unknown; raw?: string; base?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.user !== null) headers.authorization = `Bearer ${options.user ?? 'alice'}`;
  let body: string | undefined;
  if (options.raw !== undefined || options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = options.raw ?? JSON.stringify(options.body);
  }
  const res = await fetch(`${options.base ?? server.url}${path}`, { method, headers, body });
  const text = await res.text();
  bodies.push(text);
  for (const [k, v] of res.headers) bodies.push(`${k}: ${v}`);
  return { status: res.status, headers: res.headers, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function secret(tag: string): string {
  const s = `tok-${tag}-${randomBytes(18).toString('base64url')}`;
  sent.push(s);
  return s;
}

async function jwtExpiringIn(days: number): Promise<string> {
  const token = await new SignJWT({ token_type: 'API_TOKEN', api: true })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime(Math.floor((Date.now() + days * DAY) / 1000))
    .sign(randomBytes(32));
  sent.push(token);
  return token;
}

describe('PUT /api/v1/credentials/{backend_id}', () => {
  it('stores a new credential (201) and answers with metadata only, not cacheable', async () => {
    const s = secret('put');
    const r = await call('PUT', '/api/v1/credentials/mis2', { body: { kind: 'api_token', secret: s, label: 'my MIS token' } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      backend_id: 'mis2',
      kind: 'api_token',
      label: 'my MIS token',
      expires_at: null,
      expiring_soon: false,
      valid: null,
      verified_at: null,
    });
    expect(r.json.fingerprint).toMatch(/^sha256:[0-9a-f]{8}$/);
    expect(Object.keys(r.json)).not.toContain('secret');
    expect(r.text).not.toContain(s);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect((await vault.resolve({ issuer: ISSUER, subject: 'alice' }, 'mis2', 'user')).secret.reveal()).toBe(s);
  });

  it('replaces the stored one (200), one per user and backend', async () => {
    await call('PUT', '/api/v1/credentials/mis2', { body: { kind: 'api_token', secret: secret('first') } });
    const second = secret('second');
    const r = await call('PUT', '/api/v1/credentials/mis2', { body: { kind: 'api_token', secret: second } });
    expect(r.status).toBe(200);
    expect(r.json.label).toBeNull();
    const list = await call('GET', '/api/v1/credentials');
    expect(list.json.credentials).toHaveLength(1);
    expect((await vault.resolve({ issuer: ISSUER, subject: 'alice' }, 'mis2', 'user')).secret.reveal()).toBe(second);
  });

  it('refuses an unknown backend with 400 naming the configured ones (and not repeating what was given)', async () => {
    const s = secret('unknown');
    const r = await call('PUT', '/api/v1/credentials/no-such-backend', { body: { kind: 'api_token', secret: s } });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ msg: 'unknown backend; this broker has: mis2, topmed', status_code: 400 });
    expect(await vault.list({ issuer: ISSUER, subject: 'alice' })).toEqual([]);
  });

  it('refuses a kind the backend does not take', async () => {
    const r = await call('PUT', '/api/v1/credentials/mis2', { body: { kind: 'oauth_client', secret: secret('client') } });
    expect(r.status).toBe(400);
    expect(r.json.msg).toBe('kind: backend mis2 (cloudgene) takes api_token');
  });

  it.each([
    ['no secret', () => ({ body: { kind: 'api_token' } }), /^secret: give the token or client secret as a string of 1 to 16384 characters$/],
    ['an empty secret', () => ({ body: { kind: 'api_token', secret: '' } }), /^secret: give the token/],
    ['a secret too long', () => ({ body: { kind: 'api_token', secret: secret('long').repeat(1000) } }), /^secret: give the token/],
    ['a secret that is not a string', () => ({ body: { kind: 'api_token', secret: { value: secret('obj') } } }), /^secret: give the token/],
    ['a wrong kind', () => ({ body: { kind: secret('in-kind'), secret: secret('k') } }), /^kind: /],
    ['a label holding the secret', () => {
      const s = secret('label');
      return { body: { kind: 'api_token', secret: s, label: `token ${s}` } };
    }, /^label must not contain the secret$/],
    ['a whitespace-only secret', () => ({ body: { kind: 'api_token', secret: '   \n' } }), /^secret is empty$/],
    ['malformed JSON around the secret', () => ({ raw: `{"kind":"api_token","secret":"${secret('malformed')}"` }), /^Malformed JSON in request body$/],
  ])('refuses %s with a 400 that never repeats the secret', async (_what, make, msg) => {
    const r = await call('PUT', '/api/v1/credentials/mis2', make());
    expect(r.status).toBe(400);
    expect(r.json.status_code).toBe(400);
    expect(r.json.msg).toMatch(msg);
    for (const s of sent) expect(r.text).not.toContain(s);
    expect(await vault.list({ issuer: ISSUER, subject: 'alice' })).toEqual([]);
  });
});

describe('GET /api/v1/credentials', () => {
  it('lists the caller’s credentials with expiry and an expiring_soon flag, never the secrets', async () => {
    const soon = await jwtExpiringIn(3);
    const later = await jwtExpiringIn(25);
    await call('PUT', '/api/v1/credentials/mis2', { body: { kind: 'api_token', secret: soon } });
    await call('PUT', '/api/v1/credentials/topmed', { body: { kind: 'api_token', secret: later, label: 'TOPMed' } });
    const r = await call('GET', '/api/v1/credentials');
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const creds = r.json.credentials as Array<Record<string, unknown>>;
    expect(creds.map((c) => [c.backend_id, c.expiring_soon])).toEqual([
      ['mis2', true],
      ['topmed', false],
    ]);
    const days = (Date.parse(creds[0]!.expires_at as string) - Date.now()) / DAY;
    expect(days).toBeGreaterThan(2.9);
    expect(days).toBeLessThan(3.1);
    expect(r.text).not.toContain(soon);
    expect(r.text).not.toContain(later);
  });

  it('shows another user nothing of yours, and you nothing of theirs or of the service accounts', async () => {
    await call('PUT', '/api/v1/credentials/mis2', { body: { kind: 'api_token', secret: secret('alice') } });
    await vault.put({ owner: null, backendId: 'topmed', kind: 'api_token', secret: secret('service') });
    expect((await call('GET', '/api/v1/credentials', { user: 'bob' })).json).toEqual({ credentials: [] });
    const mine = (await call('GET', '/api/v1/credentials')).json.credentials as unknown[];
    expect(mine).toHaveLength(1);
  });
});

describe('DELETE /api/v1/credentials/{backend_id}', () => {
  it('deletes the caller’s credential (204), then 404', async () => {
    await call('PUT', '/api/v1/credentials/mis2', { body: { kind: 'api_token', secret: secret('del') } });
    const r = await call('DELETE', '/api/v1/credentials/mis2');
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect((await call('GET', '/api/v1/credentials')).json).toEqual({ credentials: [] });
    const again = await call('DELETE', '/api/v1/credentials/mis2');
    expect(again.status).toBe(404);
    expect(again.json.msg).toBe('you have no credential stored for backend mis2');
  });

  it('cannot delete another user’s credential', async () => {
    const s = secret('keep');
    await call('PUT', '/api/v1/credentials/mis2', { body: { kind: 'api_token', secret: s } });
    expect((await call('DELETE', '/api/v1/credentials/mis2', { user: 'bob' })).status).toBe(404);
    expect((await vault.resolve({ issuer: ISSUER, subject: 'alice' }, 'mis2', 'user')).secret.reveal()).toBe(s);
  });

  it('deletes a credential of a backend that is no longer configured', async () => {
    await vault.put({ owner: { issuer: ISSUER, subject: 'alice' }, backendId: 'retired', kind: 'api_token', secret: secret('retired') });
    expect((await call('DELETE', '/api/v1/credentials/retired')).status).toBe(204);
  });
});

describe('security', () => {
  it.each([
    ['PUT', '/api/v1/credentials/mis2'],
    ['GET', '/api/v1/credentials'],
    ['DELETE', '/api/v1/credentials/mis2'],
  ])('%s %s needs a bearer token (401)', async (method, path) => {
    const r = await call(method, path, { user: null, ...(method === 'PUT' ? { body: { kind: 'api_token', secret: secret('anon') } } : {}) });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
    expect(await ds.query('SELECT * FROM credentials')).toEqual([]);
  });

  it('answers 503 when the broker runs without a vault', async () => {
    const r = await call('GET', '/api/v1/credentials', { base: noVaultServer.url });
    expect(r.status).toBe(503);
    expect(r.json.msg).toBe('The credential vault is not enabled on this broker.');
  });

  it('documents the three operations with bearer security', () => {
    const api = createApiApp();
    const deps = { authenticate: fakeAuthenticate, registry: { ids: () => [], get: () => undefined } };
    registerCredentialsPut(api, deps);
    registerCredentialsList(api, deps);
    registerCredentialsDelete(api, deps);
    const doc = api.getOpenAPIDocument({ openapi: '3.0.3', info: { title: 't', version: '0' } }) as unknown as {
      paths: Record<string, Record<string, { security?: unknown; operationId: string }>>;
    };
    expect(Object.keys(doc.paths).sort()).toEqual(['/api/v1/credentials', '/api/v1/credentials/{backend_id}']);
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p));
    expect(ops.map((o) => o.operationId).sort()).toEqual(['DeleteCredential', 'ListCredentials', 'PutCredential']);
    for (const op of ops) expect(op.security).toEqual([{ bearerAuth: [] }]);
  });

  it('never returned any secret sent in this file, in any body or header', () => {
    expect(sent.length).toBeGreaterThan(15);
    expect(bodies.length).toBeGreaterThan(30);
    const all = bodies.join('\n');
    for (const s of sent) {
      expect(all).not.toContain(s);
      expect(all).not.toContain(encodeURIComponent(s));
    }
  });
});
