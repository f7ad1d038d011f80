/**
 * Load functions and form actions against a real broker (throwaway database, dev provider, real
 * login): what the portal's server reads with a browser's session cookie, and how API refusals
 * become error pages carrying the API's message.
 */
import { isHttpError, isRedirect } from '@sveltejs/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSessionBroker, portalLogin, type SessionBroker } from '@ibroker/broker/auth/session/test-support';
import { Browser } from '@ibroker/broker/dev/test-support';
import { env } from '$env/dynamic/private';
import { fetchSession, forwardedCookie, type SessionInfo } from './broker';

let sb: SessionBroker;
let cookie = '';
let session: SessionInfo;

/** The parts of a SvelteKit RequestEvent the portal's loads read. */
function event(path: string, params: Record<string, string> = {}, init: RequestInit = {}) {
  const url = new URL(path, sb.url);
  const request = new Request(url, { ...init, headers: { cookie, ...(init.headers as Record<string, string>) } });
  return { request, url, params, locals: { session }, getClientAddress: () => '203.0.113.9' } as never;
}

async function expectError(p: Promise<unknown>, status: number, message: RegExp): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(isHttpError(err)).toBe(true);
  expect((err as { status: number }).status).toBe(status);
  expect((err as { body: { message: string } }).body.message).toMatch(message);
}

beforeAll(async () => {
  sb = await startSessionBroker();
  // What adapter-node fills in from the environment at start (the embedded broker sets it to itself).
  env.BROKER_URL = sb.url;
  const browser = new Browser();
  await portalLogin(sb, browser, { username: 'alice', password: 'alice' });
  cookie = `session=${browser.cookies.get('session')!.value}; login=other; tracker=x`;
  session = await fetchSession({ request: new Request(sb.url, { headers: { cookie } }) }, sb.url);
});

afterAll(async () => {
  await sb?.close();
});

describe('portal server: loads and actions on the broker’s APIs', () => {
  it('forwards only the session cookie, and reads the session without a token', () => {
    expect(forwardedCookie(cookie)).toBe(cookie.split(';')[0]);
    expect(forwardedCookie('a=1; b=2')).toBeNull();
    expect(session.authenticated).toBe(true);
    expect(session.subject).toBe('alice');
    expect(session.csrf_token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(JSON.stringify(session)).not.toMatch(/eyJ/);
  });

  it('who-am-I: alice’s accepted visas and permissions', async () => {
    const { load } = await import('../../routes/me/+page.server');
    const data = (await load(event('/me'))) as { me: { subject: string; visas: { type: string }[]; permissions: { submit_runs: boolean; read_audit: boolean } } };
    expect(data.me.subject).toBe('alice');
    expect(data.me.visas.map((v) => v.type)).toContain('ControlledAccessGrants');
    expect(data.me.permissions).toMatchObject({ submit_runs: true, read_audit: false });
  });

  it('the audit trail refuses alice with the API’s 403 message; a lapsed login goes to /auth/login', async () => {
    const { load } = await import('../../routes/admin/audit/+page.server');
    await expectError(Promise.resolve().then(() => load(event('/admin/audit'))), 403, /administrators/i);
    const anonymous = { ...(event('/admin/audit?action=run.*') as object), locals: { session: { authenticated: false } } } as never;
    const redirect = await Promise.resolve().then(() => load(anonymous)).catch((e: unknown) => e);
    expect(isRedirect(redirect)).toBe(true);
    expect((redirect as { location: string }).location).toBe('/auth/login?return_to=%2Fadmin%2Faudit%3Faction%3Drun.*');
  });

  it('an unknown run is the API’s 404, not a crash', async () => {
    const { load } = await import('../../routes/runs/[id]/+page.server');
    await expectError(Promise.resolve().then(() => load(event('/runs/00000000-0000-4000-8000-000000000000', { id: '00000000-0000-4000-8000-000000000000' }))), 404, /not found|no run|00000000/i);
  });

  it('settings: stores a token with the CSRF token, never echoes it, and the broker refuses without one', async () => {
    const { actions, load } = await import('../../routes/settings/+page.server');
    const form = (fields: Record<string, string>) =>
      event('/settings?/save', {}, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const refused = (await actions.save!(form({ backend_id: 'mis2', secret: 'tok-123456' }))) as { status: number; data: { message: string } };
    expect(refused.status).toBe(403);
    expect(refused.data.message).toContain('CSRF token');
    const stored = (await actions.save!(form({ backend_id: 'mis2', secret: 'tok-123456', label: 'mine', _csrf: session.csrf_token! }))) as { message: string };
    expect(stored.message).toMatch(/^Stored your token for mis2 \(fingerprint sha256:[0-9a-f]{8}\)\.$/);
    expect(JSON.stringify(stored)).not.toContain('tok-123456');
    const data = (await load(event('/settings'))) as { credentials: { backend_id: string; label: string | null }[] };
    expect(data.credentials).toMatchObject([{ backend_id: 'mis2', label: 'mine' }]);
    expect(JSON.stringify(data)).not.toContain('tok-123456');
  });

  it('dashboard: counts and backend health from WES and the broker API', async () => {
    const { load } = await import('../../routes/+page.server');
    const data = (await load(event('/'))) as { dashboard: { total: number; backends: { id: string; healthy: boolean }[] } };
    expect(data.dashboard.total).toBe(0);
    expect(data.dashboard.backends.map((b) => b.id).sort()).toEqual(['afrigen', 'mis2']);
  });

  it('dashboard cards carry each backend’s status and response time', async () => {
    const { load } = await import('../../routes/+page.server');
    const data = (await load(event('/'))) as { dashboard: { backends: { id: string; status: string; health: { latency_ms: number | null } | null }[] } };
    for (const b of data.dashboard.backends) {
      expect(['up', 'slow', 'down', 'deactivated', 'disabled', 'unknown']).toContain(b.status);
      expect(b.health).not.toBeNull();
    }
  });

  it('services: location, limits, health history, and the recommendation for AFR, hg38 with reasons', async () => {
    const { load } = await import('../../routes/services/+page.server');
    const data = (await load(event('/services?ancestry=afr&rbuild=hg38'))) as {
      backends: { id: string; detail: { limits: { max_concurrent_jobs: number } } | null; health: { history: unknown[] } | null }[];
      recommend: { ancestry: string; result: { recommendations: { backend: string; panel: { id: string }; reasons: string[] }[] } | null };
    };
    expect(data.backends.every((b) => b.detail !== null && b.detail.limits.max_concurrent_jobs > 0 && b.health !== null)).toBe(true);
    expect(data.recommend.ancestry).toBe('AFR');
    const first = data.recommend.result!.recommendations[0]!;
    expect(first.panel.id).toMatch(/h3africa/i);
    expect(first.reasons.length).toBeGreaterThan(0);
  });

  it('settings: webhooks and e-mail preferences need the CSRF token and say the API’s refusal in words', async () => {
    const { actions, load } = await import('../../routes/settings/+page.server');
    const form = (action: string, fields: Record<string, string>) =>
      event(`/settings?/${action}`, {}, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const noToken = (await actions.webhook!(form('webhook', { url: 'https://hooks.example.org/x', events: 'run.terminal' }))) as { status: number; data: { message: string } };
    expect(noToken.status).toBe(403);
    const http = (await actions.webhook!(form('webhook', { url: 'http://127.0.0.1:9/x', events: 'run.terminal', _csrf: session.csrf_token! }))) as { status: number; data: { message: string } };
    expect(http.status).toBe(400);
    expect(http.data.message).toMatch(/https/);
    const mail = (await actions.notifications!(form('notifications', { email: 'alice@example.org', on_failure: 'on', _csrf: session.csrf_token! }))) as { message: string };
    expect(mail.message).toBe('Saved: an e-mail to alice@example.org when a run fails.');
    const data = (await load(event('/settings'))) as { webhooks: unknown[]; notifications: { on_failure: boolean; on_complete: boolean } };
    expect(data.webhooks).toEqual([]);
    expect(data.notifications).toMatchObject({ on_failure: true, on_complete: false });
  });

  it('administration of services is refused to alice in words; the admin actions need the role too', async () => {
    const { load, actions } = await import('../../routes/admin/backends/+page.server');
    await expectError(Promise.resolve().then(() => load(event('/admin/backends'))), 403, /for administrators/);
    const res = (await actions.disable!(
      event('/admin/backends?/disable', {}, { method: 'POST', body: new URLSearchParams({ id: 'mis2', _csrf: session.csrf_token! }), headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    )) as { status: number; data: { message: string } };
    expect(res.status).toBe(403);
    expect(res.data.message).not.toBe('');
  });

  it('a run by reference takes only drs:// URIs, and the broker’s message comes back for an unknown object', async () => {
    const { POST } = await import('../../routes/runs/new/submit/+server');
    const post = async (body: unknown) => {
      const res = await POST(event('/runs/new/submit', {}, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }));
      return { status: res.status, body: (await res.json()) as { msg?: string; run_id?: string } };
    };
    expect((await post({ params: { refpanel: '1000g-phase-3-v5' }, files: ['https://example.org/x.vcf.gz'], csrf: session.csrf_token })).body.msg).toMatch(/Not a drs:\/\/ URI/);
    expect((await post({ params: {}, files: 'nope' })).status).toBe(400);
    const unknown = await post({ params: { refpanel: '1000g-phase-3-v5' }, files: [`drs://${new URL(sb.url).host}/00000000-0000-4000-8000-000000000000`], csrf: session.csrf_token });
    expect(unknown.status).toBeGreaterThanOrEqual(400);
    expect(unknown.status).toBeLessThan(500);
    expect(unknown.body.msg).toBeTruthy();
  });
});
