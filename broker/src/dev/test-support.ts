/**
 * Test helpers for the dev provider's user flows: the provider mounted under `/oidc` on a real
 * loopback server (as the broker mounts it), and a tiny "browser" (fetch + cookie jar + manual
 * redirects) that walks the authorization-code flow through the login and consent interactions.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { listen, type RunningServer } from '../auth/test-support';
import { createDevOidcProvider, type DevOidc, type DevOidcOptions } from './oidc';

export interface Mounted {
  server: RunningServer;
  oidc: DevOidc;
  audience: string;
}

/** One node server: `/oidc/*` to the provider, everything else to a stub answering 418. */
export async function startMounted(options: Partial<DevOidcOptions> = {}): Promise<Mounted> {
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

interface Cookie {
  value: string;
  path: string;
}

/** Cookies by name (one host only, which is all these tests use), sent when the path matches. */
export class Browser {
  readonly cookies = new Map<string, Cookie>();

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const { pathname } = new URL(url);
    const cookie = [...this.cookies]
      .filter(([, c]) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
    const headers = new Headers(init.headers);
    if (cookie !== '') headers.set('cookie', cookie);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) this.store(line);
    return res;
  }

  get(url: string): Promise<Response> {
    return this.request(url);
  }

  post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form),
    });
  }

  private store(line: string): void {
    const [pair = '', ...attrs] = line.split(';').map((p) => p.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = '/';
    let expired = value === '';
    for (const attr of attrs) {
      const [k = '', v = ''] = attr.split('=');
      if (k.toLowerCase() === 'path') path = v;
      if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      if (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now()) expired = true;
    }
    if (expired) this.cookies.delete(name);
    else this.cookies.set(name, { value, path });
  }
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface AuthorizeOptions {
  clientId: string;
  redirectUri: string;
  scope?: string;
  /** Omit to leave PKCE out of the request. */
  challenge?: string;
  state?: string;
}

export function authorizeUrl(oidc: DevOidc, o: AuthorizeOptions): string {
  const params = new URLSearchParams({
    client_id: o.clientId,
    response_type: 'code',
    redirect_uri: o.redirectUri,
    scope: o.scope ?? 'openid ga4gh_passport_v1 wes',
    state: o.state ?? 'state-123',
    nonce: 'nonce-123',
  });
  if (o.challenge !== undefined) {
    params.set('code_challenge', o.challenge);
    params.set('code_challenge_method', 'S256');
  }
  return `${oidc.authorizationEndpoint}?${params}`;
}

/**
 * Follows redirects from `url` like a browser until one leaves for `redirectUri` (returned as a URL)
 * or a page answers without a redirect (returned as the response).
 */
export async function follow(browser: Browser, url: string, redirectUri: string, hops: string[] = []): Promise<URL | Response> {
  let next = url;
  for (let i = 0; i < 10; i++) {
    if (next.startsWith(redirectUri)) return new URL(next);
    const res = await browser.get(next);
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || location === null) return res;
    await res.arrayBuffer();
    next = new URL(location, next).href;
    hops.push(new URL(next).pathname);
  }
  throw new Error('too many redirects');
}

export interface LoginResult {
  /** The final redirect to the client, if the flow got there. */
  callback?: URL;
  /** The last page shown when it did not. */
  page?: Response;
  /** Paths visited after the login form was posted (to see the consent interaction). */
  hops: string[];
}

/** Authorization request, login form, credentials, consent, back to the client. */
export async function login(
  browser: Browser,
  oidc: DevOidc,
  o: AuthorizeOptions & { username: string; password: string },
): Promise<LoginResult> {
  const first = await follow(browser, authorizeUrl(oidc, o), o.redirectUri);
  if (first instanceof URL) return { callback: first, hops: [] };
  if (first.status !== 200) return { page: first, hops: [] };
  const formUrl = first.url;
  await first.text();
  const posted = await browser.post(formUrl, { username: o.username, password: o.password, action: 'login' });
  const location = posted.headers.get('location');
  if (location === null) return { page: posted, hops: [] };
  await posted.arrayBuffer();
  const hops: string[] = [];
  const end = await follow(browser, new URL(location, formUrl).href, o.redirectUri, hops);
  return end instanceof URL ? { callback: end, hops } : { page: end, hops };
}

export interface TokenResponse {
  access_token: string;
  id_token?: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

/** Authorization code for tokens; `secret` for the confidential client (HTTP Basic). */
export async function redeemCode(
  oidc: DevOidc,
  o: { clientId: string; secret?: string; code: string; redirectUri: string; verifier?: string },
): Promise<Response> {
  const form: Record<string, string> = { grant_type: 'authorization_code', code: o.code, redirect_uri: o.redirectUri };
  if (o.verifier !== undefined) form.code_verifier = o.verifier;
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (o.secret !== undefined) headers.authorization = `Basic ${Buffer.from(`${o.clientId}:${o.secret}`).toString('base64')}`;
  else form.client_id = o.clientId;
  return fetch(oidc.tokenEndpoint, { method: 'POST', headers, body: new URLSearchParams(form) });
}

/** The whole flow for a user: a Passport-Scoped Access Token (and the rest of the token response). */
export async function userTokens(
  oidc: DevOidc,
  o: { username: string; password: string; clientId?: string; secret?: string; redirectUri?: string; scope?: string },
): Promise<TokenResponse> {
  const clientId = o.clientId ?? 'portal';
  const redirectUri = o.redirectUri ?? 'http://localhost:8080/auth/callback';
  const { verifier, challenge } = pkcePair();
  const { callback } = await login(new Browser(), oidc, { ...o, clientId, redirectUri, challenge });
  const code = callback?.searchParams.get('code');
  if (code === null || code === undefined) throw new Error('login failed');
  const res = await redeemCode(oidc, { clientId, ...(o.secret !== undefined ? { secret: o.secret } : {}), code, redirectUri, verifier });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as TokenResponse;
}
