/**
 * Opaque (non-JWT) access tokens: the issuer says whether one is active, by RFC 7662
 * introspection (preferred: it gives expiry, scope and audience) or by answering UserInfo.
 * Answers are cached by a SHA-256 of the token, never the token, until it expires (5 min at most,
 * so a revocation takes effect within that bound).
 */
import { createHash } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { AuthError } from './errors';
import type { Principal } from './principal';

export interface OpaqueTokenSource {
  /** The issuer the principal is attributed to (the owner key uses it). */
  issuer: string;
  introspection?: { endpoint: string; clientId: string; clientSecret: string };
  userinfoEndpoint?: string;
  /** Required `aud` in the introspection answer, when it gives one. */
  audience?: string | string[];
}

const MAX_CACHE = 10_000;
const MAX_CACHE_SEC = 300;

export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token);
}

export function createOpaqueVerifier(sources: OpaqueTokenSource[], fetchTimeoutMs: number, now: () => number = Date.now) {
  const cache = new Map<string, { principal: Principal; until: number }>();
  const remember = (key: string, principal: Principal, untilMs: number) => {
    if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value!);
    cache.set(key, { principal, until: Math.min(untilMs, now() + MAX_CACHE_SEC * 1000) });
  };

  async function ask(source: OpaqueTokenSource, token: string): Promise<{ principal: Principal; untilMs: number } | null> {
    const signal = AbortSignal.timeout(fetchTimeoutMs);
    let res: Response;
    try {
      if (source.introspection) {
        const { endpoint, clientId, clientSecret } = source.introspection;
        res = await fetch(endpoint, {
          method: 'POST',
          signal,
          headers: {
            Authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
            'Content-Type': 'application/x-www-form-urlencoded',
            Accept: 'application/json',
          },
          body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        });
      } else if (source.userinfoEndpoint) {
        res = await fetch(source.userinfoEndpoint, { signal, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
      } else {
        return null;
      }
    } catch (cause) {
      throw new AuthError('jwks_unavailable', `The issuer ${source.issuer} could not be asked about the access token; try again shortly.`, { cause });
    }
    if (source.introspection) {
      if (!res.ok) throw new AuthError('jwks_unavailable', `The issuer ${source.issuer} answered HTTP ${res.status} to token introspection; try again shortly.`);
      const claims = (await res.json().catch(() => ({}))) as JWTPayload & { active?: unknown; client_id?: unknown; scope?: unknown };
      if (claims.active !== true) return null;
      const nowSec = Math.floor(now() / 1000);
      if (typeof claims.exp === 'number' && claims.exp <= nowSec) return null;
      if (typeof claims.iss === 'string' && claims.iss !== source.issuer) return null;
      if (source.audience !== undefined) {
        const wanted = Array.isArray(source.audience) ? source.audience : [source.audience];
        const got = Array.isArray(claims.aud) ? claims.aud : typeof claims.aud === 'string' ? [claims.aud] : [];
        if (!got.some((a) => wanted.includes(a))) {
          throw new AuthError('wrong_audience', `The access token was issued for another service; this broker accepts tokens for ${wanted.join(' or ')}.`);
        }
      }
      const subject = typeof claims.sub === 'string' && claims.sub ? claims.sub : typeof claims.client_id === 'string' ? claims.client_id : '';
      if (!subject) return null;
      const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
      const principal: Principal = {
        issuer: source.issuer,
        subject,
        ...(typeof claims.client_id === 'string' ? { clientId: claims.client_id } : {}),
        scopes,
        claims,
      };
      return { principal, untilMs: typeof claims.exp === 'number' ? claims.exp * 1000 : now() + 60_000 };
    }
    if (res.status === 401 || res.status === 403) return null;
    if (!res.ok) throw new AuthError('jwks_unavailable', `The issuer ${source.issuer} answered HTTP ${res.status} to UserInfo; try again shortly.`);
    const info = (await res.json().catch(() => ({}))) as JWTPayload;
    if (typeof info.sub !== 'string' || !info.sub) return null;
    // UserInfo says nothing about expiry: ask again after a minute.
    return { principal: { issuer: source.issuer, subject: info.sub, scopes: [], claims: info }, untilMs: now() + 60_000 };
  }

  return {
    enabled: sources.some((s) => s.introspection || s.userinfoEndpoint),
    async verify(token: string): Promise<Principal> {
      const key = createHash('sha256').update(token).digest('hex');
      const hit = cache.get(key);
      if (hit && hit.until > now()) return hit.principal;
      if (hit) cache.delete(key);
      for (const source of sources) {
        const answer = await ask(source, token);
        if (answer) {
          remember(key, answer.principal, answer.untilMs);
          return answer.principal;
        }
      }
      throw new AuthError('expired', 'The access token is not active at its issuer (expired, revoked or unknown). Get a new one.');
    },
  };
}
