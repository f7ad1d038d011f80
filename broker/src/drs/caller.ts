/**
 * Who is asking a DRS route, and may they read an object. DRS allows a bearer token (every
 * route) or Passports in the body of the POST routes (PassportAuth); both end as a subject with
 * checked visas, asked of the one policy (`objects:read`).
 *
 * The same answer on every route, bulk included: the owner, administrators and holders of a
 * grant for one of the object's datasets may read it; others get 403 for an object whose
 * existence they may know (it is part of a dataset this broker announces in its policy), and 404
 * otherwise, worded exactly as for an object that does not exist.
 */
import type { Context } from 'hono';
import { PassportRefusedError, type ValidVisa, type VisaRefusal } from '../auth/passport/index';
import { refusalSummary } from '../auth/access';
import { decide, type Decision } from '../auth/policy/index';
import type { StoredObject } from '../db/entities';
import type { AppDeps, AppEnv } from '../http/context';
import { ApiError, badRequest, notFound } from '../http/errors';
import { servable } from './reference';

export interface DrsCaller {
  principal: { issuer: string; subject: string };
  visas: readonly ValidVisa[];
  refused: readonly VisaRefusal[];
  via: 'bearer' | 'passport';
}

/** Largest JSON body a DRS POST takes: a 10,000-id bulk request fits, a runaway upload does not. */
export const MAX_DRS_BODY_BYTES = 4 * 1024 * 1024;

const printable = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 80);

/** The request's JSON body, read with a cap (never whole beyond it). An empty body is `{}`. */
export async function readJsonBody(request: Request, maxBytes = MAX_DRS_BODY_BYTES): Promise<Record<string, unknown>> {
  const declared = Number(request.headers.get('content-length') ?? 'NaN');
  if (declared > maxBytes) throw new ApiError(413, `The request body is ${declared} bytes; DRS requests here take at most ${maxBytes}.`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new ApiError(413, `The request body is larger than ${maxBytes} bytes, the most DRS requests here take.`);
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw badRequest(`The request body is not valid JSON: ${(e as Error).message.slice(0, 120)}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** `passports` of a DRS body: absent, or a list of JWTs. Anything else is the client's mistake. */
export function passportsOf(body: Record<string, unknown>): string[] {
  const raw = body.passports;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw badRequest('passports must be a list of GA4GH Passport JWTs.');
  if (raw.length > 20) throw badRequest(`passports lists ${raw.length} passports; send at most 20 (one person's).`);
  raw.forEach((p, i) => {
    if (typeof p !== 'string' || !JWT_SHAPE.test(p)) {
      throw badRequest(`passports[${i}] is not a JWT (three base64url parts separated by dots); send the Passport your broker issued.`);
    }
  });
  return raw as string[];
}

/**
 * `expand` as a query flag or a body field. Case-insensitive: Python's requests writes
 * `params={"expand": True}` as `expand=True`, and the official DRS compliance suite does just that.
 */
export function expandOf(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (value === true || (typeof value === 'string' && value.toLowerCase() === 'true')) return true;
  if (value === false || (typeof value === 'string' && value.toLowerCase() === 'false')) return false;
  throw badRequest(`expand must be true or false, got ${printable(JSON.stringify(value))}.`);
}

/**
 * The caller: from the Passports when the body carries any (no token needed, DRS PassportAuth),
 * else from the bearer token (401 without one).
 */
export async function drsCaller(deps: AppDeps, c: Context<AppEnv>, passports: readonly string[]): Promise<DrsCaller> {
  if (passports.length) {
    try {
      const result = await deps.access.fromPassports(passports);
      c.set('principal', { issuer: result.subject.issuer, subject: result.subject.subject, scopes: [], claims: {} });
      return { principal: result.subject, visas: result.visas, refused: result.refused, via: 'passport' };
    } catch (err) {
      if (err instanceof PassportRefusedError) {
        void deps.audit?.record({ action: 'auth.token_refused', outcome: 'denied', reason: `passport: ${err.refusal.reason}`, source: deps.audit.source(c) });
        throw new ApiError(401, `Your passport was not accepted: ${err.refusal.message}`, { 'WWW-Authenticate': 'Bearer realm="ga4gh", error="invalid_token"' });
      }
      throw err;
    }
  }
  // Routes behind the bearer middleware (WES POST /runs naming drs:// inputs) are authenticated already.
  if (!c.get('principal')) await deps.authenticate(c, async () => undefined);
  const principal = c.get('principal');
  const passport = await deps.access.passport(c);
  return { principal: { issuer: principal.issuer, subject: principal.subject }, visas: passport.visas, refused: passport.refused, via: 'bearer' };
}

export function hiddenObject(id: string): ApiError {
  return notFound(`Object '${printable(id)}' was not found.`);
}

export type ReadVerdict = { allow: true; decision: Decision } | { allow: false; error: ApiError; decision: Decision | null };

/** May `caller` read `object` (null: it does not exist)? 404 and 403 as the module comment says. */
export function readVerdict(deps: AppDeps, caller: DrsCaller, id: string, object: StoredObject | null): ReadVerdict {
  if (!object) return { allow: false, error: hiddenObject(id), decision: null };
  const decision = decide(
    deps.access.policy,
    { principal: caller.principal, visas: caller.visas },
    'objects:read',
    { kind: 'object', ownerIssuer: object.ownerIssuer, ownerSubject: object.ownerSubject, datasets: object.datasets },
  );
  if (decision.allow) {
    if (servable(object)) return { allow: true, decision };
    const error = notFound(
      `Object '${printable(id)}' is a result its backend keeps at ${object.referenceUrl} without stating a checksum; DRS requires one, so it is not served as a DRS object (the run's outputs list its URL).`,
    );
    return { allow: false, error, decision: null };
  }
  const announced = object.datasets.some((d) => deps.access.policy.datasets.has(d));
  if (!announced) return { allow: false, error: hiddenObject(id), decision };
  return { allow: false, error: new ApiError(403, `${decision.reason}${refusalSummary(caller.refused)}`), decision };
}

/** One object for one caller, or the 404/403 (audited when refused). */
export async function readableObject(deps: AppDeps, c: Context<AppEnv>, caller: DrsCaller, id: string): Promise<StoredObject> {
  const object = await deps.objects.get(id);
  const verdict = readVerdict(deps, caller, id, object);
  if (verdict.allow) return object!;
  if (verdict.decision) {
    await deps.audit?.record({
      action: 'policy.denied',
      outcome: 'denied',
      actor: caller.principal,
      object: { kind: 'object', id: object?.id ?? null },
      reason: `objects:read: ${verdict.decision.code}`,
      details: { action: 'objects:read', code: verdict.decision.code, via: caller.via },
      source: deps.audit.source(c),
    });
  }
  throw verdict.error;
}
