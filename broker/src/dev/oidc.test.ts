import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, ownerKey } from '../auth/bearer';
import { clientCredentials, listen, type RunningServer } from '../auth/test-support';
import { createDevOidcProvider, type DevOidc } from './oidc';

/**
 * The provider mounted the way the broker mounts it: one node server, `/oidc/*` to the provider,
 * everything else to "the app" (here a stub that answers 418 so a mis-route is visible).
 */
async function startMounted(options: { keysFile?: string } = {}): Promise<{ server: RunningServer; oidc: DevOidc; audience: string }> {
  let oidc: DevOidc | undefined;
  const listener: RequestListener = (req, res) => {
    if (oidc?.matches(req.url ?? '/')) oidc.handler(req, res);
    else res.writeHead(418).end('app');
  };
  const server = await listen(listener);
  const audience = `${server.url}/ga4gh/wes/v1`;
  oidc = await createDevOidcProvider({ issuer: `${server.url}/oidc`, audience, ...options });
  return { server, oidc, audience };
}

async function accessToken(oidc: DevOidc, clientId: string, secret: string): Promise<string> {
  const res = await clientCredentials(oidc.tokenEndpoint, clientId, secret);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
  expect(body.token_type).toBe('Bearer');
  expect(body.expires_in).toBeGreaterThan(0);
  return body.access_token;
}

describe('dev OIDC provider mounted under /oidc', () => {
  let server: RunningServer;
  let oidc: DevOidc;
  let audience: string;

  beforeAll(async () => {
    ({ server, oidc, audience } = await startMounted());
  });
  afterAll(() => server.close());

  it('serves discovery with absolute URLs under the mount path', async () => {
    const res = await fetch(`${server.url}/oidc/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(`${server.url}/oidc`);
    expect(doc.token_endpoint).toBe(`${server.url}/oidc/token`);
    expect(doc.jwks_uri).toBe(`${server.url}/oidc/jwks`);
    expect(doc.grant_types_supported).toContain('client_credentials');
  });

  it('leaves other paths to the app, including look-alike prefixes', async () => {
    expect((await fetch(`${server.url}/ga4gh/wes/v1/service-info`)).status).toBe(418);
    expect((await fetch(`${server.url}/oidcx/jwks`)).status).toBe(418);
  });

  it('publishes only public keys', async () => {
    const { keys } = (await (await fetch(`${server.url}/oidc/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).not.toHaveProperty('d');
  });

  it('issues RS256 JWT access tokens for the broker audience, one identity per client', async () => {
    const t1 = await accessToken(oidc, 'demo-cli', 'demo-cli-secret');
    const t2 = await accessToken(oidc, 'demo-cli-2', 'demo-cli-2-secret');
    expect(decodeProtectedHeader(t1)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    expect(decodeJwt(t1)).toMatchObject({ iss: oidc.issuer, aud: audience, client_id: 'demo-cli' });

    const verifier = createTokenVerifier({ issuers: [{ issuer: oidc.issuer, audience }] });
    const p1 = await verifier.verify(t1);
    const p2 = await verifier.verify(t2);
    expect(p1).toMatchObject({ issuer: oidc.issuer, subject: 'demo-cli', clientId: 'demo-cli' });
    expect(p2).toMatchObject({ issuer: oidc.issuer, subject: 'demo-cli-2', clientId: 'demo-cli-2' });
    expect(ownerKey(p1)).not.toBe(ownerKey(p2));
  });

  it('grants requested scopes from its list only', async () => {
    const res = await clientCredentials(oidc.tokenEndpoint, 'demo-cli', 'demo-cli-secret', { scope: 'wes' });
    expect(res.status).toBe(200);
    const { access_token: token } = (await res.json()) as { access_token: string };
    const verifier = createTokenVerifier({ issuers: [{ issuer: oidc.issuer, audience }] });
    expect((await verifier.verify(token)).scopes).toEqual(['wes']);
  });

  it('refuses a wrong client secret', async () => {
    const res = await clientCredentials(oidc.tokenEndpoint, 'demo-cli', 'demo-cli-2-secret');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('refuses tokens for any other resource', async () => {
    const res = await clientCredentials(oidc.tokenEndpoint, 'demo-cli', 'demo-cli-secret', { resource: 'https://elsewhere.example/api' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_target');
  });
});

describe('dev OIDC provider keysFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oidc-keys-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('creates the key file 0600 and reuses it, so tokens survive a restart', async () => {
    const keysFile = join(dir, 'nested', 'oidc-keys.json');
    const first = await startMounted({ keysFile });
    const token = await accessToken(first.oidc, 'demo-cli', 'demo-cli-secret');
    const jwks1 = await (await fetch(`${first.server.url}/oidc/jwks`)).json();
    await first.server.close();

    const info = await stat(keysFile);
    expect(info.mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(keysFile, 'utf8')) as { keys: Record<string, unknown>[] };
    expect(stored.keys[0]).toHaveProperty('d');

    // "Restart": a new provider on a new port with the same file publishes the same keys, and
    // the token minted before verifies against them.
    const second = await startMounted({ keysFile });
    try {
      const jwks2 = await (await fetch(`${second.server.url}/oidc/jwks`)).json();
      expect(jwks2).toEqual(jwks1);
      const verifier = createTokenVerifier({
        issuers: [{ issuer: first.oidc.issuer, jwksUri: `${second.server.url}/oidc/jwks`, audience: first.audience }],
      });
      expect((await verifier.verify(token)).subject).toBe('demo-cli');
    } finally {
      await second.server.close();
    }
  });

  it('refuses a key file without private keys', async () => {
    const keysFile = join(dir, 'public-only.json');
    await writeFile(keysFile, JSON.stringify({ keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] }));
    await expect(createDevOidcProvider({ issuer: 'http://127.0.0.1:1/oidc', audience: 'http://127.0.0.1:1/x', keysFile })).rejects.toThrow(/private signing keys/);
  });

  it('refuses a plain-http issuer off loopback', async () => {
    await expect(createDevOidcProvider({ issuer: 'http://idp.example.org/oidc', audience: 'x:y' })).rejects.toThrow(/non-loopback/);
  });
});
