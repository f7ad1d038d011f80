import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningServer } from '../auth/test-support';
import type { Provider } from 'oidc-provider';
import { createInteractionHandler, escapeHtml } from './interactions';
import type { DevOidc } from './oidc';
import { Browser, authorizeUrl, follow, pkcePair, startMounted } from './test-support';

const CALLBACK = 'http://localhost:8080/auth/callback';

/** Starts an authorization request and stops at the login form; returns its URL. */
async function openLoginForm(browser: Browser, oidc: DevOidc): Promise<{ formUrl: string; page: Response }> {
  const page = await follow(browser, authorizeUrl(oidc, { clientId: 'portal', redirectUri: CALLBACK, challenge: pkcePair().challenge }), CALLBACK);
  if (page instanceof URL) throw new Error(`no login form, went to ${page.href}`);
  return { formUrl: page.url, page };
}

async function submit(browser: Browser, formUrl: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return browser.post(formUrl, form, headers);
}

describe('dev provider login pages', () => {
  let server: RunningServer;
  let oidc: DevOidc;

  beforeAll(async () => {
    ({ server, oidc } = await startMounted());
  });
  afterAll(() => server.close());

  it('shows a login form under the mount path, unframeable and uncached', async () => {
    const { formUrl, page } = await openLoginForm(new Browser(), oidc);
    expect(new URL(formUrl).pathname).toMatch(/^\/oidc\/interaction\/[A-Za-z0-9_-]+$/);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(html).toContain('<form method="post"');
    expect(html).toContain('name="password" type="password"');
    expect(html).toContain('portal');
  });

  it('lets the user try again after a wrong password', async () => {
    const browser = new Browser();
    const { formUrl } = await openLoginForm(browser, oidc);
    const wrong = await submit(browser, formUrl, { username: 'alice', password: 'wrong' });
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('location')).toBeNull();
    expect(await wrong.text()).toContain('value="alice"');
    const unknown = await submit(browser, formUrl, { username: 'mallory', password: 'mallory' });
    expect(unknown.status).toBe(403);
    await unknown.text();

    const right = await submit(browser, formUrl, { username: 'alice', password: 'alice' });
    expect(right.status).toBe(303);
    const end = await follow(browser, new URL(right.headers.get('location')!, formUrl).href, CALLBACK);
    expect(end).toBeInstanceOf(URL);
    expect((end as URL).searchParams.get('code')).toBeTruthy();
  });

  it('escapes what it echoes', async () => {
    const browser = new Browser();
    const { formUrl } = await openLoginForm(browser, oidc);
    const res = await submit(browser, formUrl, { username: '"><script>alert(1)</script>', password: 'x' });
    const html = await res.text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;');
  });

  it('refuses a post from another origin', async () => {
    const browser = new Browser();
    const { formUrl } = await openLoginForm(browser, oidc);
    const res = await submit(browser, formUrl, { username: 'alice', password: 'alice' }, { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('only be sent from this site');
  });

  it('refuses a post without the interaction cookie (cross-site, or another browser)', async () => {
    const { formUrl } = await openLoginForm(new Browser(), oidc);
    const res = await submit(new Browser(), formUrl, { username: 'alice', password: 'alice' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('no longer valid');
  });

  it('refuses an interaction cookie that belongs to another interaction', async () => {
    const victim = await openLoginForm(new Browser(), oidc);
    const attacker = new Browser();
    const own = await openLoginForm(attacker, oidc);
    // The attacker's own (valid) cookie, sent to the victim's interaction URL.
    for (const name of ['_interaction', '_interaction.sig']) {
      const cookie = attacker.cookies.get(name);
      expect(cookie).toBeDefined();
      attacker.cookies.set(name, { ...cookie!, path: new URL(victim.formUrl).pathname });
    }
    expect(own.formUrl).not.toBe(victim.formUrl);
    const res = await submit(attacker, victim.formUrl, { username: 'alice', password: 'alice' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  it('sends the user back with access_denied on cancel', async () => {
    const browser = new Browser();
    const { formUrl } = await openLoginForm(browser, oidc);
    const res = await submit(browser, formUrl, { action: 'cancel' });
    expect(res.status).toBe(303);
    const end = await follow(browser, new URL(res.headers.get('location')!, formUrl).href, CALLBACK);
    expect((end as URL).searchParams.get('error')).toBe('access_denied');
    expect((end as URL).searchParams.get('code')).toBeNull();
  });

  it('answers 404 off the interaction paths and 405 to other methods', async () => {
    expect((await fetch(`${server.url}/oidc/interaction/abc/def`)).status).toBe(404);
    expect((await fetch(`${server.url}/oidc/interaction/abc`, { method: 'PUT' })).status).toBe(405);
  });
});

describe('consent', () => {
  it('is refused for a client that is not first-party', async () => {
    const interactionFinished = vi.fn(async () => undefined);
    const provider = {
      interactionDetails: async () => ({
        uid: 'u1',
        prompt: { name: 'consent', reasons: [], details: { missingOIDCScope: ['openid'] } },
        params: { client_id: 'third-party' },
        session: { accountId: 'alice' },
        returnTo: 'http://x/auth/u1',
      }),
      interactionFinished,
    } as unknown as Provider;
    const handler = createInteractionHandler({ provider, firstPartyClients: new Set(['portal']) });
    const req = { method: 'GET', headers: {} } as IncomingMessage;
    await handler.handle(req, {} as ServerResponse, '/interaction/u1');
    expect(interactionFinished).toHaveBeenCalledWith(req, expect.anything(), expect.objectContaining({ error: 'access_denied' }), { mergeWithLastSubmission: false });
  });
});

describe('escapeHtml', () => {
  it('escapes the five HTML specials', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });
});
