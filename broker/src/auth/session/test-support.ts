/**
 * A real broker with the portal login in front, for tests: the dev OIDC provider, the broker's own
 * app and database, and `sessionAuth` + the `/auth/*` routes composed exactly as app.ts is to do
 * it (`app.use('*', sessionAuth.middleware)` before every route, then `registerAuthRoutes`).
 *
 * Until the broker itself serves `/auth/*`, the composition runs on a second loopback server in
 * front of the broker's app; the identity provider still redirects to `<broker>/auth/callback`
 * (the only redirect URI it knows), and `callbackHere` moves that URL to the front server, which
 * is what a reverse proxy would do. Once the broker serves `/auth/session` itself, the tests run
 * against it directly.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import type { DataSource } from 'typeorm';
import { registerAuthRoutes } from '../../api/auth_routes';
import { createApp } from '../../app';
import { loadOrCreateKeyRing, type KeyRing } from '../../crypto/box';
import { PORTAL_SERVER_CLIENT, type DevOidc } from '../../dev/oidc';
import { Browser, follow } from '../../dev/test-support';
import type { AppEnv } from '../../http/context';
import { startTestBroker, type TestBroker, type TestBrokerOptions } from '../../testing/broker';
import { createPortalLogin } from './index';

export interface SessionBroker {
  tb: TestBroker;
  /** Where the browser talks to the broker (APIs and `/auth/*`). */
  url: string;
  /** The redirect URI registered at the dev provider. */
  redirectUri: string;
  oidc: DevOidc;
  ds: DataSource;
  /** The broker's key ring, to look inside sealed columns. */
  box: KeyRing;
  /** The identity provider's redirect to the callback, as the browser would send it to `url`. */
  callbackHere(callback: URL): string;
  close(): Promise<void>;
}

export async function startSessionBroker(options: TestBrokerOptions = {}): Promise<SessionBroker> {
  const tb = await startTestBroker(options);
  const oidc = tb.broker.devOidc!;
  const redirectUri = `${tb.url}/auth/callback`;
  const ds = tb.broker.deps.ds;
  const box = loadOrCreateKeyRing(tb.broker.deps.config.secretKey, join(resolve(tb.dataDir), 'secret.key'));
  const wired = (await fetch(`${tb.url}/auth/session`)).status !== 404;
  let front: Server | null = null;
  let url = tb.url;
  if (!wired) {
    const portalLogin = createPortalLogin({
      ds,
      box,
      publicUrl: tb.url,
      oidc: {
        issuer: oidc.issuer,
        clientId: PORTAL_SERVER_CLIENT.clientId,
        clientSecret: PORTAL_SERVER_CLIENT.clientSecret,
        redirectUri,
        scopes: ['openid', 'ga4gh_passport_v1', 'wes'],
      },
      log: tb.broker.deps.log,
      ...(tb.broker.deps.audit ? { audit: tb.broker.deps.audit } : {}),
    });
    const app = new Hono<AppEnv>();
    app.use('*', portalLogin.sessionAuth.middleware);
    registerAuthRoutes(app, { portalLogin, log: tb.broker.deps.log, ...(tb.broker.deps.audit ? { audit: tb.broker.deps.audit } : {}) });
    app.route('/', createApp(tb.broker.deps));
    const server = createServer(getRequestListener(app.fetch));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    front = server;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  return {
    tb,
    url,
    redirectUri,
    oidc,
    ds,
    box,
    callbackHere: (callback) => `${url}${callback.pathname}${callback.search}`,
    async close() {
      if (front) await new Promise((res) => front!.close(() => res(undefined)));
      await tb.close();
    },
  };
}

export interface PortalLoginRun {
  /** `GET /auth/login` answer (302 to the identity provider). */
  start: Response;
  /** The identity provider's redirect back (code + state), not yet followed. */
  callback: URL;
}

/**
 * `GET /auth/login`, then the dev provider's real login form with these credentials (or its Cancel
 * button), up to the redirect back to the broker, which is returned unfollowed.
 */
export async function loginAtProvider(
  sb: SessionBroker,
  browser: Browser,
  o: { username: string; password: string; returnTo?: string; cancel?: boolean },
): Promise<PortalLoginRun> {
  const start = await browser.get(`${sb.url}/auth/login${o.returnTo !== undefined ? `?return_to=${encodeURIComponent(o.returnTo)}` : ''}`);
  const location = start.headers.get('location');
  if (start.status !== 302 || location === null) throw new Error(`/auth/login answered ${start.status}`);
  const form = await follow(browser, location, sb.redirectUri);
  if (form instanceof URL) return { start, callback: form };
  if (form.status !== 200) throw new Error(`login form answered ${form.status}`);
  await form.text();
  const posted = await browser.post(form.url, o.cancel ? { action: 'cancel' } : { username: o.username, password: o.password, action: 'login' });
  const next = posted.headers.get('location');
  if (next === null) throw new Error(`login form post answered ${posted.status} without a redirect`);
  await posted.arrayBuffer();
  const end = await follow(browser, new URL(next, form.url).href, sb.redirectUri);
  if (!(end instanceof URL)) throw new Error(`the provider did not redirect back (HTTP ${end.status})`);
  return { start, callback: end };
}

/** The whole login: provider, then the callback; returns the callback's answer. */
export async function portalLogin(sb: SessionBroker, browser: Browser, o: { username: string; password: string; returnTo?: string }): Promise<Response> {
  const { callback } = await loginAtProvider(sb, browser, o);
  return browser.get(sb.callbackHere(callback));
}
