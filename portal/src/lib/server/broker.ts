/**
 * The portal's only way to the broker: its public APIs over HTTP, typed from api-spec/ with
 * openapi-fetch. Every call carries the browser's session cookie (and nothing else that could act
 * as a credential); the broker turns it into the same bearer token it checks for any client, so
 * the portal has no privilege of its own and never holds a token.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths as BrokerPaths } from '@ibroker/api-spec/broker';
import type { paths as WesPaths } from '@ibroker/api-spec/wes';
import type { paths as DrsPaths } from '@ibroker/api-spec/drs';
import { env } from '$env/dynamic/private';

/**
 * Where the broker's APIs are, seen from this server: `BROKER_URL` (standalone, e.g.
 * http://broker-api:8080; the embedded broker sets it to its own loopback address).
 */
export function brokerUrl(): string {
  const url = env.BROKER_URL;
  if (!url) throw new Error('BROKER_URL is not set: the portal needs the broker it is a client of (e.g. http://127.0.0.1:8080).');
  return url.replace(/\/+$/, '');
}

/** The broker's session cookies: the only cookies worth forwarding (plain names on http, __Host- on https). */
const FORWARDED_COOKIES = new Set(['session', '__Host-session']);

export function forwardedCookie(cookieHeader: string | null): string | null {
  if (!cookieHeader) return null;
  const kept = cookieHeader
    .split(';')
    .map((p) => p.trim())
    .filter((p) => FORWARDED_COOKIES.has(p.slice(0, p.indexOf('=') === -1 ? p.length : p.indexOf('='))));
  return kept.length ? kept.join('; ') : null;
}

export interface ForwardFrom {
  request: Request;
  getClientAddress?: () => string;
}

/** Headers each call to the broker carries for this browser request. */
export function forwardedHeaders(from: ForwardFrom): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const cookie = forwardedCookie(from.request.headers.get('cookie'));
  if (cookie) headers.cookie = cookie;
  // For the broker's audit trail: who is really asking (it trusts X-Forwarded-For only when its
  // TRUST_PROXY says so).
  const ua = from.request.headers.get('user-agent');
  if (ua) headers['user-agent'] = ua.slice(0, 512);
  try {
    const ip = from.getClientAddress?.();
    if (ip) headers['x-forwarded-for'] = ip;
  } catch {
    // No client address (unit tests, some adapters): the broker records the portal's.
  }
  return headers;
}

export interface Api {
  wes: Client<WesPaths>;
  broker: Client<BrokerPaths>;
  drs: Client<DrsPaths>;
  /** The base URL and headers, for the few calls that stream (uploads, QC report text). */
  base: string;
  headers: Record<string, string>;
}

export function api(from: ForwardFrom, base: string = brokerUrl()): Api {
  const headers = forwardedHeaders(from);
  return {
    wes: createClient<WesPaths>({ baseUrl: `${base}/ga4gh/wes/v1`, headers }),
    broker: createClient<BrokerPaths>({ baseUrl: base, headers }),
    drs: createClient<DrsPaths>({ baseUrl: `${base}/ga4gh/drs/v1`, headers }),
    base,
    headers,
  };
}

/** GET /auth/session (not part of broker.yaml: the login routes are the broker's, outside its API document). */
export interface SessionInfo {
  authenticated: boolean;
  subject: string | null;
  issuer: string | null;
  name?: string;
  expires_at: string | null;
  session_expires_at: string | null;
  /** Not a credential: a synchronizer token bound to the cookie, sent back on writes. */
  csrf_token: string | null;
}

export const ANONYMOUS: SessionInfo = {
  authenticated: false,
  subject: null,
  issuer: null,
  expires_at: null,
  session_expires_at: null,
  csrf_token: null,
};

export async function fetchSession(from: ForwardFrom, base: string = brokerUrl()): Promise<SessionInfo> {
  const headers = forwardedHeaders(from);
  if (!headers.cookie) return ANONYMOUS;
  const res = await fetch(`${base}/auth/session`, { headers });
  if (!res.ok) throw new Error(`GET /auth/session answered ${res.status}`);
  return (await res.json()) as SessionInfo;
}
