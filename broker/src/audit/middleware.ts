/**
 * Where a request came from, for the audit trail: client address, user agent, request id.
 *
 * X-Forwarded-For is read only when the broker is told it sits behind proxies (`trustProxy`),
 * because any client can send that header. Even then the left-most entry is the client's own
 * claim; the trustworthy one is the entry the nearest trusted proxy appended, counted from the
 * right: `trustProxy: true` means one proxy (the last entry), a number means that many hops.
 */
import { isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

export interface AuditSource {
  source_ip: string | null;
  user_agent: string | null;
  request_id: string | null;
}

export interface AuditSourceOptions {
  /** Proxies in front of the broker: `false` (default) ignores X-Forwarded-For; `true` = 1. */
  trustProxy?: boolean | number;
}

export const MAX_USER_AGENT_LENGTH = 512;

/** What app.ts accepts as an incoming X-Request-Id; anything else was replaced there. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function auditSource(c: Context, options: AuditSourceOptions = {}): AuditSource {
  return {
    source_ip: clientAddress(c, proxyHops(options.trustProxy)),
    user_agent: truncate(c.req.header('user-agent'), MAX_USER_AGENT_LENGTH),
    request_id: requestId(c),
  };
}

function proxyHops(trustProxy: boolean | number | undefined): number {
  if (trustProxy === true) return 1;
  if (typeof trustProxy === 'number' && Number.isInteger(trustProxy) && trustProxy > 0) return trustProxy;
  return 0;
}

function clientAddress(c: Context, hops: number): string | null {
  if (hops > 0) {
    const chain = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    // With n trusted proxies the client is the n-th entry from the right; a shorter chain means
    // the request reached us through fewer proxies, so its first entry is the best we know.
    const candidate = chain.length === 0 ? undefined : chain[Math.max(0, chain.length - hops)];
    const ip = candidate === undefined ? null : normalizeIp(candidate);
    if (ip) return ip;
  }
  return socketAddress(c);
}

function socketAddress(c: Context): string | null {
  try {
    return normalizeIp(getConnInfo(c).remote.address ?? '');
  } catch {
    // Not served by @hono/node-server (app.request() in tests, another runtime): no socket.
    return null;
  }
}

/** A plain IPv4/IPv6 address PostgreSQL's inet accepts, or null. */
export function normalizeIp(raw: string): string | null {
  let s = raw.trim();
  // "[2001:db8::1]:443" and "192.0.2.1:8080" as some proxies write them.
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracketed) s = bracketed[1]!;
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  // inet has no zone index ("fe80::1%eth0").
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  return isIP(s) ? s : null;
}

function requestId(c: Context): string | null {
  const set: unknown = c.get('requestId');
  if (typeof set === 'string' && REQUEST_ID.test(set)) return set;
  const header = c.req.header('x-request-id');
  return header && REQUEST_ID.test(header) ? header : null;
}

/** Cuts at a code point, never inside a surrogate pair; NUL (which PostgreSQL text refuses) goes. */
export function truncate(value: string | null | undefined, max: number): string | null {
  if (value === undefined || value === null) return null;
  const clean = value.replace(/\u0000/g, '');
  if (clean.length <= max) return clean;
  return Array.from(clean).slice(0, max).join('');
}
