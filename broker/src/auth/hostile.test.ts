/**
 * Hostile input against a running broker (issue 3): forged, stale, misdirected and oversized
 * tokens and visas, each sent over real HTTP to real routes. Every one must be refused with 401
 * (bad access token) or 403 (good access token, refused visas), with the WES error body and the
 * reason code visible (the audit trail's `reason` for 401s, the 403 message and
 * `GET /api/v1/me` -> `refused_visas[].reason` for visas), never a 5xx, never with the token text
 * in a response, the audit table or the logs, and without the broker fetching anything a token
 * points it at (a loopback "attacker" server counts every connection).
 *
 * Sizes: Node's `maxHeaderSize` is 64 KB (server.ts). A header block above that is answered by
 * Node itself with a bare `431 Request Header Fields Too Large` (no body: the request never
 * reaches the broker); that is the documented, accepted answer for "headers of 64 KB".
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userTokens } from '../dev/test-support';
import { REGISTERED_ACCESS_DOI } from '../dev/users';
import { startTestBroker, type TestBroker } from '../testing/broker';
import {
  hs256WithPublicKey,
  loadForgeKeys,
  newEsKey,
  nowSec,
  signAs,
  signEs,
  startCountingServer,
  startFakePassportBroker,
  tamper,
  unsignedJwt,
  visaClaims,
  type CountingServer,
  type FakePassportBroker,
  type ForgeKeys,
} from './hostile-support';
import type { AuthErrorReason } from './errors';
import type { VisaRefusalReason } from './passport/types';

let tb: TestBroker;
let keys: ForgeKeys;
/** The attacker's key server: it would serve the attacker's key to anyone who asked. */
let evil: CountingServer;
let attacker: { jwk: JWK; key: CryptoKey; kid: string };
let aliceToken: string;

/** Every token and visa text sent, to prove none comes back anywhere. */
const secrets = new Set<string>();
/** Every response body, and every log line the broker wrote. */
const bodies: string[] = [];
const logLines: string[] = [];

const keep = (jwt: string): string => {
  secrets.add(jwt);
  return jwt;
};

const oidc = () => tb.broker.devOidc!;
const audience = () => `${tb.url}/ga4gh/wes/v1`;

/** A Passport-carrying access token as the dev OP would mint it (claims overridable). */
async function accessToken(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const now = nowSec();
  return keep(
    await signAs(
      keys,
      'op',
      {
        iss: oidc().issuer,
        sub: 'mallory',
        aud: audience(),
        iat: now,
        exp: now + 600,
        jti: randomUUID(),
        client_id: 'portal',
        scope: 'openid ga4gh_passport_v1 wes',
        ...claims,
      },
      { typ: 'at+jwt', ...header },
    ),
  );
}

/** A visa of the trusted dev visa issuer, signed with its key, `jku` on the allow-list. */
async function visa(o: { sub?: string; type?: string; value?: string; source?: string; by?: string; extra?: Record<string, unknown> } = {}, header: Record<string, unknown> = {}): Promise<string> {
  const claims = visaClaims({
    iss: oidc().visaIssuer,
    sub: o.sub ?? 'mallory',
    type: o.type ?? 'ResearcherStatus',
    value: o.value ?? REGISTERED_ACCESS_DOI,
    source: o.source ?? oidc().visaSources.signingOfficial,
    ...(o.by ? { by: o.by } : {}),
    ...(o.extra ? { extra: o.extra } : {}),
  });
  return keep(await signAs(keys, 'visa', claims, { typ: 'vnd.ga4gh.visa+jwt', jku: oidc().visaJwksUri, ...header }));
}

/** The LinkedIdentities visa that makes the visa issuer's `sub` the OP's `sub` (as the dev broker does). */
const link = (sub: string) =>
  visa({ sub, type: 'LinkedIdentities', value: `${encodeURIComponent(sub)},${encodeURIComponent(oidc().issuer)}`, source: oidc().visaSources.broker, by: 'system' });

interface Answer {
  status: number;
  text: string;
  body: Record<string, unknown>;
  headers: Headers;
}

const ROUTES = [
  { method: 'POST', path: '/ga4gh/wes/v1/runs' },
  { method: 'GET', path: '/api/v1/me' },
  { method: 'GET', path: '/ga4gh/wes/v1/runs' },
] as const;

/** A minimal WES submission: it gets past auth and policy, then fails validation (400). */
function submission(): FormData {
  const form = new FormData();
  form.set('workflow_type', 'NFL');
  form.set('workflow_type_version', 'DSL2');
  form.set('workflow_url', `${tb.url}/workflows/imputation`);
  return form;
}

/** One request; every answer is kept and none may be a 5xx. */
async function call(method: 'GET' | 'POST', path: string, authorization: string | null, extra: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${tb.url}${path}`, {
    method,
    headers: { ...(authorization === null ? {} : { Authorization: authorization }), ...extra },
    ...(method === 'POST' ? { body: submission() } : {}),
  });
  const text = await res.text();
  bodies.push(text);
  expect(res.status, `${method} ${path}: ${text}`).toBeLessThan(500);
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON: asserted by the caller where it matters */
  }
  return { status: res.status, text, body, headers: res.headers };
}

const bearer = (token: string) => `Bearer ${token}`;

async function auditRows(where = 'TRUE'): Promise<Record<string, unknown>[]> {
  return (await tb.broker.deps.ds.query(`SELECT * FROM audit_events WHERE ${where} ORDER BY id`)) as Record<string, unknown>[];
}

/** `auth.token_refused` is recorded without being awaited: wait for the rows to land. */
async function refusalsAfter(id: number, count: number): Promise<string[]> {
  const until = Date.now() + 5_000;
  for (;;) {
    const rows = await auditRows(`action = 'auth.token_refused' AND id > ${id}`);
    if (rows.length >= count || Date.now() > until) return rows.map((r) => String(r.reason));
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function lastAuditId(): Promise<number> {
  const [row] = (await tb.broker.deps.ds.query('SELECT coalesce(max(id), 0)::int AS id FROM audit_events')) as { id: number }[];
  return row!.id;
}

/** 401 with the WES body and an `invalid_token` challenge on every route; the audit names `reason`. */
async function expectUnauthorized(authorization: string, reason: AuthErrorReason, challenge = 'invalid_token'): Promise<string[]> {
  const from = await lastAuditId();
  const messages: string[] = [];
  for (const { method, path } of ROUTES) {
    const a = await call(method, path, authorization);
    expect({ route: `${method} ${path}`, status: a.status, body: a.body }).toEqual({
      route: `${method} ${path}`,
      status: 401,
      body: { msg: expect.any(String), status_code: 401 },
    });
    expect(a.headers.get('www-authenticate')).toContain(`error="${challenge}"`);
    messages.push(String(a.body.msg));
  }
  expect(await refusalsAfter(from, ROUTES.length)).toEqual(ROUTES.map(() => reason));
  return messages;
}

/**
 * A valid access token whose visas are all refused: 403 on submit naming the reason, `/me` lists
 * every visa as refused with that reason and grants nothing, the run list is the caller's (empty).
 */
async function expectVisasRefused(visas: string[], reason: VisaRefusalReason, sub = 'mallory'): Promise<{ message: string; refused: { reason: string; message: string }[] }> {
  const token = await accessToken({ sub, ga4gh_passport_v1: visas });
  const post = await call('POST', '/ga4gh/wes/v1/runs', bearer(token));
  expect({ status: post.status, body: post.body }).toEqual({ status: 403, body: { msg: expect.stringContaining(reason), status_code: 403 } });

  const me = await call('GET', '/api/v1/me', bearer(token));
  expect(me.status).toBe(200);
  const body = me.body as { subject: string; visas: unknown[]; refused_visas: { reason: string; message: string }[]; permissions: Record<string, boolean> };
  expect(body.subject).toBe(sub);
  expect(body.visas).toEqual([]);
  expect(body.refused_visas.map((r) => r.reason)).toEqual(visas.map(() => reason));
  expect(body.permissions.submit_runs).toBe(false);

  const list = await call('GET', '/ga4gh/wes/v1/runs', bearer(token));
  expect({ status: list.status, runs: list.body.runs }).toEqual({ status: 200, runs: [] });
  return { message: String(post.body.msg), refused: body.refused_visas };
}

beforeAll(async () => {
  tb = await startTestBroker({
    profiles: [{ id: 'mis2', profile: 'mis2' }],
    env: { LOG_LEVEL: 'debug' },
    logDestination: { write: (line: string) => void logLines.push(line) },
  });
  keys = await loadForgeKeys(tb.dataDir);
  evil = await startCountingServer();
  const pair = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  attacker = { jwk: { ...jwk, kid, alg: 'ES256', use: 'sig' }, key: pair.privateKey, kid };
  // Were the broker to fetch from here, it would get the attacker's key and accept the forgery.
  evil.handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [attacker.jwk] }));
  };
  aliceToken = keep((await userTokens(oidc(), { username: 'alice', password: 'alice', redirectUri: `${tb.url}/auth/callback` })).access_token);
});

afterAll(async () => {
  await evil?.close();
  await tb?.close();
});

/** The attacker's own ES256 key, with a header of its choosing. */
const signedByAttacker = async (payload: Record<string, unknown>, header: Record<string, unknown>) =>
  keep(await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: attacker.kid, ...header }).sign(attacker.key));

describe('control: the forging helpers make tokens the broker accepts', () => {
  it('a forged-but-genuine token with a linked researcher visa may submit (400 on the empty form, not 401/403)', async () => {
    const token = await accessToken({ sub: 'dave', ga4gh_passport_v1: [await link('dave'), await visa({ sub: 'dave' })] });
    const me = await call('GET', '/api/v1/me', bearer(token));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ subject: 'dave', refused_visas: [], permissions: { submit_runs: true } });
    expect((await call('POST', '/ga4gh/wes/v1/runs', bearer(token))).status).toBe(400);
    expect((await call('GET', '/ga4gh/wes/v1/runs', bearer(token))).status).toBe(200);
  });
});

describe('access tokens: 401 with the reason in the audit trail', () => {
  it('alg none', async () => {
    const now = nowSec();
    const token = keep(unsignedJwt({ iss: oidc().issuer, sub: 'admin', aud: audience(), iat: now, exp: now + 600 }, { typ: 'at+jwt' }));
    const [msg] = await expectUnauthorized(bearer(token), 'unsupported_alg');
    expect(msg).toMatch(/"none"/);
  });

  it('HS256 keyed with the OP public key (algorithm confusion)', async () => {
    const now = nowSec();
    const token = keep(await hs256WithPublicKey(keys, 'op', { iss: oidc().issuer, sub: 'admin', aud: audience(), iat: now, exp: now + 600 }, { typ: 'at+jwt' }));
    const [msg] = await expectUnauthorized(bearer(token), 'unsupported_alg');
    expect(msg).toMatch(/HS256/);
  });

  it('an untrusted issuer, with jku/x5u pointing at the attacker: nothing is fetched', async () => {
    evil.reset();
    const token = await signedByAttacker(
      { iss: evil.url, sub: 'admin', aud: audience(), iat: nowSec(), exp: nowSec() + 600 },
      { typ: 'at+jwt', jku: `${evil.url}/jwks`, x5u: `${evil.url}/cert.pem` },
    );
    await expectUnauthorized(bearer(token), 'untrusted_issuer');
    expect(evil.connections).toBe(0);
  });

  it('the trusted issuer named, but signed by the attacker with jku/jwk headers naming their key: bad signature, nothing fetched', async () => {
    evil.reset();
    const claims = { iss: oidc().issuer, sub: 'admin', aud: audience(), iat: nowSec(), exp: nowSec() + 600 };
    await expectUnauthorized(bearer(await signedByAttacker(claims, { typ: 'at+jwt', jku: `${evil.url}/jwks` })), 'bad_signature');
    await expectUnauthorized(bearer(await signedByAttacker(claims, { typ: 'at+jwt', jwk: attacker.jwk })), 'bad_signature');
    // The attacker reuses the OP's kid: jose still verifies with the OP's published key.
    await expectUnauthorized(bearer(await signedByAttacker(claims, { typ: 'at+jwt', kid: keys.op.jwk.kid, jku: `${evil.url}/jwks` })), 'bad_signature');
    expect(evil.connections).toBe(0);
  });

  it('a wrong or missing audience', async () => {
    const [msg] = await expectUnauthorized(bearer(await accessToken({ aud: 'https://other-service.example.org' })), 'wrong_audience');
    expect(msg).toMatch(/another service/);
    await expectUnauthorized(bearer(await accessToken({ aud: undefined })), 'wrong_audience');
  });

  it('expired, not yet valid (nbf) and issued in the future (iat)', async () => {
    const now = nowSec();
    await expectUnauthorized(bearer(await accessToken({ iat: now - 7200, exp: now - 3600 })), 'expired');
    await expectUnauthorized(bearer(await accessToken({ nbf: now + 3600 })), 'not_yet_valid');
    await expectUnauthorized(bearer(await accessToken({ iat: now + 3600, exp: now + 7200 })), 'not_yet_valid');
  });

  it('a tampered payload: alice becomes admin', async () => {
    const token = keep(tamper(aliceToken, (p) => ({ ...p, sub: 'admin' })));
    await expectUnauthorized(bearer(token), 'bad_signature');
    // The untampered original is fine (the tamper, not the token, is refused).
    expect((await call('GET', '/api/v1/me', bearer(aliceToken))).status).toBe(200);
  });

  it('an unknown kid', async () => {
    await expectUnauthorized(bearer(await accessToken({}, { kid: 'no-such-key' })), 'bad_signature');
  });

  it('a visa or a passport sent as the access token', async () => {
    await expectUnauthorized(bearer(await visa({ sub: 'admin' })), 'wrong_token_type');
    await expectUnauthorized(bearer(await accessToken({}, { typ: 'vnd.ga4gh.passport+jwt' })), 'wrong_token_type');
  });

  it('garbage: not a JWT, a JWT whose JSON is broken, a header that is not Bearer syntax', async () => {
    await expectUnauthorized(bearer(keep('not-a-jwt')), 'malformed');
    await expectUnauthorized(bearer(keep(`${Buffer.from('{"alg":"RS256"').toString('base64url')}.e30.c2ln`)), 'malformed');
    await expectUnauthorized('Bearer a b c', 'malformed', 'invalid_request');
  });
});

describe('visas: a good access token, its visas refused (403, reason in the message and in /me)', () => {
  it('alg none and HS256 keyed with the visa issuer public key', async () => {
    const claims = visaClaims({ iss: oidc().visaIssuer, sub: 'mallory', type: 'ResearcherStatus', value: REGISTERED_ACCESS_DOI, source: oidc().visaSources.signingOfficial });
    await expectVisasRefused([keep(unsignedJwt(claims, { typ: 'vnd.ga4gh.visa+jwt', jku: oidc().visaJwksUri }))], 'unsupported_alg');
    await expectVisasRefused([keep(await hs256WithPublicKey(keys, 'visa', claims, { typ: 'vnd.ga4gh.visa+jwt', jku: oidc().visaJwksUri }))], 'unsupported_alg');
  });

  it('a visa from an untrusted issuer whose jku is the attacker: untrusted_issuer, nothing fetched', async () => {
    evil.reset();
    const forged = await signedByAttacker(
      visaClaims({ iss: `${evil.url}/visas`, sub: 'mallory', type: 'ResearcherStatus', value: REGISTERED_ACCESS_DOI, source: oidc().visaSources.signingOfficial }),
      { typ: 'vnd.ga4gh.visa+jwt', jku: `${evil.url}/jwks` },
    );
    const { message } = await expectVisasRefused([forged], 'untrusted_issuer');
    expect(message).toContain(`${evil.url}/visas`);
    expect(evil.connections).toBe(0);
  });

  it('the trusted issuer, a jku off its allow-list (the attacker, look-alikes, private addresses): nothing fetched', async () => {
    evil.reset();
    const claims = visaClaims({ iss: oidc().visaIssuer, sub: 'mallory', type: 'ResearcherStatus', value: REGISTERED_ACCESS_DOI, source: oidc().visaSources.signingOfficial });
    const allowed = new URL(oidc().visaJwksUri);
    const offList = [
      `${evil.url}/jwks`,
      `${evil.url}${allowed.pathname}`, // same path, other host
      `${oidc().visaJwksUri}/../../../jwks-evil`,
      `${oidc().visaJwksUri}?redirect=${encodeURIComponent(evil.url)}`,
      `http://user:pw@${allowed.host}${allowed.pathname}`, // credentials in the URL
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/', // cloud metadata
      'http://10.0.0.1/keys',
      `http://[::1]:${evil.port}/jwks`,
      'file:///etc/passwd',
    ];
    for (const jku of offList) {
      const forged = await signedByAttacker(claims, { typ: 'vnd.ga4gh.visa+jwt', jku });
      const { refused } = await expectVisasRefused([forged], 'jku_not_allowed');
      expect(refused[0]!.message, jku).toMatch(/nothing was fetched/);
    }
    // A jku that is not even a string.
    await expectVisasRefused([await signedByAttacker(claims, { typ: 'vnd.ga4gh.visa+jwt', jku: { url: evil.url } })], 'malformed');
    expect(evil.connections).toBe(0);
  });

  it('keys carried by the visa itself (jwk, x5c, x5u): refused before any fetch', async () => {
    evil.reset();
    const claims = visaClaims({ iss: oidc().visaIssuer, sub: 'mallory', type: 'ResearcherStatus', value: REGISTERED_ACCESS_DOI, source: oidc().visaSources.signingOfficial });
    for (const header of [{ jwk: attacker.jwk }, { x5u: `${evil.url}/cert.pem` }, { x5c: ['MIIB'] }]) {
      await expectVisasRefused([await signedByAttacker(claims, { typ: 'vnd.ga4gh.visa+jwt', jku: oidc().visaJwksUri, ...header })], 'bad_signature');
    }
    expect(evil.connections).toBe(0);
  });

  it('signed by the attacker, or by the OP key, with the allow-listed jku: bad_signature', async () => {
    const claims = visaClaims({ iss: oidc().visaIssuer, sub: 'mallory', type: 'ResearcherStatus', value: REGISTERED_ACCESS_DOI, source: oidc().visaSources.signingOfficial });
    await expectVisasRefused([await signedByAttacker(claims, { typ: 'vnd.ga4gh.visa+jwt', jku: oidc().visaJwksUri, kid: keys.visa.jwk.kid })], 'bad_signature');
    await expectVisasRefused([keep(await signAs(keys, 'op', claims, { typ: 'vnd.ga4gh.visa+jwt', jku: oidc().visaJwksUri }))], 'bad_signature');
  });

  it('an unknown kid and a tampered payload', async () => {
    await expectVisasRefused([await visa({}, { kid: 'no-such-key' })], 'bad_signature');
    const original = await visa({ type: 'AffiliationAndRole', value: 'nobody@example.org', source: oidc().visaSources.broker, by: 'system' });
    const promoted = keep(tamper(original, (p) => ({ ...p, ga4gh_visa_v1: { ...(p.ga4gh_visa_v1 as object), value: 'admin@imputation-broker.local' } })));
    await expectVisasRefused([promoted], 'bad_signature');
  });

  it('expired, not yet valid, issued or asserted in the future', async () => {
    const now = nowSec();
    const { message } = await expectVisasRefused([await visa({ extra: { iat: now - 7200, exp: now - 3600 } })], 'expired');
    expect(message).toMatch(/ResearcherStatus/);
    await expectVisasRefused([await visa({ extra: { nbf: now + 3600 } })], 'not_yet_valid');
    await expectVisasRefused([await visa({ extra: { iat: now + 3600, exp: now + 7200 } })], 'issued_in_future');
    const asserted = visaClaims({ iss: oidc().visaIssuer, sub: 'mallory', type: 'ResearcherStatus', value: REGISTERED_ACCESS_DOI, source: oidc().visaSources.signingOfficial });
    (asserted.ga4gh_visa_v1 as { asserted: number }).asserted = now + 3600;
    await expectVisasRefused([keep(await signAs(keys, 'visa', asserted, { typ: 'vnd.ga4gh.visa+jwt', jku: oidc().visaJwksUri }))], 'asserted_in_future');
  });

  it('a genuine visa from an untrusted assertion source', async () => {
    await expectVisasRefused([await visa({ source: 'https://diploma-mill.example.org' })], 'untrusted_source');
  });

  it("replayed visas of another subject: alice's real passport in mallory's token", async () => {
    const res = await fetch(oidc().userinfoEndpoint, { headers: { Authorization: bearer(aliceToken) } });
    const alices = ((await res.json()) as { ga4gh_passport_v1: string[] }).ga4gh_passport_v1;
    expect(alices.length).toBe(4);
    alices.forEach(keep);
    const { refused } = await expectVisasRefused(alices, 'unlinked_identity', 'mallory');
    expect(refused[0]!.message).toMatch(/another identity/);
    // ... and alice's own LinkedIdentities visa replayed beside a visa for mallory does not link them.
    await expectVisasRefused([alices[0]!, await visa({ sub: 'mallory-at-visas' })], 'unlinked_identity', 'mallory');
    // Control: the same visas in a token for alice herself are accepted.
    const own = await accessToken({ sub: 'alice', ga4gh_passport_v1: alices });
    expect(((await call('GET', '/api/v1/me', bearer(own))).body as { refused_visas: unknown[] }).refused_visas).toEqual([]);
  });

  it('one bad visa does not spoil good ones, and the good ones alone decide', async () => {
    const token = await accessToken({ sub: 'erin', ga4gh_passport_v1: [await link('erin'), await visa({ sub: 'erin' }), await visa({ sub: 'erin', extra: { exp: nowSec() - 3600, iat: nowSec() - 7200 } })] });
    const me = await call('GET', '/api/v1/me', bearer(token));
    expect(me.body).toMatchObject({ permissions: { submit_runs: true }, refused_visas: [{ reason: 'expired', type: 'ResearcherStatus' }] });
  });

  it('non-strings and junk in ga4gh_passport_v1 are dropped or refused, never a 500', async () => {
    const token = await accessToken({ ga4gh_passport_v1: [42, null, { a: 1 }, 'x.y.z', '', 'a'.repeat(20_000).slice(0, 9000)] });
    for (const { method, path } of ROUTES) expect((await call(method, path, bearer(token))).status).toBeLessThan(500);
    const me = await call('GET', '/api/v1/me', bearer(token));
    expect((me.body as { refused_visas: { reason: string }[] }).refused_visas.map((r) => r.reason)).toEqual(['malformed', 'malformed', 'malformed']);
    const notAList = await accessToken({ ga4gh_passport_v1: { visas: 'nope' } });
    expect((await call('GET', '/api/v1/me', bearer(notAList))).status).toBe(200);
  });
});

/** Visas for `sub` until the access token carrying them is at least `bytes` long. */
async function passportOf(sub: string, bytes: number): Promise<{ token: string; visas: number }> {
  const visas = [await link(sub), await visa({ sub })];
  const terms = `${tb.url}/terms/v1`;
  visas.push(await visa({ sub, type: 'AcceptedTermsAndPolicies', value: terms, source: oidc().visaSources.broker, by: 'self' }));
  let token = await accessToken({ sub, ga4gh_passport_v1: visas });
  while (token.length < bytes) {
    // Dataset grants, the bulk of a real passport.
    for (let i = 0; i < 8; i++) {
      visas.push(await visa({ sub, type: 'ControlledAccessGrants', value: `https://ega-archive.org/datasets/EGAD0000100${String(visas.length).padStart(4, '0')}`, source: oidc().visaSources.dac, by: 'dac' }));
    }
    token = await accessToken({ sub, ga4gh_passport_v1: visas });
  }
  return { token, visas: visas.length };
}

/** A raw request whose oversized header Node refuses: status and body, or the socket error. */
function rawGet(path: string, headers: Record<string, string>): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(`${tb.url}${path}`, { method: 'GET', headers, maxHeaderSize: 128 * 1024 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end();
  });
}

describe('sizes', () => {
  // Node takes 64 KB of headers; the token cap (56 KB) leaves room for real passports.
  it('a realistic passport of ~40 KB (dozens of visas) in the access token fits and is accepted', async () => {
    const { token, visas } = await passportOf('frank', 40 * 1024);
    expect(token.length).toBeGreaterThanOrEqual(40 * 1024);
    expect(token.length).toBeLessThan(48 * 1024);
    const me = await call('GET', '/api/v1/me', bearer(token));
    expect({ status: me.status, msg: me.body.msg }).toEqual({ status: 200, msg: undefined });
    const body = me.body as { visas: unknown[]; refused_visas: unknown[]; permissions: { submit_runs: boolean } };
    expect(body.refused_visas).toEqual([]);
    expect(body.visas).toHaveLength(visas);
    expect(body.permissions.submit_runs).toBe(true);
    expect((await call('POST', '/ga4gh/wes/v1/runs', bearer(token))).status).toBe(400); // past auth and policy
    expect((await call('GET', '/ga4gh/wes/v1/runs', bearer(token))).status).toBe(200);
  });

  it('an Authorization header under Node\'s limit but over the token cap: 401 from the broker, with its body', async () => {
    // Long enough to be over any sane token cap, short enough to reach the broker.
    const token = keep(`${'A'.repeat(60 * 1024)}.e30.c2ln`);
    const [msg] = await expectUnauthorized(bearer(token), 'malformed', 'invalid_request');
    expect(msg).toMatch(/too large/);
  });

  it('a passport of 1 MB: refused before the broker reads it (431), the broker stays up', async () => {
    const big = keep(`${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt' })).toString('base64url')}.${'A'.repeat(1024 * 1024)}.c2ln`);
    const answer = await rawGet('/api/v1/me', { Authorization: bearer(big) });
    // Node answers 431 and closes; a client still writing may instead see the reset.
    if ('status' in answer) {
      expect(answer.status).toBe(431);
      expect(answer.body).toBe('');
    } else {
      expect(answer.error).toMatch(/ECONNRESET|EPIPE/);
    }
    expect((await call('GET', '/api/v1/me', bearer(aliceToken))).status).toBe(200);
  });

  it('headers of 64 KB+ beside a good token: 431 from Node (documented), the broker stays up', async () => {
    const answer = await rawGet('/api/v1/me', { Authorization: bearer(aliceToken), 'X-Padding': 'p'.repeat(65 * 1024) });
    expect(answer).toEqual({ status: 431, body: '' });
    // Just under the limit, the same request is served.
    const fits = await call('GET', '/api/v1/me', bearer(aliceToken), { 'X-Padding': 'p'.repeat(48 * 1024) });
    expect(fits.status).toBe(200);
    expect((await call('GET', '/api/v1/me', bearer(aliceToken))).status).toBe(200);
  });
});

/**
 * A second broker shaped like production: no dev provider, a configured Passport broker that
 * hands out passports by token exchange, production jku rules (https only, public addresses only),
 * and visa issuers whose allow-lists name private and loopback key URLs on purpose.
 */
describe('production trust rules (configured issuer, token exchange)', () => {
  let prod: TestBroker;
  let idp: FakePassportBroker;
  const VISAS = 'https://visas.hostile.test';
  const SOURCE = 'https://so.hostile.test';

  const prodToken = (sub: string, claims: Record<string, unknown> = {}) =>
    signEs(idp.op, { iss: idp.issuer, sub, aud: 'hostile-broker', iat: nowSec(), exp: nowSec() + 600, jti: randomUUID(), scope: 'openid ga4gh_passport_v1 wes', ...claims }, { typ: 'at+jwt' }).then(keep);
  const prodVisa = (sub: string, header: Record<string, unknown>, iss = VISAS) =>
    signEs(idp.visaKey, visaClaims({ iss, sub, type: 'ResearcherStatus', value: REGISTERED_ACCESS_DOI, source: SOURCE }), { typ: 'vnd.ga4gh.visa+jwt', ...header }).then(keep);
  const passportJwt = (sub: string, visas: string[]) =>
    signEs(idp.op, { iss: idp.issuer, sub, iat: nowSec(), exp: nowSec() + 600, jti: randomUUID(), ga4gh_passport_v1: visas }, { typ: 'vnd.ga4gh.passport+jwt' }).then(keep);

  const prodCall = async (path: string, token: string, method: 'GET' | 'POST' = 'GET'): Promise<Answer> => {
    const res = await fetch(`${prod.url}${path}`, { method, headers: { Authorization: bearer(token) }, ...(method === 'POST' ? { body: new FormData() } : {}) });
    const text = await res.text();
    bodies.push(text);
    expect(res.status, text).toBeLessThan(500);
    return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown>, headers: res.headers };
  };
  const refusedOf = async (token: string) => {
    const post = await prodCall('/ga4gh/wes/v1/runs', token, 'POST');
    expect(post.status).toBe(403);
    expect(post.body).toEqual({ msg: expect.any(String), status_code: 403 });
    const me = await prodCall('/api/v1/me', token);
    expect(me.status).toBe(200);
    return { msg: String(post.body.msg), refused: (me.body as { refused_visas: { reason: string; message: string }[] }).refused_visas, visas: (me.body as { visas: unknown[] }).visas };
  };

  beforeAll(async () => {
    idp = await startFakePassportBroker();
    const file = join(mkdtempSync(join(tmpdir(), 'hostile-')), 'broker.json');
    const port = idp.port;
    writeFileSync(
      file,
      JSON.stringify({
        // Validation wants one; the test broker runs its own simulator backends instead.
        backends: [{ id: 'mis2', kind: 'cloudgene', name: 'simulator', url: 'http://127.0.0.1:9/', token: 'unused', appId: 'imputationserver2' }],
        oidc: {
          issuers: [
            {
              issuer: idp.issuer,
              audience: 'hostile-broker',
              jwksUri: `${idp.issuer}/jwks`,
              passport: { tokenExchange: { tokenEndpoint: `${idp.issuer}/token`, clientId: 'clearinghouse', clientSecretEnv: 'HOSTILE_EXCHANGE_SECRET' } },
            },
          ],
        },
        passports: {
          brokers: [{ issuer: idp.issuer, jwksUri: `${idp.issuer}/jwks` }],
          visaIssuers: [
            // Allow-listed on purpose, and still never fetched: private literal, loopback name, plain http.
            { issuer: VISAS, jku: ['https://10.0.0.1/keys', `https://localhost:${port}/keys`, `http://127.0.0.1:${port}/keys`] },
            { issuer: idp.issuer, jwksUri: `${idp.issuer}/visa-jwks` },
          ],
          sources: [SOURCE],
        },
      }),
    );
    process.env.HOSTILE_EXCHANGE_SECRET = 'exchange-secret';
    prod = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }], env: { DEMO: 'false', CONFIG_FILE: file, HOSTILE_EXCHANGE_SECRET: 'exchange-secret' } });
    expect(prod.broker.devOidc).toBeNull();
  });
  afterAll(async () => {
    await prod?.close();
    await idp?.close();
  });

  it('an allow-listed jku on a private address, a name resolving to loopback, or plain http: jku_not_allowed, never connected', async () => {
    idp.reset();
    const cases: [string, RegExp][] = [
      ['https://10.0.0.1/keys', /non-public network address/],
      [`https://localhost:${idp.port}/keys`, /resolves to a non-public network address/],
      [`http://127.0.0.1:${idp.port}/keys`, /not https/],
    ];
    for (const [jku, why] of cases) {
      const { msg, refused } = await refusedOf(await prodToken('mallory', { ga4gh_passport_v1: [await prodVisa('mallory', { jku })] }));
      expect(msg).toContain('jku_not_allowed');
      expect(refused, jku).toEqual([expect.objectContaining({ reason: 'jku_not_allowed', message: expect.stringMatching(why) })]);
    }
    // Only the issuer's own JWKS was fetched (to check the access tokens), never /keys.
    expect(idp.hits.get('/keys') ?? 0).toBe(0);
    expect([...idp.hits.keys()].sort()).toEqual(['/jwks']);
  });

  it('a realistic passport of ~40 KB by token exchange: accepted, exchanged once, then cached', async () => {
    const visas: string[] = [];
    while (visas.join('').length < 40 * 1024) {
      visas.push(
        await signEs(idp.visaKey, visaClaims({ iss: idp.issuer, sub: 'grace', type: 'ControlledAccessGrants', value: `https://ega-archive.org/datasets/EGAD${String(visas.length).padStart(11, '0')}`, source: SOURCE, by: 'dac' }), { typ: 'vnd.ga4gh.visa+jwt' }),
      );
    }
    const passport = await passportJwt('grace', visas);
    expect(passport.length).toBeGreaterThan(40 * 1024);
    idp.passports.set('grace', async () => passport);
    idp.reset();
    const token = await prodToken('grace');
    for (let i = 0; i < 3; i++) {
      const me = await prodCall('/api/v1/me', token);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ subject: 'grace', refused_visas: [] });
      expect((me.body as { visas: unknown[] }).visas).toHaveLength(visas.length);
    }
    expect(idp.hits.get('/token')).toBe(1);
  });

  it('a passport of 1 MB by token exchange: refused unread, reason too_large (not "try again later")', async () => {
    const big = `${Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'vnd.ga4gh.passport+jwt' })).toString('base64url')}.${'A'.repeat(1024 * 1024)}.c2ln`;
    idp.passports.set('heidi', async () => big);
    const { msg, refused, visas } = await refusedOf(await prodToken('heidi'));
    expect(visas).toEqual([]);
    expect(refused).toEqual([expect.objectContaining({ reason: 'too_large', message: expect.stringMatching(/larger than 512 KB/) })]);
    expect(msg).toContain('too_large');
  });

  it('a passport from the exchange that is forged or expired keeps its reason; an exchange failure is keys_unavailable', async () => {
    const rogue = await newEsKey();
    idp.passports.set('ivan', async () => signEs(rogue, { iss: idp.issuer, sub: 'ivan', iat: nowSec(), exp: nowSec() + 600, ga4gh_passport_v1: [] }, { typ: 'vnd.ga4gh.passport+jwt', kid: idp.op.kid }));
    expect((await refusedOf(await prodToken('ivan'))).refused).toEqual([expect.objectContaining({ reason: 'bad_signature' })]);
    idp.passports.set('judy', async () => signEs(idp.op, { iss: idp.issuer, sub: 'judy', iat: nowSec() - 7200, exp: nowSec() - 3600, ga4gh_passport_v1: [] }, { typ: 'vnd.ga4gh.passport+jwt' }));
    expect((await refusedOf(await prodToken('judy'))).refused).toEqual([expect.objectContaining({ reason: 'expired' })]);
    idp.passports.set('ken', async () => [500, '<html>boom</html>']);
    expect((await refusedOf(await prodToken('ken'))).refused).toEqual([expect.objectContaining({ reason: 'keys_unavailable' })]);
  });
});

describe('nothing leaks', () => {
  // Signature segments identify a token (headers and payloads are not secret on their own).
  const fingerprints = () =>
    [...secrets].map((t) => {
      const parts = t.split('.');
      const sig = parts[2] ?? '';
      return sig.length >= 24 ? sig.slice(-40) : t.slice(0, 200);
    });

  it('no token or visa text in any response body', () => {
    expect(bodies.length).toBeGreaterThan(100);
    const all = bodies.join('\n');
    for (const f of fingerprints()) expect(all.includes(f), f).toBe(false);
  });

  it('no token or visa text in the audit table; refusals are all there, with reasons', async () => {
    const rows = await auditRows();
    const dump = JSON.stringify(rows);
    for (const f of fingerprints()) expect(dump.includes(f), f).toBe(false);
    const reasons = new Set(rows.filter((r) => r.action === 'auth.token_refused').map((r) => r.reason));
    for (const r of ['unsupported_alg', 'untrusted_issuer', 'bad_signature', 'wrong_audience', 'expired', 'not_yet_valid', 'wrong_token_type', 'malformed']) {
      expect(reasons.has(r), r).toBe(true);
    }
    expect(rows.some((r) => r.action === 'policy.denied' && r.actor_subject === 'mallory')).toBe(true);
  });

  it('no token or visa text in the logs', () => {
    expect(logLines.length).toBeGreaterThan(0);
    const all = logLines.join('');
    for (const f of fingerprints()) expect(all.includes(f), f).toBe(false);
  });
});
