/**
 * Bearer authentication against real things: the dev OIDC provider mounted under /oidc on the
 * same node server as a Hono app (as the broker runs), a second real provider that is not
 * trusted, and small issuers whose keys the test controls. Every refusal is checked for status,
 * WES error body, challenge, reason code, and that the token is echoed nowhere.
 */
import type { RequestListener } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { base64url, decodeJwt, exportSPKI, importJWK, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, errorBody, errorResponse } from '../http/errors';
import { createDevOidcProvider, type DevOidc } from '../dev/oidc';
import { bearerAuth, createTokenVerifier, ownerKey, type AuthEnv, type AuthErrorReason, type TokenVerifier } from './bearer';
import { AuthError } from './errors';
import { clientCredentials, hitsOf, listen, newKey, startTestIssuer, type RunningServer, type TestIssuer } from './test-support';

const AUD = 'https://broker.test/ga4gh/wes/v1';
/** Like the broker's AppEnv: more Variables than the middleware sets (checks the generic typing). */
type TestEnv = AuthEnv & { Variables: { requestId: string } };
const now = () => Math.floor(Date.now() / 1000);
const countOf = (hits: Map<string, number>, path: string): number => hits.get(path) ?? 0;

interface Refusal {
  status: number;
  body: string;
  headers: Headers;
}

describe('bearerAuth over real HTTP', () => {
  let server: RunningServer;
  let oidc: DevOidc;
  let wesAudience: string;
  let local: TestIssuer;
  let flaky: TestIssuer;
  let untrusted: { server: RunningServer; oidc: DevOidc; hits: Map<string, number> };
  let deadIssuer: string;
  let hangingIssuer: RunningServer;
  const devHits = new Map<string, number>();
  const reasons: AuthErrorReason[] = [];

  async function token(provider: DevOidc, clientId: string, secret: string): Promise<string> {
    const res = await clientCredentials(provider.tokenEndpoint, clientId, secret);
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  const call = (authorization?: string): Promise<Response> =>
    fetch(`${server.url}/ga4gh/wes/v1/whoami`, { headers: authorization === undefined ? {} : { authorization } });

  /** Status, WES body, reason, and the token nowhere in what comes back. */
  async function expectRefused(res: Response, status: number, reason: AuthErrorReason, secret?: string): Promise<Refusal> {
    const body = await res.text();
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const json = JSON.parse(body) as { msg: unknown; status_code: unknown };
    expect(Object.keys(json).sort()).toEqual(['msg', 'status_code']);
    expect(json.status_code).toBe(status);
    expect(typeof json.msg).toBe('string');
    expect(reasons.at(-1)).toBe(reason);
    if (secret !== undefined) {
      expect(body).not.toContain(secret);
      // Each part of the JWT too: a message quoting just the payload would still leak it.
      for (const part of secret.split('.').filter((p) => p.length > 8)) expect(body).not.toContain(part);
      for (const [, value] of res.headers) expect(value).not.toContain(secret);
    }
    return { status: res.status, body, headers: res.headers };
  }

  const expectInvalidToken = (r: Refusal) => {
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="ga4gh", error="invalid_token", error_description="[^"\\]+"$/);
  };

  beforeAll(async () => {
    local = await startTestIssuer();
    flaky = await startTestIssuer();

    const dead = await listen((_req, res) => res.end());
    deadIssuer = dead.url;
    await dead.close();
    // Accepts connections and never answers: the fetch timeout is what saves us.
    hangingIssuer = await listen(() => undefined);

    // A second, genuine provider that simply is not on our list.
    const untrustedHits = new Map<string, number>();
    let other: DevOidc | undefined;
    const otherServer = await listen((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      untrustedHits.set(path, (untrustedHits.get(path) ?? 0) + 1);
      other?.handler(req, res);
    });
    other = await createDevOidcProvider({ issuer: `${otherServer.url}/oidc`, audience: AUD });
    untrusted = { server: otherServer, oidc: other, hits: untrustedHits };

    // One node server: /oidc/* to the dev provider, the rest to Hono. maxHeaderSize is raised so
    // that the middleware's own cap is what refuses a huge header (a default server answers 431
    // before Hono runs; tested separately below).
    let verifier: TokenVerifier | undefined;
    const app = new Hono<TestEnv>();
    app.onError((err, c) => (err instanceof ApiError ? errorResponse(c, err) : c.json(errorBody(500, 'internal error'), 500)));
    app.use('/ga4gh/wes/v1/*', async (c, next) => {
      if (verifier === undefined) throw new Error('verifier not ready');
      return bearerAuth<TestEnv>(verifier, { onRefused: (err) => reasons.push(err.reason) })(c, next);
    });
    app.get('/ga4gh/wes/v1/whoami', (c) => {
      const p = c.get('principal');
      return c.json({ issuer: p.issuer, subject: p.subject, clientId: p.clientId, scopes: p.scopes, owner: ownerKey(p) });
    });
    const hono = getRequestListener(app.fetch);
    const listener: RequestListener = (req, res) => {
      if (oidc?.matches(req.url ?? '/')) {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        devHits.set(path, (devHits.get(path) ?? 0) + 1);
        oidc.handler(req, res);
      } else {
        void hono(req, res);
      }
    };
    server = await listen(listener, { maxHeaderSize: 256 * 1024 });
    wesAudience = `${server.url}/ga4gh/wes/v1`;
    oidc = await createDevOidcProvider({ issuer: `${server.url}/oidc`, audience: wesAudience });

    verifier = createTokenVerifier({
      issuers: [
        { issuer: oidc.issuer, audience: wesAudience },
        { issuer: local.issuer, audience: AUD },
        { issuer: flaky.issuer, audience: AUD },
        { issuer: deadIssuer, audience: AUD },
        { issuer: `${deadIssuer}/with-jwks-uri`, jwksUri: `${deadIssuer}/jwks`, audience: AUD },
        { issuer: hangingIssuer.url, audience: AUD },
      ],
      // Rotation must be picked up at once in these tests; the cooldown has its own test below.
      jwksCooldownMs: 0,
      fetchTimeoutMs: 500,
    });
  });

  afterAll(async () => {
    await Promise.all([server.close(), local.close(), flaky.close(), untrusted.server.close(), hangingIssuer.close()]);
  });

  beforeEach(() => {
    reasons.length = 0;
  });

  describe('accepts', () => {
    it('client_credentials tokens of both demo clients, as two different owners', async () => {
      const r1 = await call(`Bearer ${await token(oidc, 'demo-cli', 'demo-cli-secret')}`);
      const r2 = await call(`bearer ${await token(oidc, 'demo-cli-2', 'demo-cli-2-secret')}`); // scheme is case-insensitive
      expect(r1.status).toBe(200);
      expect(r2.status).toBe(200);
      const p1 = (await r1.json()) as { issuer: string; subject: string; clientId: string; owner: string };
      const p2 = (await r2.json()) as { issuer: string; subject: string; clientId: string; owner: string };
      expect(p1).toMatchObject({ issuer: oidc.issuer, subject: 'demo-cli', clientId: 'demo-cli' });
      expect(p2).toMatchObject({ issuer: oidc.issuer, subject: 'demo-cli-2', clientId: 'demo-cli-2' });
      expect(p1.owner).not.toBe(p2.owner);
    });

    it('a token that expired within the clock tolerance', async () => {
      const res = await call(`Bearer ${await local.sign({ aud: AUD, iat: now() - 300, exp: now() - 10 })}`);
      expect(res.status).toBe(200);
    });
  });

  describe('refuses without credentials', () => {
    it('no Authorization header: 401, bare challenge (RFC 6750 3.1), WES body', async () => {
      const r = await expectRefused(await call(), 401, 'missing');
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="ga4gh"');
    });

    it('another scheme (Basic)', async () => {
      const r = await expectRefused(await call('Basic ZGVtby1jbGk6ZGVtby1jbGktc2VjcmV0'), 401, 'missing');
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="ga4gh"');
    });

    it('a Bearer header that is not RFC 6750 syntax: invalid_request', async () => {
      const r = await expectRefused(await call('Bearer abc def'), 401, 'malformed', 'abc def');
      expect(r.headers.get('www-authenticate')).toMatch(/error="invalid_request"/);
    });
  });

  describe('refuses bad tokens', () => {
    it('garbage', async () => {
      for (const garbage of ['not-a-jwt', 'a.b.c', `${base64url.encode('{"alg":"RS256"}')}.bm90IGpzb24.c2ln`]) {
        expectInvalidToken(await expectRefused(await call(`Bearer ${garbage}`), 401, 'malformed', garbage));
      }
    });

    it('alg "none", without fetching any key', async () => {
      const before = countOf(devHits, '/oidc/jwks');
      const forged = new UnsecuredJWT({ sub: 'admin', client_id: 'demo-cli', aud: wesAudience })
        .setIssuer(oidc.issuer)
        .setIssuedAt()
        .setExpirationTime('5m')
        .encode();
      expectInvalidToken(await expectRefused(await call(`Bearer ${forged}`), 401, 'unsupported_alg', forged));
      expect(countOf(devHits, '/oidc/jwks')).toBe(before);
    });

    it('HS256 keyed with the provider\'s public key (key confusion)', async () => {
      const { keys } = (await (await fetch(`${oidc.issuer}/jwks`)).json()) as { keys: JWK[] };
      const rsa = keys[0];
      if (rsa === undefined) throw new Error('provider publishes no key');
      const pem = await exportSPKI((await importJWK(rsa, 'RS256', { extractable: true })) as CryptoKey);
      for (const secret of [new TextEncoder().encode(pem), new TextEncoder().encode(JSON.stringify(rsa))]) {
        const forged = await new SignJWT({ sub: 'admin', client_id: 'demo-cli' })
          .setProtectedHeader({ alg: 'HS256', kid: rsa.kid, typ: 'at+jwt' })
          .setIssuer(oidc.issuer)
          .setAudience(wesAudience)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(secret);
        expectInvalidToken(await expectRefused(await call(`Bearer ${forged}`), 401, 'unsupported_alg', forged));
      }
    });

    it('a genuine token from an untrusted provider, whose keys are never fetched', async () => {
      const foreign = await token(untrusted.oidc, 'demo-cli', 'demo-cli-secret');
      const r = await expectRefused(await call(`Bearer ${foreign}`), 401, 'untrusted_issuer', foreign);
      expectInvalidToken(r);
      expect(JSON.parse(r.body).msg).toContain(oidc.issuer); // tells the caller where to get a token
      expect(untrusted.hits.get('/oidc/.well-known/openid-configuration') ?? 0).toBe(0);
      expect(untrusted.hits.get('/oidc/jwks') ?? 0).toBe(0);
    });

    it('a token that embeds its own key (jwk header) is still checked against the issuer\'s keys', async () => {
      const attacker = await newKey();
      const forged = await local.sign({ aud: AUD, sub: 'admin' }, attacker, { jwk: attacker.publicJwk });
      expectInvalidToken(await expectRefused(await call(`Bearer ${forged}`), 401, 'bad_signature', forged));
    });

    it('a tampered payload (signature no longer matches)', async () => {
      const genuine = await token(oidc, 'demo-cli', 'demo-cli-secret');
      const [h, , s] = genuine.split('.');
      const claims = { ...decodeJwt(genuine), sub: 'demo-cli-2' };
      const tampered = `${h}.${base64url.encode(JSON.stringify(claims))}.${s}`;
      expectInvalidToken(await expectRefused(await call(`Bearer ${tampered}`), 401, 'bad_signature', tampered));
    });

    it('wrong or missing audience', async () => {
      const wrong = await local.sign({ aud: 'https://other-service.example/api' });
      expectInvalidToken(await expectRefused(await call(`Bearer ${wrong}`), 401, 'wrong_audience', wrong));
      const none = await local.sign({});
      expectInvalidToken(await expectRefused(await call(`Bearer ${none}`), 401, 'wrong_audience', none));
    });

    it('expired', async () => {
      const expired = await local.sign({ aud: AUD, iat: now() - 3600, exp: now() - 120 });
      const r = await expectRefused(await call(`Bearer ${expired}`), 401, 'expired', expired);
      expectInvalidToken(r);
      expect(JSON.parse(r.body).msg).toMatch(/expired/);
    });

    it('not yet valid (nbf or iat in the future)', async () => {
      const nbf = await local.sign({ aud: AUD, nbf: now() + 600 });
      expectInvalidToken(await expectRefused(await call(`Bearer ${nbf}`), 401, 'not_yet_valid', nbf));
      const iat = await local.sign({ aud: AUD, iat: now() + 600, exp: now() + 900 });
      expectInvalidToken(await expectRefused(await call(`Bearer ${iat}`), 401, 'not_yet_valid', iat));
    });

    it('no exp (would never expire)', async () => {
      const forever = await local.sign({ aud: AUD, exp: undefined });
      expectInvalidToken(await expectRefused(await call(`Bearer ${forever}`), 401, 'malformed', forever));
    });

    it('a GA4GH Passport presented as an access token', async () => {
      const passport = await local.sign({ aud: AUD, ga4gh_passport_v1: [] }, undefined, { typ: 'vnd.ga4gh.passport+jwt' });
      expectInvalidToken(await expectRefused(await call(`Bearer ${passport}`), 401, 'wrong_token_type', passport));
    });

    it('a 64 KB Authorization header, cleanly', async () => {
      const huge = `${'a'.repeat(32 * 1024)}.${'b'.repeat(32 * 1024)}`;
      const r = await expectRefused(await call(`Bearer ${huge}`), 401, 'malformed', huge);
      expect(r.headers.get('www-authenticate')).toMatch(/error="invalid_request"/);
      expect(r.body.length).toBeLessThan(1024);
    });

    it('a 64 KB header on a server with Node\'s default header limit: 431, no 5xx', async () => {
      const plain = await listen((_req, res) => res.writeHead(200).end('reached the app'));
      try {
        const res = await fetch(plain.url, { headers: { authorization: `Bearer ${'a'.repeat(64 * 1024)}` } });
        expect(res.status).toBe(431);
      } catch (err) {
        // Node may also just close the connection on an oversized header; either way nothing ran.
        expect(err).toBeInstanceOf(TypeError);
      } finally {
        await plain.close();
      }
    });
  });

  describe('key rotation', () => {
    it('an unknown kid after rotation triggers one JWKS refetch and succeeds', async () => {
      const before = hitsOf(local, '/jwks');
      expect((await call(`Bearer ${await local.sign({ aud: AUD })}`)).status).toBe(200);
      const cached = hitsOf(local, '/jwks');
      expect(cached).toBeLessThanOrEqual(before + 1);

      const rotated = await newKey('RS256');
      local.published = [rotated];
      const res = await call(`Bearer ${await local.sign({ aud: AUD, sub: 'bob' }, rotated)}`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { subject: string }).subject).toBe('bob');
      expect(hitsOf(local, '/jwks')).toBe(cached + 1);

      // The retired key is gone from the JWKS: its tokens no longer verify.
      const stale = await local.sign({ aud: AUD }); // signed with the issuer's original key
      expectInvalidToken(await expectRefused(await call(`Bearer ${stale}`), 401, 'bad_signature', stale));
    });
  });

  describe('when the issuer cannot be reached: 503 + Retry-After, WES body, never 500', () => {
    it('discovery endpoint down', async () => {
      const t = await signFor(deadIssuer);
      const r = await expectRefused(await call(`Bearer ${t}`), 503, 'jwks_unavailable', t);
      expect(r.headers.get('retry-after')).toBe('30');
      expect(r.headers.get('www-authenticate')).toBeNull();
      expect(JSON.parse(r.body).msg).toMatch(/not a problem with your token/);
    });

    it('configured jwksUri down', async () => {
      const t = await signFor(`${deadIssuer}/with-jwks-uri`);
      await expectRefused(await call(`Bearer ${t}`), 503, 'jwks_unavailable', t);
    });

    it('issuer that never answers (fetch timeout)', async () => {
      const t = await signFor(hangingIssuer.url);
      await expectRefused(await call(`Bearer ${t}`), 503, 'jwks_unavailable', t);
    });

    it('JWKS answering 500 or non-JSON, then recovering', async () => {
      const t = await flaky.sign({ aud: AUD });
      flaky.jwksMode = 'error';
      await expectRefused(await call(`Bearer ${t}`), 503, 'jwks_unavailable', t);
      flaky.jwksMode = 'garbage';
      await expectRefused(await call(`Bearer ${t}`), 503, 'jwks_unavailable', t);
      flaky.jwksMode = 'ok';
      expect((await call(`Bearer ${t}`)).status).toBe(200);
    });
  });

  /** A token claiming `issuer`, signed by a key nobody publishes (it is never checked anyway). */
  async function signFor(issuer: string): Promise<string> {
    const key = await newKey();
    return new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid })
      .setIssuer(issuer)
      .setAudience(AUD)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key.privateKey);
  }
});

describe('createTokenVerifier', () => {
  let issuer: TestIssuer;
  beforeAll(async () => {
    issuer = await startTestIssuer();
  });
  afterAll(() => issuer.close());

  it('refetches at most once per cooldown, so random kids cannot flood the IdP', async () => {
    const verifier = createTokenVerifier({ issuers: [{ issuer: issuer.issuer, audience: AUD }] });
    await verifier.verify(await issuer.sign({ aud: AUD }));
    const after = hitsOf(issuer, '/jwks');
    for (let i = 0; i < 5; i++) {
      const stranger = await newKey();
      await expect(verifier.verify(await issuer.sign({ aud: AUD }, stranger))).rejects.toMatchObject({ reason: 'bad_signature' });
    }
    expect(hitsOf(issuer, '/jwks')).toBe(after);
    expect(hitsOf(issuer, '/.well-known/openid-configuration')).toBe(1);
  });

  it('falls back to client_id when a client_credentials token has no sub, and refuses tokens naming neither', async () => {
    const verifier = createTokenVerifier({ issuers: [{ issuer: issuer.issuer }] });
    const p = await verifier.verify(await issuer.sign({ sub: undefined, client_id: 'robot', scope: 'wes drs wes' }));
    expect(p).toMatchObject({ subject: 'robot', clientId: 'robot', scopes: ['wes', 'drs'] });
    await expect(verifier.verify(await issuer.sign({ sub: undefined }))).rejects.toMatchObject({ reason: 'malformed' });
  });

  it('reads scp arrays and azp', async () => {
    const verifier = createTokenVerifier({ issuers: [{ issuer: issuer.issuer }] });
    const p = await verifier.verify(await issuer.sign({ scp: ['a', 'b'], azp: 'portal' }));
    expect(p).toMatchObject({ subject: 'alice', clientId: 'portal', scopes: ['a', 'b'] });
  });

  it('throws AuthError for an empty or oversized token without parsing it', async () => {
    const verifier = createTokenVerifier({ issuers: [{ issuer: issuer.issuer }] });
    await expect(verifier.verify('')).rejects.toBeInstanceOf(AuthError);
    await expect(verifier.verify('')).rejects.toMatchObject({ reason: 'missing' });
    await expect(verifier.verify('x'.repeat(17 * 1024))).rejects.toMatchObject({ reason: 'malformed' });
  });

  it('refuses a discovery document that names another issuer', async () => {
    const liar = await listen((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: 'https://someone-else.example', jwks_uri: `${issuer.issuer}/jwks` })),
    );
    try {
      const verifier = createTokenVerifier({ issuers: [{ issuer: liar.url }] });
      const key = await newKey();
      const t = await new SignJWT({ sub: 'a' }).setProtectedHeader({ alg: 'ES256', kid: key.kid }).setIssuer(liar.url).setExpirationTime('5m').sign(key.privateKey);
      await expect(verifier.verify(t)).rejects.toMatchObject({ reason: 'jwks_unavailable' });
    } finally {
      await liar.close();
    }
  });

  it('rejects bad configuration at start-up', () => {
    expect(() => createTokenVerifier({ issuers: [] })).toThrow(TypeError);
    expect(() => createTokenVerifier({ issuers: [{ issuer: 'https://idp.example/?tenant=1' }] })).toThrow(TypeError);
    expect(() => createTokenVerifier({ issuers: [{ issuer: 'ftp://idp.example' }] })).toThrow(TypeError);
    expect(() => createTokenVerifier({ issuers: [{ issuer: 'https://a.example' }, { issuer: 'https://a.example' }] })).toThrow(TypeError);
  });
});

describe('ownerKey', () => {
  it('is stable, issuer-scoped and unambiguous', () => {
    expect(ownerKey({ issuer: 'https://a.example', subject: 'u1' })).toBe('u1,https%3A%2F%2Fa.example');
    expect(ownerKey({ issuer: 'https://a.example', subject: 'u1' })).not.toBe(ownerKey({ issuer: 'https://b.example', subject: 'u1' }));
    expect(ownerKey({ issuer: 'https://a.example', subject: 'x,y' })).not.toBe(ownerKey({ issuer: 'y,https://a.example', subject: 'x' }));
  });
});
