/**
 * Who may do what: the caller's passport (visas), obtained the way their issuer offers it and
 * cached by a hash of the token, then the one policy function. Every API asks here, so no route
 * has rules of its own.
 */
import type { Context } from 'hono';
import type { AuditLog } from '../audit/log';
import type { AppEnv } from '../http/context';
import { ApiError } from '../http/errors';
import type { Logger } from '../logging';
import {
  createPassportCache,
  createVisaVerifier,
  evaluatePassport,
  PassportRefusedError,
  verifyPassportToken,
  type PassportCache,
  type PassportResult,
  type PassportTrustInput,
  type VisaRefusal,
  type VisaVerifierOptions,
} from './passport/index';
import { decide, type Action, type Decision, type Policy, type PolicyResource } from './policy/index';

/** How one trusted issuer hands out passports (AAI 1.2): RFC 8693 token exchange, or UserInfo. */
export interface PassportSource {
  issuer: string;
  exchange?: { tokenEndpoint: string; clientId: string; clientSecret: string };
  userinfoEndpoint?: string;
}

export interface AccessOptions {
  policy: Policy;
  trust: PassportTrustInput;
  sources: PassportSource[];
  log: Logger;
  audit?: AuditLog;
  verifier?: Partial<VisaVerifierOptions>;
  cache?: PassportCache;
  fetchTimeoutMs?: number;
}

export interface AccessControl {
  readonly policy: Policy;
  /** The caller's checked visas and the refused ones with their reasons. */
  passport(c: Context<AppEnv>): Promise<PassportResult>;
  /** The policy's decision, without side effects. */
  check(c: Context<AppEnv>, action: Action, resource?: PolicyResource): Promise<Decision>;
  /**
   * Allow or refuse: a refusal is audited and thrown as 403 with the policy's reason (or as
   * `hideAs` when the caller may not even learn the resource exists).
   */
  require(c: Context<AppEnv>, action: Action, resource?: PolicyResource, hideAs?: ApiError): Promise<Decision>;
  /**
   * Passport JWTs sent in a request body (DRS PassportAuth), checked as a clearinghouse: each from a
   * trusted broker, its visas evaluated for the passport's own subject. Rejects with a
   * `PassportRefusedError` naming the first passport that is not accepted.
   */
  fromPassports(passportJwts: readonly string[]): Promise<PassportResult>;
  /**
   * A fresh Passport for the caller from their issuer's token exchange, to present to another
   * GA4GH service on their behalf (a remote DRS server); null when the issuer offers none. Never
   * cached: it is a credential.
   */
  passportToken(c: Context<AppEnv>): Promise<string | null>;
}

const PASSPORT_TOKEN_TYPE = 'urn:ga4gh:params:oauth:token-type:passport';

/** Passports are tens of KB; anything far beyond is not one, whoever sends it. */
const MAX_PASSPORT_RESPONSE_BYTES = 2 * 1024 * 1024;

async function readJsonCapped(res: Response): Promise<Record<string, unknown>> {
  if (!res.body) return {};
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_PASSPORT_RESPONSE_BYTES) {
      await reader.cancel();
      return {};
    }
    chunks.push(value);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function bearerToken(c: Context<AppEnv>): string {
  return /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
}

function unavailable(issuer: string, why: string): VisaRefusal {
  return {
    reason: 'keys_unavailable',
    message: `Your passport could not be obtained from ${issuer} (${why}); try again later.`,
    issuer,
    type: null,
    digest: '',
  };
}

export function refusalSummary(refused: readonly VisaRefusal[]): string {
  if (!refused.length) return '';
  const items = refused.slice(0, 5).map((r) => `${r.reason}${r.type ? ` (${r.type}${r.issuer ? ` from ${r.issuer}` : ''})` : ''}`);
  return ` Visas not accepted: ${items.join(', ')}${refused.length > 5 ? ', ...' : ''}.`;
}

export function createAccessControl(o: AccessOptions): AccessControl {
  const verifier = createVisaVerifier(o.trust, { fetchTimeoutMs: o.fetchTimeoutMs ?? 5_000, ...o.verifier });
  const cache = o.cache ?? createPassportCache({ maxEntries: 10_000, maxAgeSec: 300 });
  const timeout = () => AbortSignal.timeout(o.fetchTimeoutMs ?? 5_000);

  /** RFC 8693 exchange of the access token for a Passport JWT (verified), or why not. */
  async function exchange(source: PassportSource & { exchange: NonNullable<PassportSource['exchange']> }, token: string): Promise<{ passport: string } | { refused: VisaRefusal }> {
    const { tokenEndpoint, clientId, clientSecret } = source.exchange;
    const res = await fetch(tokenEndpoint, {
      method: 'POST',
      signal: timeout(),
      headers: {
        Authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        requested_token_type: PASSPORT_TOKEN_TYPE,
        subject_token: token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      }),
    });
    const body = (await readJsonCapped(res)) as { access_token?: unknown; issued_token_type?: unknown; error?: unknown };
    if (!res.ok || typeof body.access_token !== 'string' || body.issued_token_type !== PASSPORT_TOKEN_TYPE) {
      return { refused: unavailable(source.issuer, `token exchange answered HTTP ${res.status}${typeof body.error === 'string' ? ` ${body.error}` : ''}`) };
    }
    return { passport: body.access_token };
  }

  async function visasFrom(source: PassportSource, token: string): Promise<{ jwts: string[]; refused: VisaRefusal[] }> {
    if (source.exchange) {
      const got = await exchange({ ...source, exchange: source.exchange }, token);
      if ('refused' in got) return { jwts: [], refused: [got.refused] };
      const passport = await verifyPassportToken(got.passport, verifier.trust, { keys: verifier.keys, ...o.verifier });
      return { jwts: passport.visas, refused: [] };
    }
    if (source.userinfoEndpoint) {
      const res = await fetch(source.userinfoEndpoint, { signal: timeout(), headers: { Authorization: `Bearer ${token}` } });
      const body = (await readJsonCapped(res)) as { ga4gh_passport_v1?: unknown };
      if (!res.ok) return { jwts: [], refused: [unavailable(source.issuer, `userinfo answered HTTP ${res.status}`)] };
      const list = Array.isArray(body.ga4gh_passport_v1) ? body.ga4gh_passport_v1.filter((v): v is string => typeof v === 'string') : [];
      return { jwts: list, refused: [] };
    }
    return { jwts: [], refused: [] };
  }

  async function passport(c: Context<AppEnv>): Promise<PassportResult> {
    const principal = c.get('principal');
    const caller = { issuer: principal.issuer, subject: principal.subject };
    const none: PassportResult = { subject: caller, visas: [], refused: [], validUntil: null };
    const claim = principal.claims.ga4gh_passport_v1;
    const inToken = Array.isArray(claim) ? claim.filter((v): v is string => typeof v === 'string') : null;
    // AAI: only a Passport-Scoped Access Token can be exchanged for (or looked up as) a passport.
    const source = o.sources.find((s) => s.issuer === principal.issuer);
    if (!inToken && (!source || !principal.scopes.includes('ga4gh_passport_v1'))) return none;
    const token = bearerToken(c);
    return cache.resolve(token, async () => {
      let jwts = inToken ?? [];
      let refused: VisaRefusal[] = [];
      if (!inToken && source) {
        try {
          ({ jwts, refused } = await visasFrom(source, token));
        } catch (err) {
          // A Passport JWT that was obtained but refused (too large, bad signature, expired...)
          // keeps its own reason: "try again later" would be wrong, trying again gives the same.
          const refusal = err instanceof PassportRefusedError ? err.refusal : unavailable(source.issuer, 'no answer');
          o.log.warn({ issuer: source.issuer, reason: refusal.reason }, 'passport could not be obtained');
          refused = [refusal];
        }
      }
      const result = jwts.length ? await evaluatePassport(jwts, caller, verifier) : { ...none };
      result.refused = [...refused, ...result.refused];
      for (const r of result.refused) {
        o.log.info({ issuer: r.issuer, type: r.type, reason: r.reason, digest: r.digest }, 'visa refused');
      }
      return result;
    });
  }

  async function check(c: Context<AppEnv>, action: Action, resource?: PolicyResource): Promise<Decision> {
    const principal = c.get('principal');
    const result = await passport(c);
    return decide(o.policy, { principal, visas: result.visas }, action, resource);
  }

  return {
    policy: o.policy,
    passport,
    check,
    async require(c, action, resource, hideAs) {
      const decision = await check(c, action, resource);
      if (decision.allow) return decision;
      const principal = c.get('principal');
      await o.audit?.record({
        action: 'policy.denied',
        outcome: 'denied',
        actor: principal,
        ...(resource ? { object: { kind: resource.kind } } : {}),
        reason: `${action}: ${decision.code}`,
        details: { action, code: decision.code },
        source: o.audit.source(c),
      });
      if (hideAs) throw hideAs;
      const refused = (await passport(c)).refused;
      throw new ApiError(403, `${decision.reason}${refusalSummary(refused)}`);
    },
    async fromPassports(passportJwts) {
      const results: PassportResult[] = [];
      for (const jwt of passportJwts) {
        const passport = await verifyPassportToken(jwt, verifier.trust, { keys: verifier.keys, ...o.verifier });
        results.push(await evaluatePassport(passport.visas, { issuer: passport.issuer, subject: passport.subject }, verifier));
      }
      const first = results[0];
      if (!first) throw new Error('fromPassports needs at least one passport');
      // One request, one person (DRS bulk: "passports or a single bearer token"): visas of
      // passports issued to someone else than the first are not used.
      const same = results.filter((r) => r.subject.issuer === first.subject.issuer && r.subject.subject === first.subject.subject);
      const visas = same.flatMap((r) => r.visas);
      return {
        subject: first.subject,
        visas,
        refused: results.flatMap((r) => r.refused),
        validUntil: visas.length ? Math.min(...visas.map((v) => v.expiresAt)) : null,
      };
    },
    async passportToken(c) {
      const principal = c.get('principal');
      const source = o.sources.find((s) => s.issuer === principal.issuer);
      if (!source?.exchange || !principal.scopes.includes('ga4gh_passport_v1')) return null;
      const got = await exchange({ ...source, exchange: source.exchange }, bearerToken(c)).catch(() => null);
      return got && 'passport' in got ? got.passport : null;
    },
  };
}
