/**
 * Every protected route, tried as: no token, a token without the needed visa (bob), another
 * user's token, an expired visa (carol), and the right identity. One policy decides them all.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userTokens } from '../dev/test-support';
import { REGISTERED_ACCESS_DOI } from '../dev/users';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { submit, terminal, waitForState } from '../testing/wes-client';

const demo = join(import.meta.dirname, '../../../demo/data/hg19/chr20.vcf.gz');
const params = { refpanel: 'hapmap-2', population: 'eur', mode: 'qc_only' };

let tb: TestBroker;
const tokens: Record<string, string> = {};
let ownRun: string; // demo-cli's run, tagged dataset=demo

async function signedAs(kind: 'op' | 'visa', payload: Record<string, unknown>, header: Record<string, unknown>): Promise<string> {
  const file = kind === 'op' ? 'dev-oidc-keys.json' : 'dev-oidc-keys-visa.json';
  const jwks = JSON.parse(readFileSync(join(tb.dataDir, file), 'utf8')) as { keys: JWK[] };
  const jwk = jwks.keys[0]!;
  const alg = kind === 'op' ? 'RS256' : 'ES256';
  return new SignJWT(payload).setProtectedHeader({ alg, kid: jwk.kid!, ...header }).sign(await importJWK(jwk, alg));
}

/** A user token carrying a passport whose only visa expired an hour ago. */
async function expiredVisaToken(): Promise<string> {
  const oidc = tb.broker.devOidc!;
  const now = Math.floor(Date.now() / 1000);
  const visa = await signedAs(
    'visa',
    {
      iss: oidc.visaIssuer,
      sub: 'carol',
      iat: now - 7200,
      exp: now - 3600,
      jti: randomUUID(),
      ga4gh_visa_v1: { type: 'ResearcherStatus', asserted: now - 7200, value: REGISTERED_ACCESS_DOI, source: oidc.visaSources.signingOfficial, by: 'so' },
    },
    { typ: 'vnd.ga4gh.visa+jwt', jku: oidc.visaJwksUri },
  );
  return signedAs(
    'op',
    {
      iss: oidc.issuer,
      sub: 'carol',
      aud: `${tb.url}/ga4gh/wes/v1`,
      iat: now,
      exp: now + 600,
      client_id: 'portal',
      scope: 'openid ga4gh_passport_v1 wes',
      ga4gh_passport_v1: [visa],
    },
    { typ: 'at+jwt' },
  );
}

const call = (path: string, who: string | null, init: RequestInit = {}) =>
  fetch(`${tb.url}${path}`, { ...init, headers: { ...(who ? { Authorization: `Bearer ${tokens[who]}` } : {}), ...init.headers } });

async function expectStatus(res: Response, status: number, msg?: string | RegExp): Promise<Record<string, unknown>> {
  const body = (await res.json()) as Record<string, unknown>;
  expect({ status: res.status, body }).toMatchObject({ status });
  if (status >= 400) expect(body.status_code).toBe(status);
  if (msg) expect(String(body.msg)).toMatch(msg);
  return body;
}

beforeAll(async () => {
  tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }] });
  const redirectUri = `${tb.url}/auth/callback`;
  tokens['demo-cli'] = await tb.token('demo-cli');
  tokens['demo-cli-2'] = await tb.token('demo-cli-2');
  for (const u of ['alice', 'bob', 'admin']) {
    tokens[u] = (await userTokens(tb.broker.devOidc!, { username: u, password: u, redirectUri })).access_token;
  }
  tokens.carol = await expiredVisaToken();
  const res = await submit(tb.url, tokens['demo-cli']!, { files: [demo], params, fields: { tags: JSON.stringify({ dataset: 'demo' }) } });
  expect(res.status).toBe(200);
  ownRun = ((await res.json()) as { run_id: string }).run_id;
  await waitForState(tb.url, tokens['demo-cli']!, ownRun, terminal);
});
afterAll(async () => {
  await tb?.close();
});

describe('POST /runs: runs:submit', () => {
  it('no token: 401', async () => {
    const res = await submit(tb.url, '', { files: [demo], params });
    expect(res.status).toBe(401);
  });
  it('a token without the needed visa: 403 saying what would do', async () => {
    await expectStatus(await submit(tb.url, tokens.bob!, { files: [demo], params }), 403, /ResearcherStatus/);
  });
  it('an expired visa: 403 with the reason code', async () => {
    await expectStatus(await submit(tb.url, tokens.carol!, { files: [demo], params }), 403, /expired/);
  });
  it('a researcher visa obtained by token exchange: 200', async () => {
    const res = await submit(tb.url, tokens.alice!, { files: [demo], params });
    expect(res.status).toBe(200);
  });
  it('a client with the submitter role: 200', async () => {
    expect((await submit(tb.url, tokens['demo-cli-2']!, { files: [demo], params })).status).toBe(200);
  });
});

describe('reading and cancelling a run: runs:read / runs:cancel', () => {
  const reads = () => [`/ga4gh/wes/v1/runs/${ownRun}`, `/ga4gh/wes/v1/runs/${ownRun}/status`, `/ga4gh/wes/v1/runs/${ownRun}/tasks`];

  it('no token: 401 everywhere', async () => {
    for (const p of reads()) expect((await call(p, null)).status).toBe(401);
  });
  it('another user, a user without visas and an expired visa: 404, the run is not confirmed', async () => {
    for (const who of ['demo-cli-2', 'bob', 'carol']) {
      for (const p of reads()) await expectStatus(await call(p, who), 404, /was not found/);
      await expectStatus(await call(`/ga4gh/wes/v1/runs/${ownRun}/cancel`, who, { method: 'POST' }), 404);
    }
  });
  it('the owner, an admin and a holder of the dataset grant may read', async () => {
    for (const who of ['demo-cli', 'admin', 'alice']) {
      for (const p of reads()) expect((await call(p, who)).status, `${who} ${p}`).toBe(200);
    }
  });
  it('a dataset grant reads but does not cancel, nor get the zip password: 403 with the reason', async () => {
    await expectStatus(await call(`/ga4gh/wes/v1/runs/${ownRun}/cancel`, 'alice', { method: 'POST' }), 403, /cancel|only read/i);
    await expectStatus(await call(`/api/v1/runs/${ownRun}/result-password`, 'alice'), 403);
    expect((await call(`/api/v1/runs/${ownRun}/result-password`, 'demo-cli')).status).toBe(200);
  });
  it('outputs follow the same rule', async () => {
    const log = (await (await call(`/ga4gh/wes/v1/runs/${ownRun}`, 'demo-cli')).json()) as { outputs: { files: { url: string }[] } };
    const url = new URL(log.outputs.files[0]!.url).pathname;
    expect((await call(url, 'alice')).status).toBe(200);
    expect((await call(url, 'bob')).status).toBe(404);
    expect((await call(url, null)).status).toBe(401);
  });
});

describe('the broker API', () => {
  it('credentials need credentials:manage_own', async () => {
    expect((await call('/api/v1/credentials', null)).status).toBe(401);
    await expectStatus(await call('/api/v1/credentials', 'bob'), 403);
    await expectStatus(await call('/api/v1/credentials', 'carol'), 403, /expired/);
    expect((await call('/api/v1/credentials', 'alice')).status).toBe(200);
  });

  it('the audit trail is for admins, and records denials and submissions', async () => {
    expect((await call('/api/v1/audit', null)).status).toBe(401);
    for (const who of ['bob', 'alice', 'demo-cli']) await expectStatus(await call('/api/v1/audit', who), 403);
    const res = await call('/api/v1/audit?page_size=500', 'admin');
    expect(res.status).toBe(200);
    const { events } = (await res.json()) as { events: { action: string; outcome: string; actor_subject: string | null }[] };
    const actions = new Set(events.map((e) => `${e.action}:${e.actor_subject ?? ''}`));
    expect(actions.has('run.submitted:demo-cli')).toBe(true);
    expect(actions.has('policy.denied:bob')).toBe(true);
    await call('/ga4gh/wes/v1/runs', null, { headers: { Authorization: 'Bearer nonsense' } });
    const again = (await (await call('/api/v1/audit?action=auth.token_refused', 'admin')).json()) as { events: { reason: string }[] };
    expect(again.events.length).toBeGreaterThan(0);
    expect(JSON.stringify(again)).not.toContain('nonsense');
  });

  it('/me shows accepted visas, refused ones with their reason, and permissions', async () => {
    const alice = (await (await call('/api/v1/me', 'alice')).json()) as {
      subject: string;
      visas: { type: string }[];
      permissions: { submit_runs: boolean; admin: boolean };
    };
    expect(alice.subject).toBe('alice');
    expect(alice.visas.map((v) => v.type).sort()).toEqual(['AcceptedTermsAndPolicies', 'ControlledAccessGrants', 'LinkedIdentities', 'ResearcherStatus']);
    expect(alice.permissions).toMatchObject({ submit_runs: true, admin: false });

    const carol = (await (await call('/api/v1/me', 'carol')).json()) as { visas: unknown[]; refused_visas: { reason: string; type: string }[] };
    expect(carol.visas).toEqual([]);
    expect(carol.refused_visas).toEqual([expect.objectContaining({ reason: 'expired', type: 'ResearcherStatus' })]);

    const admin = (await (await call('/api/v1/me', 'admin')).json()) as { permissions: { admin: boolean; read_audit: boolean } };
    expect(admin.permissions).toMatchObject({ admin: true, read_audit: true });
    const body = JSON.stringify(alice) + JSON.stringify(carol);
    for (const t of Object.values(tokens)) expect(body).not.toContain(t.slice(-30));
  });
});
