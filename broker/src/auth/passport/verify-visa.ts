/**
 * One visa (GA4GH Passport 1.2 `ga4gh_visa_v1` JWT), checked on its own: signature, issuer,
 * `jku`, times, required claims, trusted `source`, and that its `conditions` are of a shape this
 * code evaluates. Whether the conditions are *met*, and whether the visa belongs to the caller
 * (LinkedIdentities), depends on the other visas of the passport: see passport.ts.
 */
import type { JWTPayload } from 'jose';
import { parseConditions, type VisaConditions } from './conditions';
import { createKeyStore, type KeyStore } from './keys';
import { parseLinkedIdentities } from './linked-identities';
import { digestOf, makeRefusal, printable, readableClaim, VisaRefusedError } from './refusal';
import { verifySignedJwt, type JwtEnvironment, type JwtKind } from './signed-jwt';
import { compileTrust, type PassportTrust, type PassportTrustInput, type TrustIndex } from './trust';
import type { ValidVisa, VisaRefusalReason } from './types';

export interface VisaVerifierOptions {
  /** Allowed clock skew for `exp`, `nbf`, `iat` and `asserted`, in seconds. Default 60. */
  clockSkewSec?: number;
  /** Larger visas are refused unread. Default 16384. */
  maxVisaBytes?: number;
  /** Timeout of each key set request, in milliseconds. Default 5000. */
  fetchTimeoutMs?: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Minimum time between refetches of a key set caused by an unknown `kid`. Default 30000 ms. */
  jwksCooldownMs?: number;
  /** Key sets are refetched after this long anyway. Default 10 minutes. */
  jwksCacheMaxAgeMs?: number;
  /** Accept plain-http `jku` URLs on `localhost`/loopback literals. Tests only. Default false. */
  allowLoopbackHttpJku?: boolean;
  /** Accept `jku` URLs on loopback/private addresses. Tests only. Default false. */
  allowPrivateJkuAddresses?: boolean;
  /**
   * Visa Access Tokens (`scope` contains `openid`) older than this are refused (AAI 1.2: invalid
   * after one hour unless Access Token Polling confirms them, which this clearinghouse does not
   * do). Default 3600 s.
   */
  maxVisaAccessTokenAgeSec?: number;
  /** Shares fetched key sets with other verifiers (e.g. the Passport JWT check). */
  keys?: KeyStore;
}

/** A visa that passed every check that does not depend on the rest of the passport. */
export interface VerifiedVisa extends ValidVisa {
  /** Non-empty `conditions`, still to be met by other visas of the same passport; else null. */
  conditions: VisaConditions | null;
}

export interface VisaVerifier {
  /**
   * Resolves with the verified visa; rejects with a `VisaRefusedError` and nothing else. With
   * `expectedSubject`, a visa issued to another `sub` is refused (`unlinked_identity`).
   */
  verifyVisa(jwt: string, expectedSubject?: string): Promise<VerifiedVisa>;
  readonly trust: TrustIndex;
  readonly keys: KeyStore;
  readonly environment: JwtEnvironment;
}

/** `typ` of a visa: RECOMMENDED `vnd.ga4gh.visa+jwt`, `JWT` allowed, `at+jwt` for Visa Access Tokens. */
const VISA_TYPES = new Set(['vnd.ga4gh.visa+jwt', 'application/vnd.ga4gh.visa+jwt', 'jwt', 'application/jwt', 'at+jwt', 'application/at+jwt']);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const visaObject = (payload: JWTPayload): Record<string, unknown> | null => {
  const visa = payload.ga4gh_visa_v1;
  return isRecord(visa) ? visa : null;
};

/** Structure of `ga4gh_visa_v1`, checked before any key is fetched. */
function visaObjectProblem(payload: JWTPayload): string | null {
  const visa = visaObject(payload);
  if (visa === null) return 'has no "ga4gh_visa_v1" object, so it is not a visa';
  for (const claim of ['type', 'value', 'source'] as const) {
    if (typeof visa[claim] !== 'string' || (claim !== 'value' && visa[claim] === '')) return `has no string "ga4gh_visa_v1.${claim}"`;
  }
  if (typeof visa.asserted !== 'number' || !Number.isFinite(visa.asserted)) return 'has no numeric "ga4gh_visa_v1.asserted"';
  if (visa.by !== undefined && typeof visa.by !== 'string') return 'has a non-string "ga4gh_visa_v1.by"';
  return null;
}

const scopes = (payload: JWTPayload): string[] => (typeof payload.scope === 'string' ? payload.scope.split(' ') : []);

export function createVisaVerifier(trustConfig: PassportTrust | PassportTrustInput | TrustIndex, options: VisaVerifierOptions = {}): VisaVerifier {
  const trust = compileTrust(trustConfig);
  const keys =
    options.keys ??
    createKeyStore({
      fetchTimeoutMs: options.fetchTimeoutMs,
      cooldownMs: options.jwksCooldownMs,
      cacheMaxAgeMs: options.jwksCacheMaxAgeMs,
      allowPrivateJkuAddresses: options.allowPrivateJkuAddresses,
    });
  const environment: JwtEnvironment = {
    keys,
    clockSkewSec: options.clockSkewSec ?? 60,
    now: options.now ?? Date.now,
    allowLoopbackHttpJku: options.allowLoopbackHttpJku ?? false,
    allowPrivateJkuAddresses: options.allowPrivateJkuAddresses ?? false,
  };
  const maxAccessTokenAge = options.maxVisaAccessTokenAgeSec ?? 3600;

  const kind: JwtKind = {
    label: 'visa',
    maxBytes: options.maxVisaBytes ?? 16_384,
    trusted: (issuer) => trust.visaIssuer(issuer),
    untrustedHint: 'the issuer is not on this clearinghouse\'s list of trusted visa issuers; ask its operator to add it, or obtain the visa from a trusted issuer',
    typAccepted: (typ) => typ === undefined || VISA_TYPES.has(typ.toLowerCase()),
    typExpected: 'vnd.ga4gh.visa+jwt or JWT',
    typeOf: (payload) => readableClaim(visaObject(payload)?.type),
    preflight: visaObjectProblem,
    refuse: (refusal, cause) => new VisaRefusedError(refusal, { cause }),
  };

  async function verifyVisa(jwt: string, expectedSubject?: string): Promise<VerifiedVisa> {
    const { payload, trusted, context } = await verifySignedJwt(jwt, kind, environment);
    const fail = (reason: VisaRefusalReason, message: string): VisaRefusedError =>
      new VisaRefusedError(makeRefusal(reason, message, context));
    const issuer = printable(trusted.issuer);
    // Checked by the preflight on the same (now verified) payload.
    const visa = visaObject(payload) as Record<string, unknown>;
    const type = visa.type as string;
    const value = visa.value as string;
    const source = visa.source as string;
    const asserted = visa.asserted as number;
    const by = typeof visa.by === 'string' ? visa.by : null;
    const subject = payload.sub as string;
    const iat = payload.iat as number;
    const nowSec = Math.floor(environment.now() / 1000);
    const skew = environment.clockSkewSec;

    if (asserted > nowSec + skew) {
      throw fail('asserted_in_future', `The ${printable(type)} visa from ${issuer} claims an assertion made in the future ("asserted"); the issuer's clock is probably wrong.`);
    }
    if (scopes(payload).includes('openid') && iat < nowSec - maxAccessTokenAge - skew) {
      throw fail('expired', `The ${printable(type)} visa from ${issuer} is a Visa Access Token older than ${Math.round(maxAccessTokenAge / 60)} minutes, which this clearinghouse cannot re-confirm; sign in again to get fresh visas.`);
    }
    if (expectedSubject !== undefined && subject !== expectedSubject) {
      throw fail('unlinked_identity', `The ${printable(type)} visa from ${issuer} was issued to another identity than the one signed in, so it was not used.`);
    }
    if (!trust.sourceTrusted(source)) {
      throw fail('untrusted_source', `The ${printable(type)} visa from ${issuer} was asserted by "${printable(source)}", which is not a trusted assertion source here; ask this broker's operator to trust it, or obtain the visa from a trusted source.`);
    }
    if (type === 'LinkedIdentities' && parseLinkedIdentities(value) === null) {
      throw fail('malformed', `The LinkedIdentities visa from ${issuer} has a value that is not a ";"-separated list of "<uri-encoded-sub>,<uri-encoded-iss>" entries.`);
    }
    const conditions = parseConditions(visa.conditions);
    if (!conditions.ok) {
      throw fail('conditions_unsupported', `The ${printable(type)} visa from ${issuer} has conditions this clearinghouse cannot evaluate (${conditions.problem}), so it was not used.`);
    }

    return {
      type,
      value,
      source,
      by,
      asserted,
      issuer: trusted.issuer,
      subject,
      expiresAt: payload.exp as number,
      digest: context.digest,
      conditions: conditions.conditions,
    };
  }

  return {
    async verifyVisa(jwt, expectedSubject) {
      try {
        return await verifyVisa(jwt, expectedSubject);
      } catch (err) {
        if (err instanceof VisaRefusedError) throw err;
        // Whatever else went wrong, the caller gets a refusal it can show, never a raw exception.
        throw new VisaRefusedError(
          makeRefusal('malformed', 'The visa could not be read.', { issuer: null, type: null, digest: digestOf(typeof jwt === 'string' ? jwt : '') }),
          { cause: err },
        );
      }
    },
    trust,
    keys,
    environment,
  };
}
