import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, ownerKey } from '../auth/bearer';
import { clientCredentials, type RunningServer } from '../auth/test-support';
import {
  ACCESS_TOKEN_TYPE,
  createDevOidcProvider,
  fetchDevPassport,
  fetchDevToken,
  PASSPORT_JWT_TYPE,
  PASSPORT_TOKEN_TYPE,
  TOKEN_EXCHANGE_GRANT,
  type DevOidc,
} from './oidc';
import { Browser, authorizeUrl, follow, login, pkcePair, redeemCode, startMounted, userTokens } from './test-support';
import { DEMO_DATASET_URL, REGISTERED_ACCESS_DOI } from './users';
import { VISA_JWT_TYPE } from './visas';

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
    const visaJwks1 = await (await fetch(`${first.server.url}/oidc/visa-jwks`)).json();
    await first.server.close();

    const info = await stat(keysFile);
    expect(info.mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(keysFile, 'utf8')) as { keys: Record<string, unknown>[] };
    expect(stored.keys[0]).toHaveProperty('d');
    // The visa issuer's key: its own file beside it, same rules, never in the OP's JWKS.
    const visaFile = join(dir, 'nested', 'oidc-keys-visa.json');
    expect((await stat(visaFile)).mode & 0o777).toBe(0o600);
    const visaStored = JSON.parse(await readFile(visaFile, 'utf8')) as { keys: Record<string, unknown>[] };
    expect(visaStored.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', d: expect.any(String) });
    expect(stored.keys.every((k) => k.kty === 'RSA')).toBe(true);

    // "Restart": a new provider on a new port with the same file publishes the same keys, and
    // the token minted before verifies against them.
    const second = await startMounted({ keysFile });
    try {
      const jwks2 = await (await fetch(`${second.server.url}/oidc/jwks`)).json();
      expect(jwks2).toEqual(jwks1);
      expect(await (await fetch(`${second.server.url}/oidc/visa-jwks`)).json()).toEqual(visaJwks1);
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

// ---------------------------------------------------------------------------------------------
// The dev Passport broker (AAI 1.2): user tokens, UserInfo visas, token exchange.
// ---------------------------------------------------------------------------------------------

const CALLBACK = 'http://localhost:8080/auth/callback';
const PORTAL_SERVER = { clientId: 'portal-server', secret: 'portal-server-secret' };

interface VisaClaims {
  iss: string;
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  ga4gh_visa_v1: { type: string; asserted: number; value: string; source: string; by: string };
}

/**
 * Verifies visas the way a clearinghouse would: the `jku` must be the one trusted for the visa
 * issuer *before* anything is fetched from it, then signature, `typ`, issuer, subject and times.
 */
async function verifyVisas(oidc: DevOidc, visas: unknown, sub: string): Promise<VisaClaims[]> {
  expect(Array.isArray(visas)).toBe(true);
  const keys = createRemoteJWKSet(new URL(oidc.visaJwksUri));
  const out: VisaClaims[] = [];
  for (const visa of visas as string[]) {
    const header = decodeProtectedHeader(visa);
    expect(header).toMatchObject({ alg: 'ES256', typ: VISA_JWT_TYPE, jku: oidc.visaJwksUri });
    expect(typeof header.kid).toBe('string');
    const { payload } = await jwtVerify(visa, keys, { issuer: oidc.visaIssuer, subject: sub, typ: VISA_JWT_TYPE, algorithms: ['ES256'] });
    const claims = payload as unknown as VisaClaims;
    expect(claims.exp - claims.iat).toBe(3600);
    expect(typeof claims.jti).toBe('string');
    expect(claims.ga4gh_visa_v1.asserted).toBeLessThanOrEqual(claims.iat);
    out.push(claims);
  }
  return out;
}

async function exchange(oidc: DevOidc, form: Record<string, string>, auth: { clientId: string; secret: string } | null = PORTAL_SERVER): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth !== null) headers.authorization = `Basic ${Buffer.from(`${auth.clientId}:${auth.secret}`).toString('base64')}`;
  return fetch(oidc.tokenEndpoint, { method: 'POST', headers, body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, ...form }) });
}

const passportRequest = (subjectToken: string): Record<string, string> => ({
  requested_token_type: PASSPORT_TOKEN_TYPE,
  subject_token_type: ACCESS_TOKEN_TYPE,
  subject_token: subjectToken,
});

async function expectOAuthError(res: Response, status: number, error: string): Promise<void> {
  const body = (await res.json()) as { error?: string; access_token?: string };
  expect({ status: res.status, error: body.error }).toEqual({ status, error });
  expect(body.access_token).toBeUndefined();
}

describe('dev Passport broker: login with authorization code + PKCE', () => {
  let server: RunningServer;
  let oidc: DevOidc;
  let audience: string;

  beforeAll(async () => {
    ({ server, oidc, audience } = await startMounted());
  });
  afterAll(() => server.close());

  it('logs alice in to the public portal client and issues a Passport-Scoped Access Token', async () => {
    const { verifier, challenge } = pkcePair();
    const browser = new Browser();
    const { callback, hops } = await login(browser, oidc, { clientId: 'portal', redirectUri: CALLBACK, challenge, username: 'alice', password: 'alice' });
    // After the credentials: back to the authorization endpoint, the consent interaction
    // (granted without a page for the first-party portal), the authorization endpoint, the client.
    expect(hops.some((p) => p.startsWith('/oidc/interaction/'))).toBe(true);
    expect(callback?.origin + (callback?.pathname ?? '')).toBe(CALLBACK);
    expect(callback?.searchParams.get('state')).toBe('state-123');
    expect(callback?.searchParams.get('iss')).toBe(oidc.issuer);
    const code = callback?.searchParams.get('code');
    expect(code).toBeTruthy();

    const res = await redeemCode(oidc, { clientId: 'portal', code: code!, redirectUri: CALLBACK, verifier });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    const tokens = (await res.json()) as { access_token: string; id_token: string; token_type: string; scope: string };
    expect(tokens.token_type).toBe('Bearer');

    // AAI 1.2 Passport-Scoped Access Token: typ/alg/kid, scope with openid + ga4gh_passport_v1,
    // aud containing the client id, and no GA4GH claims.
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ alg: 'RS256', typ: 'at+jwt', kid: expect.any(String) });
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ iss: oidc.issuer, sub: 'alice', client_id: 'portal', aud: [audience, 'portal'] });
    expect(String(claims.scope).split(' ').sort()).toEqual(['ga4gh_passport_v1', 'openid', 'wes']);
    expect(claims).not.toHaveProperty('ga4gh_passport_v1');
    expect(claims).not.toHaveProperty('ga4gh_visa_v1');
    expect(typeof claims.jti).toBe('string');

    // The broker accepts it as a user's token, with an owner of its own.
    const principal = await createTokenVerifier({ issuers: [{ issuer: oidc.issuer, audience }] }).verify(tokens.access_token);
    expect(principal).toMatchObject({ issuer: oidc.issuer, subject: 'alice', clientId: 'portal' });
    expect(principal.scopes).toContain('wes');

    expect(decodeJwt(tokens.id_token)).toMatchObject({ iss: oidc.issuer, sub: 'alice', aud: 'portal', nonce: 'nonce-123' });
  });

  it('logs in through the confidential portal-server client too', async () => {
    const tokens = await userTokens(oidc, { username: 'admin', password: 'admin', clientId: PORTAL_SERVER.clientId, secret: PORTAL_SERVER.secret });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: 'admin', client_id: 'portal-server', aud: [audience, 'portal-server'] });
  });

  it('requires PKCE, and the right code_verifier', async () => {
    const browser = new Browser();
    const noPkce = await follow(browser, authorizeUrl(oidc, { clientId: PORTAL_SERVER.clientId, redirectUri: CALLBACK }), CALLBACK);
    expect(noPkce).toBeInstanceOf(URL);
    expect((noPkce as URL).searchParams.get('error')).toBe('invalid_request');
    expect((noPkce as URL).searchParams.get('code')).toBeNull();

    const { challenge } = pkcePair();
    const { callback } = await login(new Browser(), oidc, { clientId: 'portal', redirectUri: CALLBACK, challenge, username: 'alice', password: 'alice' });
    const res = await redeemCode(oidc, { clientId: 'portal', code: callback!.searchParams.get('code')!, redirectUri: CALLBACK, verifier: pkcePair().verifier });
    await expectOAuthError(res, 400, 'invalid_grant');
  });

  it('refuses a wrong password: the form again, and no code', async () => {
    const { challenge } = pkcePair();
    const { callback, page } = await login(new Browser(), oidc, { clientId: 'portal', redirectUri: CALLBACK, challenge, username: 'alice', password: 'admin' });
    expect(callback).toBeUndefined();
    expect(page?.status).toBe(403);
    expect(page?.headers.get('location')).toBeNull();
    expect(await page?.text()).toContain('Wrong username or password');
  });

  it('only redirects to registered redirect URIs', async () => {
    const { challenge } = pkcePair();
    const res = await new Browser().get(authorizeUrl(oidc, { clientId: 'portal', redirectUri: 'https://evil.example/cb', challenge }));
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  it('accepts configured redirect URIs', async () => {
    const custom = await startMounted({ portalRedirectUris: ['http://127.0.0.1:3000/cb'] });
    try {
      const tokens = await userTokens(custom.oidc, { username: 'alice', password: 'alice', redirectUri: 'http://127.0.0.1:3000/cb' });
      expect(decodeJwt(tokens.access_token).sub).toBe('alice');
    } finally {
      await custom.server.close();
    }
  });
});

describe('dev Passport broker: UserInfo and visas', () => {
  let server: RunningServer;
  let oidc: DevOidc;
  let aliceToken: string;

  beforeAll(async () => {
    ({ server, oidc } = await startMounted());
    aliceToken = (await userTokens(oidc, { username: 'alice', password: 'alice' })).access_token;
  });
  afterAll(() => server.close());

  const userinfo = (token: string | null): Promise<Response> =>
    fetch(oidc.userinfoEndpoint, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });

  it('is the discovery document\'s userinfo_endpoint', async () => {
    const doc = (await (await fetch(`${server.url}/oidc/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(doc.userinfo_endpoint).toBe(oidc.userinfoEndpoint);
    expect(doc.scopes_supported).toContain('ga4gh_passport_v1');
    expect(doc.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'client_credentials', TOKEN_EXCHANGE_GRANT]));
  });

  it('gives alice her three visas and the link to her login, verifiable against the visa JWKS named by jku', async () => {
    const res = await userinfo(aliceToken);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toContain('no-store');
    const body = (await res.json()) as { sub: string; ga4gh_passport_v1: string[] };
    expect(body.sub).toBe('alice');
    const visas = await verifyVisas(oidc, body.ga4gh_passport_v1, 'alice');
    expect(visas.map((v) => v.ga4gh_visa_v1)).toEqual([
      { type: 'LinkedIdentities', asserted: expect.any(Number), value: `alice,${encodeURIComponent(oidc.issuer)}`, source: oidc.visaSources.broker, by: 'system' },
      { type: 'ResearcherStatus', asserted: expect.any(Number), value: REGISTERED_ACCESS_DOI, source: `${oidc.issuer}/sources/demo-so`, by: 'so' },
      { type: 'AcceptedTermsAndPolicies', asserted: expect.any(Number), value: `${server.url}/terms/v1`, source: oidc.visaSources.broker, by: 'self' },
      { type: 'ControlledAccessGrants', asserted: expect.any(Number), value: DEMO_DATASET_URL, source: `${oidc.issuer}/sources/demo-dac`, by: 'dac' },
    ]);
    expect(new Set(visas.map((v) => v.jti)).size).toBe(4);
  });

  it('gives admin the admin affiliation and researcher status', async () => {
    const { access_token: token } = await userTokens(oidc, { username: 'admin', password: 'admin' });
    const body = (await (await userinfo(token)).json()) as { sub: string; ga4gh_passport_v1: string[] };
    const visas = await verifyVisas(oidc, body.ga4gh_passport_v1, 'admin');
    expect(visas.map((v) => [v.ga4gh_visa_v1.type, v.ga4gh_visa_v1.value, v.ga4gh_visa_v1.by])).toEqual([
      ['LinkedIdentities', `admin,${encodeURIComponent(oidc.issuer)}`, 'system'],
      ['AffiliationAndRole', 'admin@imputation-broker.local', 'system'],
      ['ResearcherStatus', REGISTERED_ACCESS_DOI, 'so'],
    ]);
  });

  it('publishes the visa key apart from the OP keys, public only', async () => {
    const visaKeys = (await (await fetch(oidc.visaJwksUri)).json()) as { keys: JWK[] };
    const opKeys = (await (await fetch(oidc.jwksUri)).json()) as { keys: JWK[] };
    expect(visaKeys.keys.length).toBeGreaterThan(0);
    for (const key of visaKeys.keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: expect.any(String) });
      expect(key).not.toHaveProperty('d');
      expect(opKeys.keys.map((k) => k.kid)).not.toContain(key.kid);
    }
    expect(oidc.visaIssuer).not.toBe(oidc.issuer);
  });

  it('leaves visas out for a token without the ga4gh_passport_v1 scope', async () => {
    const { access_token: token } = await userTokens(oidc, { username: 'alice', password: 'alice', scope: 'openid wes' });
    expect(String(decodeJwt(token).scope).split(' ')).not.toContain('ga4gh_passport_v1');
    const res = await userinfo(token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: 'alice' });
  });

  it('refuses a missing, forged or client-credentials token', async () => {
    const none = await userinfo(null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);

    const [h, p] = aliceToken.split('.');
    const forged = await userinfo(`${h}.${p}.${'A'.repeat(342)}`);
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toContain('error="invalid_token"');

    const cc = await userinfo(await fetchDevToken(oidc.tokenEndpoint));
    expect(cc.status).toBe(401);
    expect(await cc.text()).not.toContain('ga4gh_passport_v1');
  });
});

describe('dev Passport broker: token exchange for a Passport', () => {
  let server: RunningServer;
  let oidc: DevOidc;
  let audience: string;
  let aliceToken: string;

  beforeAll(async () => {
    ({ server, oidc, audience } = await startMounted());
    aliceToken = (await userTokens(oidc, { username: 'alice', password: 'alice' })).access_token;
  });
  afterAll(() => server.close());

  it('exchanges alice\'s access token for a Passport signed by the OP key', async () => {
    const res = await exchange(oidc, passportRequest(aliceToken));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    const body = (await res.json()) as { access_token: string; issued_token_type: string; token_type: string };
    expect(body).toMatchObject({ issued_token_type: PASSPORT_TOKEN_TYPE, token_type: 'Bearer' });

    const passport = body.access_token;
    expect(decodeProtectedHeader(passport)).toMatchObject({ alg: 'RS256', typ: PASSPORT_JWT_TYPE, kid: expect.any(String) });
    const { payload } = await jwtVerify(passport, createRemoteJWKSet(new URL(oidc.jwksUri)), {
      issuer: oidc.issuer,
      subject: 'alice',
      typ: PASSPORT_JWT_TYPE,
      algorithms: ['RS256'],
    });
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(3600);
    const visas = await verifyVisas(oidc, payload.ga4gh_passport_v1, 'alice');
    expect(visas.map((v) => v.ga4gh_visa_v1.type)).toEqual(['LinkedIdentities', 'ResearcherStatus', 'AcceptedTermsAndPolicies', 'ControlledAccessGrants']);

    // A Passport is not an access token: the broker refuses it as a bearer token.
    await expect(createTokenVerifier({ issuers: [{ issuer: oidc.issuer, audience }] }).verify(passport)).rejects.toThrow();
  });

  it('lets demo-cli exchange too (fetchDevPassport)', async () => {
    const passport = await fetchDevPassport(oidc.tokenEndpoint, aliceToken);
    expect(decodeJwt(passport)).toMatchObject({ iss: oidc.issuer, sub: 'alice' });
  });

  it('refuses a wrong or missing requested_token_type', async () => {
    await expectOAuthError(await exchange(oidc, { ...passportRequest(aliceToken), requested_token_type: ACCESS_TOKEN_TYPE }), 400, 'invalid_request');
    const { requested_token_type: _omit, ...missing } = passportRequest(aliceToken);
    await expectOAuthError(await exchange(oidc, missing), 400, 'invalid_request');
  });

  it('refuses a wrong subject_token_type', async () => {
    const form = { ...passportRequest(aliceToken), subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' };
    await expectOAuthError(await exchange(oidc, form), 400, 'invalid_request');
  });

  it('refuses a missing, malformed or forged subject token', async () => {
    const { subject_token: _omit, ...missing } = passportRequest(aliceToken);
    await expectOAuthError(await exchange(oidc, missing), 400, 'invalid_request');
    await expectOAuthError(await exchange(oidc, passportRequest('not-a-jwt')), 400, 'invalid_request');

    // Same claims and header, signed with a key that is not the provider's.
    const { kid } = decodeProtectedHeader(aliceToken);
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT(decodeJwt(aliceToken)).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: kid! }).sign(privateKey);
    await expectOAuthError(await exchange(oidc, passportRequest(forged)), 400, 'invalid_request');
  });

  it('refuses a subject token from another provider', async () => {
    const other = await startMounted();
    try {
      const foreign = (await userTokens(other.oidc, { username: 'alice', password: 'alice' })).access_token;
      await expectOAuthError(await exchange(oidc, passportRequest(foreign)), 400, 'invalid_request');
    } finally {
      await other.server.close();
    }
  });

  it('refuses a client-credentials token and a token without the passport scope', async () => {
    const cc = await fetchDevToken(oidc.tokenEndpoint);
    await expectOAuthError(await exchange(oidc, passportRequest(cc)), 400, 'invalid_request');
    const { access_token: noPassport } = await userTokens(oidc, { username: 'alice', password: 'alice', scope: 'openid wes' });
    await expectOAuthError(await exchange(oidc, passportRequest(noPassport)), 400, 'invalid_request');
  });

  it('refuses an unauthenticated client, and clients not allowed to exchange', async () => {
    await expectOAuthError(await exchange(oidc, passportRequest(aliceToken), { clientId: 'portal-server', secret: 'wrong' }), 401, 'invalid_client');
    // A confidential client id without its secret: invalid_client. The public portal may not
    // exchange at all (no client authentication to speak of): invalid_request.
    await expectOAuthError(await exchange(oidc, { ...passportRequest(aliceToken), client_id: 'portal-server' }, null), 401, 'invalid_client');
    await expectOAuthError(await exchange(oidc, { ...passportRequest(aliceToken), client_id: 'portal' }, null), 400, 'invalid_request');
    // No client at all: oidc-provider answers invalid_request ("no client authentication mechanism provided").
    await expectOAuthError(await exchange(oidc, passportRequest(aliceToken), null), 400, 'invalid_request');
    await expectOAuthError(await exchange(oidc, passportRequest(aliceToken), { clientId: 'demo-cli-2', secret: 'demo-cli-2-secret' }), 400, 'invalid_request');
  });

  it('never echoes the subject token in an error', async () => {
    const res = await exchange(oidc, { ...passportRequest(aliceToken), subject_token_type: 'x' });
    expect(await res.text()).not.toContain(aliceToken.split('.')[2]);
  });
});

describe('dev provider client-credentials tokens beside the Passport broker', () => {
  let server: RunningServer;
  let oidc: DevOidc;
  let audience: string;

  beforeAll(async () => {
    ({ server, oidc, audience } = await startMounted());
  });
  afterAll(() => server.close());

  it('are unchanged: client subject, single audience, no passport claims or scopes', async () => {
    const token = await fetchDevToken(oidc.tokenEndpoint);
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: oidc.issuer, sub: 'demo-cli', client_id: 'demo-cli', aud: audience, scope: 'wes' });
    expect(claims).not.toHaveProperty('ga4gh_passport_v1');
    expect(claims).not.toHaveProperty('ga4gh_visa_v1');
    const principal = await createTokenVerifier({ issuers: [{ issuer: oidc.issuer, audience }] }).verify(token);
    expect(principal).toMatchObject({ subject: 'demo-cli', clientId: 'demo-cli', scopes: ['wes'] });
  });

  it('cannot ask for the passport scopes', async () => {
    const res = await clientCredentials(oidc.tokenEndpoint, 'demo-cli', 'demo-cli-secret', { scope: 'openid ga4gh_passport_v1 wes' });
    expect(res.status).toBe(200);
    const { access_token: token } = (await res.json()) as { access_token: string };
    expect(decodeJwt(token).scope).toBe('wes');
  });
});
