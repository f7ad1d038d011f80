/**
 * The portal login end to end: a real broker, the dev OIDC provider's real login form, real HTTP,
 * the session cookie as a browser keeps it. Happy path, refusals, CSRF, logout, refresh, storage.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../dev/test-support';
import { loginAtProvider, portalLogin, startSessionBroker, type SessionBroker } from '../auth/session/test-support';

const demo = (chr: string) => join(import.meta.dirname, '../../../demo/data/hg19', `chr${chr}.vcf.gz`);

/** A JWT's header and payload (`eyJ...` twice, dot-separated): random base64 may hold `eyJ`, never this. */
const JWT = /eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\./;

let sb: SessionBroker;

beforeAll(async () => {
  // Slow imputation: a run stays cancelable for the CSRF tests.
  sb = await startSessionBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }], timing: { imputation: 30_000 } });
});
afterAll(async () => {
  await sb?.close();
});

interface SessionInfo {
  authenticated: boolean;
  subject: string | null;
  issuer: string | null;
  expires_at: string | null;
  csrf_token: string | null;
}

/** A browser logged in as `username`, with its session cookie value and CSRF token. */
async function loggedIn(username = 'alice'): Promise<{ browser: Browser; cookie: string; csrf: string }> {
  const browser = new Browser();
  const res = await portalLogin(sb, browser, { username, password: username });
  expect(res.status).toBe(303);
  const cookie = browser.cookies.get('session')?.value;
  expect(cookie).toBeDefined();
  const info = (await (await browser.get(`${sb.url}/auth/session`)).json()) as SessionInfo;
  expect(info.authenticated).toBe(true);
  return { browser, cookie: cookie!, csrf: info.csrf_token! };
}

const sessionCount = async (): Promise<number> => Number((await sb.ds.query('SELECT count(*)::int AS n FROM sessions'))[0].n);
const sessionRow = async (cookie: string) =>
  (await sb.ds.query('SELECT * FROM sessions WHERE id = $1', [createHash('sha256').update(cookie).digest('hex')]))[0] as Record<string, unknown> | undefined;

describe('logging in', () => {
  it('sends the browser to the provider with PKCE S256, state and nonce, and comes back with an HttpOnly session cookie', async () => {
    const browser = new Browser();
    const { start, callback } = await loginAtProvider(sb, browser, { username: 'alice', password: 'alice', returnTo: '/api/v1/me?x=1' });
    const authorize = new URL(start.headers.get('location')!);
    expect(authorize.href.startsWith(sb.oidc.authorizationEndpoint)).toBe(true);
    expect(authorize.searchParams.get('response_type')).toBe('code');
    expect(authorize.searchParams.get('client_id')).toBe('portal-server');
    expect(authorize.searchParams.get('redirect_uri')).toBe(sb.redirectUri);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('state')).toBeTruthy();
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    expect(authorize.searchParams.get('scope')!.split(' ')).toEqual(expect.arrayContaining(['openid', 'ga4gh_passport_v1', 'wes']));
    expect(start.headers.getSetCookie().some((c) => /^login=[A-Za-z0-9_-]{43};/.test(c) && /HttpOnly/i.test(c))).toBe(true);
    expect(callback.searchParams.get('code')).toBeTruthy();

    const done = await browser.get(sb.callbackHere(callback));
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/api/v1/me?x=1');
    const setCookie = done.headers.getSetCookie().find((c) => c.startsWith('session='))!;
    expect(setCookie).toBeDefined();
    const attrs = setCookie.split(';').map((a) => a.trim().toLowerCase());
    expect(attrs).toContain('httponly');
    expect(attrs).toContain('samesite=lax');
    expect(attrs).toContain('path=/');
    // Plain http (the loopback demo): no Secure, no __Host- prefix; https gets both (cookies.test.ts).
    expect(attrs).not.toContain('secure');
    expect(setCookie).toMatch(/^session=[A-Za-z0-9_-]{43};/);
  });

  it('answers /auth/session with who is logged in and a CSRF token, never a token', async () => {
    const { browser } = await loggedIn('alice');
    const res = await browser.get(`${sb.url}/auth/session`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = await res.text();
    const info = JSON.parse(text) as SessionInfo;
    expect(info).toMatchObject({ authenticated: true, subject: 'alice', issuer: sb.oidc.issuer });
    expect(Date.parse(info.expires_at!)).toBeGreaterThan(Date.now());
    expect(info.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(text).not.toMatch(JWT); // no JWT of any kind
    expect(Object.keys(info)).not.toEqual(expect.arrayContaining(['access_token']));

    const anonymous = (await (await fetch(`${sb.url}/auth/session`)).json()) as SessionInfo;
    expect(anonymous).toMatchObject({ authenticated: false, subject: null, csrf_token: null });
  });

  it('makes the APIs see alice, with her visas, from the cookie alone', async () => {
    const { browser } = await loggedIn('alice');
    const res = await browser.get(`${sb.url}/api/v1/me`);
    expect(res.status).toBe(200);
    const me = (await res.json()) as { subject: string; issuer: string; client_id: string; visas: { type: string }[]; permissions: { submit_runs: boolean } };
    expect(me.subject).toBe('alice');
    expect(me.issuer).toBe(sb.oidc.issuer);
    expect(me.client_id).toBe('portal-server');
    expect(me.visas.length).toBeGreaterThan(0);
    expect(me.visas.map((v) => v.type)).toContain('ControlledAccessGrants');
    expect(me.permissions.submit_runs).toBe(true);
  });
});

describe('CSRF on cookie-authenticated state changes', () => {
  it('refuses a cookie-authenticated cancel without the token (403), accepts it with the header or the _csrf field', async () => {
    const { browser, csrf } = await loggedIn('alice');
    const form = new FormData();
    form.set('workflow_type', 'NFL');
    form.set('workflow_type_version', 'DSL2');
    form.set('workflow_url', `${sb.tb.url}/workflows/imputation`);
    form.set('workflow_params', JSON.stringify({ refpanel: 'hapmap-2', population: 'eur' }));
    const { openAsBlob } = await import('node:fs');
    form.append('workflow_attachment', await openAsBlob(demo('20')), 'chr20.vcf.gz');

    // Submitting is state-changing too: without the token nothing is created.
    const forged = await browser.request(`${sb.url}/ga4gh/wes/v1/runs`, { method: 'POST', body: form });
    expect(forged.status).toBe(403);
    const runsBefore = Number((await sb.ds.query('SELECT count(*)::int AS n FROM runs'))[0].n);
    expect(runsBefore).toBe(0);
    const submitted = await browser.request(`${sb.url}/ga4gh/wes/v1/runs`, { method: 'POST', body: form, headers: { 'X-CSRF-Token': csrf } });
    expect(submitted.status).toBe(200);
    const { run_id } = (await submitted.json()) as { run_id: string };
    const owner = (await sb.ds.query('SELECT owner_issuer, owner_subject FROM runs WHERE id = $1', [run_id]))[0];
    expect(owner).toEqual({ owner_issuer: sb.oidc.issuer, owner_subject: 'alice' });

    const cancelUrl = `${sb.url}/ga4gh/wes/v1/runs/${run_id}/cancel`;
    const without = await browser.request(cancelUrl, { method: 'POST' });
    expect(without.status).toBe(403);
    const body = (await without.json()) as { msg: string; status_code: number };
    expect(body.status_code).toBe(403);
    expect(body.msg).toMatch(/CSRF token/);
    const wrong = await browser.request(cancelUrl, { method: 'POST', headers: { 'X-CSRF-Token': `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'E' : 'A'}` } });
    expect(wrong.status).toBe(403);
    // Another session's token is no good either.
    const other = await loggedIn('alice');
    expect((await browser.request(cancelUrl, { method: 'POST', headers: { 'X-CSRF-Token': other.csrf } })).status).toBe(403);
    expect((await sb.ds.query('SELECT state FROM runs WHERE id = $1', [run_id]))[0].state).not.toMatch(/CANCEL/);

    const withHeader = await browser.request(cancelUrl, { method: 'POST', headers: { 'X-CSRF-Token': csrf } });
    expect(withHeader.status).toBe(200);
    expect(await withHeader.json()).toEqual({ run_id });
    const withField = await browser.post(cancelUrl, { _csrf: csrf });
    expect(withField.status).toBe(200);
  });

  it('asks no CSRF token of a bearer-token request, and the bearer token wins over a cookie', async () => {
    const { browser } = await loggedIn('alice');
    const token = await sb.tb.token('demo-cli');
    // demo-cli is not alice: her runs are invisible to it (404), and no CSRF refusal comes first.
    const res = await browser.request(`${sb.url}/ga4gh/wes/v1/runs/00000000-0000-4000-8000-000000000000/cancel`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(404);
    const me = (await (await browser.request(`${sb.url}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { subject: string };
    expect(me.subject).toBe('demo-cli');
  });
});

describe('bad cookies', () => {
  it('answers 401 for an unknown, tampered or malformed cookie, and clears it', async () => {
    const { cookie } = await loggedIn('alice');
    const tampered = `${cookie.slice(0, 10)}${cookie[10] === 'A' ? 'B' : 'A'}${cookie.slice(11)}`;
    for (const value of [randomBytes(32).toString('base64url'), tampered, 'not-a-session', '']) {
      const res = await fetch(`${sb.url}/api/v1/me`, { headers: { cookie: `session=${value}` } });
      expect(res.status, value).toBe(401);
      await res.body?.cancel();
      const post = await fetch(`${sb.url}/ga4gh/wes/v1/runs/00000000-0000-4000-8000-000000000000/cancel`, { method: 'POST', headers: { cookie: `session=${value}` } });
      // No session: the request is simply anonymous (401), not a CSRF refusal.
      expect(post.status, value).toBe(401);
      await post.body?.cancel();
    }
    const res = await fetch(`${sb.url}/api/v1/me`, { headers: { cookie: `session=${tampered}` } });
    expect(res.headers.getSetCookie().some((c) => /^session=;/.test(c) && /Max-Age=0/i.test(c))).toBe(true);
  });
});

describe('logging out', () => {
  it('needs the CSRF token, deletes the session server-side and clears the cookie; the old cookie then gives 401', async () => {
    const { browser, cookie, csrf } = await loggedIn('alice');
    expect(await sessionRow(cookie)).toBeDefined();

    const forged = await browser.request(`${sb.url}/auth/logout`, { method: 'POST' });
    expect(forged.status).toBe(403);
    expect(await sessionRow(cookie)).toBeDefined();

    const res = await browser.request(`${sb.url}/auth/logout`, { method: 'POST', headers: { 'X-CSRF-Token': csrf, accept: 'application/json' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { logged_out: boolean; end_session_url: string | null };
    expect(body.logged_out).toBe(true);
    expect(body.end_session_url).toMatch(new RegExp(`^${sb.oidc.issuer}/`));
    expect(res.headers.getSetCookie().some((c) => /^session=;/.test(c))).toBe(true);
    expect(browser.cookies.has('session')).toBe(false);
    expect(await sessionRow(cookie)).toBeUndefined();

    const replay = await fetch(`${sb.url}/api/v1/me`, { headers: { cookie: `session=${cookie}` } });
    expect(replay.status).toBe(401);
    const info = (await (await fetch(`${sb.url}/auth/session`, { headers: { cookie: `session=${cookie}` } })).json()) as SessionInfo;
    expect(info.authenticated).toBe(false);
  });

  it('sends a browser form post on to the provider\'s end-session page', async () => {
    const { browser, csrf } = await loggedIn('alice');
    const res = await browser.post(`${sb.url}/auth/logout`, { _csrf: csrf }, { accept: 'text/html' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(new RegExp(`^${sb.oidc.issuer}/`));
    expect(browser.cookies.has('session')).toBe(false);
  });
});

describe('refused logins make no session', () => {
  it('refuses a callback whose state matches no login in progress (400)', async () => {
    const browser = new Browser();
    const before = await sessionCount();
    const { callback } = await loginAtProvider(sb, browser, { username: 'alice', password: 'alice' });
    const forged = new URL(callback);
    forged.searchParams.set('state', randomBytes(32).toString('base64url'));
    const res = await browser.get(sb.callbackHere(forged));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { msg: string }).msg).toMatch(/state/);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('session='))).toBe(false);
    expect(await sessionCount()).toBe(before);
  });

  it('refuses a replayed callback (the state was used up) and makes no second session', async () => {
    const browser = new Browser();
    const { callback } = await loginAtProvider(sb, browser, { username: 'alice', password: 'alice' });
    expect((await browser.get(sb.callbackHere(callback))).status).toBe(303);
    const after = await sessionCount();
    const replay = await browser.get(sb.callbackHere(callback));
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { msg: string }).msg).toMatch(/already completed/);
    expect(replay.headers.getSetCookie().some((c) => c.startsWith('session='))).toBe(false);
    expect(await sessionCount()).toBe(after);
  });

  it('refuses a callback opened in another browser than the one that started the login (login CSRF)', async () => {
    const attacker = new Browser();
    const { callback } = await loginAtProvider(sb, attacker, { username: 'bob', password: 'bob' });
    const before = await sessionCount();
    const victim = new Browser();
    const res = await victim.get(sb.callbackHere(callback));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { msg: string }).msg).toMatch(/another browser/);
    expect(victim.cookies.has('session')).toBe(false);
    expect(await sessionCount()).toBe(before);
  });

  it('explains error=access_denied (the user cancelled), as a page for a browser', async () => {
    const browser = new Browser();
    const before = await sessionCount();
    const { callback } = await loginAtProvider(sb, browser, { username: '', password: '', cancel: true });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const res = await browser.request(sb.callbackHere(callback), { headers: { accept: 'text/html' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toMatch(/access_denied/);
    expect(browser.cookies.has('session')).toBe(false);
    expect(await sessionCount()).toBe(before);
  });

  it.each(['https://evil.example', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 'http://127.0.0.1:1/x'])('refuses return_to=%s', async (returnTo) => {
    const res = await fetch(`${sb.url}/auth/login?return_to=${encodeURIComponent(returnTo)}`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(((await res.json()) as { msg: string }).msg).toMatch(/return_to/);
  });
});

describe('what is stored', () => {
  it('keeps only the hash of the cookie and sealed tokens; pending logins are gone after the callback', async () => {
    // Earlier tests leave unfinished logins behind on purpose (they expire on their own).
    await sb.ds.query('DELETE FROM pending_logins');
    const { cookie } = await loggedIn('alice');
    const row = (await sessionRow(cookie))!;
    expect(row.id).toBe(createHash('sha256').update(cookie).digest('hex'));
    const dump = JSON.stringify(await sb.ds.query('SELECT * FROM sessions'));
    expect(dump).not.toContain(cookie);
    expect(dump).not.toMatch(JWT); // no JWT (access token) in the clear anywhere
    expect(row.access_token_sealed).toMatch(/^v1\./);
    expect(row.refresh_token_sealed).toMatch(/^v1\./);
    const accessToken = sb.box.open(row.access_token_sealed as string);
    const refreshToken = sb.box.open(row.refresh_token_sealed as string);
    expect(accessToken).toMatch(/^eyJ/);
    expect(dump).not.toContain(accessToken);
    expect(dump).not.toContain(refreshToken);
    expect((row.id_token_claims as { sub: string }).sub).toBe('alice');
    expect(await sb.ds.query('SELECT * FROM pending_logins')).toEqual([]);
  });

  it('keeps a pending login with a hashed state and a sealed code_verifier only', async () => {
    const browser = new Browser();
    const start = await browser.get(`${sb.url}/auth/login`);
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const rows = (await sb.ds.query('SELECT * FROM pending_logins WHERE state_hash = $1', [createHash('sha256').update(state).digest('hex')])) as Record<string, string>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.code_verifier_sealed).toMatch(/^v1\./);
    expect(rows[0]!.return_to).toBe('/');
    expect(JSON.stringify(await sb.ds.query('SELECT * FROM pending_logins'))).not.toContain(state);
  });
});

describe('silent refresh', () => {
  it('refreshes an access token that is about to expire, on the next request', async () => {
    const { browser, cookie } = await loggedIn('alice');
    const before = (await sessionRow(cookie))!;
    await sb.ds.query(`UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE id = $1`, [before.id]);

    const res = await browser.get(`${sb.url}/api/v1/me`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { subject: string }).subject).toBe('alice');
    const after = (await sessionRow(cookie))!;
    expect(new Date(after.expires_at as string).getTime()).toBeGreaterThan(Date.now() + 60_000);
    expect(after.refreshed_at).not.toBeNull();
    expect(sb.box.open(after.access_token_sealed as string)).not.toBe(sb.box.open(before.access_token_sealed as string));
  });

  it('serves concurrent requests that all find the token due (one refresh, shared)', async () => {
    const { browser, cookie } = await loggedIn('alice');
    const id = createHash('sha256').update(cookie).digest('hex');
    await sb.ds.query(`UPDATE sessions SET expires_at = now() + interval '10 seconds' WHERE id = $1`, [id]);
    const answers = await Promise.all(Array.from({ length: 5 }, () => browser.get(`${sb.url}/api/v1/me`)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    await Promise.all(answers.map((r) => r.arrayBuffer()));
    const info = (await (await browser.get(`${sb.url}/auth/session`)).json()) as SessionInfo;
    expect(Date.parse(info.expires_at!)).toBeGreaterThan(Date.now() + 60_000);
  });

  it('ends the session when the provider refuses the refresh token: 401 and the cookie is cleared', async () => {
    const { browser, cookie } = await loggedIn('alice');
    const id = createHash('sha256').update(cookie).digest('hex');
    await sb.ds.query(`UPDATE sessions SET expires_at = now() - interval '1 minute', refresh_token_sealed = $2 WHERE id = $1`, [id, sb.box.seal('revoked-or-bogus')]);
    const res = await browser.get(`${sb.url}/api/v1/me`);
    expect(res.status).toBe(401);
    expect(browser.cookies.has('session')).toBe(false);
    expect(await sessionRow(cookie)).toBeUndefined();
  });

  it('ends a session whose access token expired when there is no refresh token (log in again)', async () => {
    const { browser, cookie } = await loggedIn('alice');
    const id = createHash('sha256').update(cookie).digest('hex');
    await sb.ds.query(`UPDATE sessions SET expires_at = now() - interval '1 second', refresh_token_sealed = NULL WHERE id = $1`, [id]);
    const info = (await (await browser.get(`${sb.url}/auth/session`)).json()) as SessionInfo;
    expect(info.authenticated).toBe(false);
    expect(await sessionRow(cookie)).toBeUndefined();
  });
});
