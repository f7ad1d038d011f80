/**
 * The checks every GA4GH JWT the clearinghouse reads goes through (visas and Passport JWTs alike).
 * All cryptography is jose's; this module decides the order, which is the security argument:
 *
 *   1. size cap, then an unverified decode (no network, no crypto);
 *   2. `alg` in {RS256, ES256} (AAI 1.2 "Signing Algorithms"): `none`, HS* (the "HMAC keyed with
 *      the public key" confusion), PS* and EdDSA are refused before any key is looked up;
 *   3. keys carried by the token itself (`jwk`, `x5c`, `x5u`) are refused: a token cannot vouch for
 *      its own key;
 *   4. `iss` must be trusted: for an untrusted issuer nothing is ever fetched;
 *   5. required claims are present (still before any fetch);
 *   6. a `jku` header must be on that issuer's allow-list, https and a public address, all
 *      **before** it is fetched (AAI 1.2 Passport Clearinghouse 5.3.2, FAQ "Use jku");
 *   7. jose `jwtVerify` with the issuer's keys (`jku` or configured `jwksUri`): signature,
 *      `exp`/`nbf` with the clock skew; then `iat` not in the future.
 */
import { decodeJwt, decodeProtectedHeader, errors as jose, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type ProtectedHeaderParameters } from 'jose';
import { ipLiteral, isLoopbackHost, isNonPublicAddress } from './jku-fetch';
import { KeysUnavailableError, type KeyStore } from './keys';
import { digestOf, makeRefusal, printable, readableClaim, type RefusalContext } from './refusal';
import { jkuAllowed, parseJku, type KeySourceTrust } from './trust';
import type { VisaRefusal, VisaRefusalReason } from './types';

/** AAI 1.2: "JWTs MUST be issued with signatures using the ES256 or RS256 algorithm." */
export const GA4GH_ALGORITHMS = ['RS256', 'ES256'] as const;

/** Header parameters that carry or point to key material chosen by the token itself. */
const SELF_ASSERTED_KEYS = ['jwk', 'x5c', 'x5u'] as const;

export interface JwtEnvironment {
  keys: KeyStore;
  clockSkewSec: number;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Plain-http `jku` for `localhost`/loopback literals (tests). */
  allowLoopbackHttpJku: boolean;
  /** `jku` on loopback/private addresses (tests, or a deliberately internal key server). */
  allowPrivateJkuAddresses: boolean;
}

export interface JwtKind {
  /** "visa" or "passport", for messages. */
  label: string;
  maxBytes: number;
  /** The trusted issuer entry for `iss`, if any. */
  trusted(issuer: string): KeySourceTrust | undefined;
  /** Explains, for the untrusted-issuer message, what the issuer would have to be. */
  untrustedHint: string;
  /** Accepts the header `typ` (undefined when absent). */
  typAccepted(typ: string | undefined): boolean;
  typExpected: string;
  /** The readable `type` for refusals (visas), or null. */
  typeOf(payload: JWTPayload): string | null;
  /** More structure checks on the unverified payload, before any fetch; returns a problem or null. */
  preflight?(payload: JWTPayload): string | null;
  /** Builds the error thrown for a refusal. */
  refuse(refusal: VisaRefusal, cause?: unknown): Error;
}

export interface VerifiedJwt {
  header: ProtectedHeaderParameters;
  payload: JWTPayload;
  trusted: KeySourceTrust;
  context: RefusalContext;
}

/** The unverified checks (1-6) and then jose (7). Throws only `kind.refuse(...)` errors. */
export async function verifySignedJwt(jwt: unknown, kind: JwtKind, env: JwtEnvironment): Promise<VerifiedJwt> {
  const Label = kind.label.charAt(0).toUpperCase() + kind.label.slice(1);
  const text = typeof jwt === 'string' ? jwt : '';
  const context: RefusalContext = { issuer: null, type: null, digest: digestOf(text) };
  const fail = (reason: VisaRefusalReason, message: string, cause?: unknown): Error =>
    kind.refuse(makeRefusal(reason, message, context), cause);

  if (typeof jwt !== 'string' || jwt.length === 0) throw fail('malformed', `The ${kind.label} is not a JWT string.`);
  if (jwt.length > kind.maxBytes) {
    throw fail('too_large', `The ${kind.label} is larger than ${Math.round(kind.maxBytes / 1024)} KB, which no issuer we trust produces; it was not read.`);
  }

  let header: ProtectedHeaderParameters;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(jwt);
    unverified = decodeJwt(jwt);
  } catch (cause) {
    throw fail('malformed', `The ${kind.label} is not a signed JWT (JWS compact serialization) and was ignored.`, cause);
  }
  context.issuer = readableClaim(unverified.iss);
  context.type = kind.typeOf(unverified);
  const from = context.issuer === null ? '' : ` from ${context.issuer}`;

  const alg = header.alg;
  if (typeof alg !== 'string' || !(GA4GH_ALGORITHMS as readonly string[]).includes(alg)) {
    throw fail(
      'unsupported_alg',
      `The ${kind.label}${from} is signed with "${printable(String(alg), 20)}"; GA4GH AAI 1.2 allows only ${GA4GH_ALGORITHMS.join(' and ')}, so it was not used.`,
    );
  }
  const selfKey = SELF_ASSERTED_KEYS.find((name) => (header as Record<string, unknown>)[name] !== undefined);
  if (selfKey !== undefined) {
    throw fail(
      'bad_signature',
      `The ${kind.label}${from} carries its own key ("${selfKey}" header); keys are only ever taken from the issuer's registered key set, so it was not used.`,
    );
  }
  const typ = header.typ;
  if ((typ !== undefined && typeof typ !== 'string') || !kind.typAccepted(typ)) {
    throw fail('malformed', `The JWT${from} has type "${printable(String(typ), 40)}", not a ${kind.label} (expected ${kind.typExpected}).`);
  }

  const iss = unverified.iss;
  if (typeof iss !== 'string' || iss.length === 0) throw fail('malformed', `The ${kind.label} has no "iss" claim, so its issuer cannot be trusted.`);
  const trusted = kind.trusted(iss);
  if (trusted === undefined) {
    throw fail('untrusted_issuer', `${Label}s issued by "${printable(iss)}" are not accepted here (${kind.untrustedHint}).`);
  }

  const missing = requiredClaimProblem(unverified) ?? kind.preflight?.(unverified) ?? null;
  if (missing !== null) throw fail('malformed', `The ${kind.label} from ${printable(iss)} ${missing}.`);

  const getKey = keyGetter(header, trusted, env, fail, kind.label);

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(jwt, getKey, {
      algorithms: [...GA4GH_ALGORITHMS],
      issuer: trusted.issuer,
      ...(trusted.audience !== undefined && { audience: trusted.audience }),
      clockTolerance: env.clockSkewSec,
      currentDate: new Date(env.now()),
      requiredClaims: ['iss', 'sub', 'iat', 'exp'],
    }));
  } catch (err) {
    throw explain(err, kind.label, printable(trusted.issuer), fail);
  }

  const nowSec = Math.floor(env.now() / 1000);
  if (typeof payload.iat === 'number' && payload.iat > nowSec + env.clockSkewSec) {
    throw fail('issued_in_future', `The ${kind.label} was issued in the future ("iat"); the clock of ${printable(trusted.issuer)} is probably wrong. Try again later or ask the issuer to fix it.`);
  }
  return { header, payload, trusted, context };
}

function requiredClaimProblem(payload: JWTPayload): string | null {
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) return 'has no "sub" claim';
  for (const claim of ['iat', 'exp'] as const) {
    if (typeof payload[claim] !== 'number' || !Number.isFinite(payload[claim])) return `has no numeric "${claim}" claim`;
  }
  if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || !Number.isFinite(payload.nbf))) return 'has a non-numeric "nbf" claim';
  return null;
}

/** Step 6: where the keys may come from, decided before anything is fetched. */
function keyGetter(
  header: ProtectedHeaderParameters,
  trusted: KeySourceTrust,
  env: JwtEnvironment,
  fail: (reason: VisaRefusalReason, message: string, cause?: unknown) => Error,
  label: string,
): JWTVerifyGetKey {
  const issuer = printable(trusted.issuer);
  const jkuHeader: unknown = header.jku;
  if (jkuHeader === undefined) {
    if (trusted.jwksUri === undefined) {
      throw fail('keys_unavailable', `No key set is registered for ${issuer} and the ${label} names no "jku", so its signature cannot be checked. Ask the operator of this broker to register a jwksUri for ${issuer}.`);
    }
    return env.keys.fromJwksUri(trusted.jwksUri);
  }
  if (typeof jkuHeader !== 'string') throw fail('malformed', `The ${label}'s "jku" header is not a URL.`);
  const jku = parseJku(jkuHeader);
  if (jku === null || !jkuAllowed(trusted.jku, jku)) {
    throw fail('jku_not_allowed', `The ${label} asks for its keys to be fetched from a "jku" URL that is not registered for ${issuer}, so nothing was fetched. The issuer must sign with a key published at one of its registered key URLs.`);
  }
  if (jku.protocol !== 'https:' && !(env.allowLoopbackHttpJku && jku.protocol === 'http:' && isLoopbackHost(jku))) {
    throw fail('jku_not_allowed', `The ${label}'s "jku" key URL for ${issuer} is not https, so nothing was fetched.`);
  }
  const literal = ipLiteral(jku);
  if (!env.allowPrivateJkuAddresses && literal !== null && isNonPublicAddress(literal)) {
    throw fail('jku_not_allowed', `The ${label}'s "jku" key URL for ${issuer} points to a non-public network address, so nothing was fetched.`);
  }
  return env.keys.fromJku(jku);
}

/** Turns what jose (or the key getter) threw into a refusal with an actionable message. */
function explain(err: unknown, label: string, issuer: string, fail: (reason: VisaRefusalReason, message: string, cause?: unknown) => Error): Error {
  if (err instanceof KeysUnavailableError) {
    return err.blocked
      ? fail('jku_not_allowed', `The ${label}'s "jku" key URL for ${issuer} resolves to a non-public network address, so it was not fetched.`, err)
      : fail('keys_unavailable', `The signing keys of ${issuer} could not be fetched, so the ${label} cannot be checked right now. This is not a problem with the ${label}; try again shortly.`, err);
  }
  if (err instanceof jose.JWTExpired) return fail('expired', `The ${label} from ${issuer} has expired; get a fresh one (sign in again).`, err);
  if (err instanceof jose.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return fail('not_yet_valid', `The ${label} from ${issuer} is not valid yet ("nbf" is in the future); try again later.`, err);
    if (err.claim === 'iat') return fail('issued_in_future', `The ${label} was issued in the future ("iat"); the clock of ${issuer} is probably wrong.`, err);
    if (err.claim === 'aud') return fail('malformed', `The ${label} from ${issuer} was issued for another service ("aud").`, err);
    return fail('malformed', `The ${label} from ${issuer} has an invalid "${printable(err.claim, 30)}" claim.`, err);
  }
  if (err instanceof jose.JWKSNoMatchingKey) {
    return fail('bad_signature', `The ${label} was signed with a key that ${issuer} does not publish (unknown "kid"); get a fresh one.`, err);
  }
  if (err instanceof jose.JWKSMultipleMatchingKeys) {
    return fail('bad_signature', `The ${label} has no "kid" and ${issuer} publishes several keys, so its signing key cannot be chosen.`, err);
  }
  if (err instanceof jose.JWSSignatureVerificationFailed) {
    return fail('bad_signature', `The ${label}'s signature does not match the keys of ${issuer}: it was altered or not issued there.`, err);
  }
  if (err instanceof jose.JOSEAlgNotAllowed || err instanceof jose.JOSENotSupported) {
    return fail('unsupported_alg', `The ${label}'s algorithm or key type is not accepted; only ${GA4GH_ALGORITHMS.join(' and ')} are.`, err);
  }
  return fail('malformed', `The ${label} from ${issuer} could not be read as a signed JWT.`, err);
}
