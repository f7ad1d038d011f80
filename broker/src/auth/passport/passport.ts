/**
 * A whole passport: which of its visas may be used for the caller. Every visa is verified on its
 * own (verify-visa.ts); then, in this order:
 *
 *   1. identities: a visa counts only if its {iss, sub} is the caller's, or is linked to it by
 *      LinkedIdentities visas (trusted issuer and source, unconditional; links chain). A visa of
 *      somebody else copied into a passport is refused (`unlinked_identity`);
 *   2. conditions: a conditional visa counts only if its conditions are met by the accepted,
 *      unconditional visas of step 1 (conditions.ts);
 *   3. `validUntil` is the earliest `exp` among the accepted visas (Passport 1.2 "Visa Expiry":
 *      with several visas, the minimum).
 *
 * Refusals are collected, never thrown: one bad visa does not spoil the others, and the policy
 * (and the researcher) can see why each was left out.
 */
import type { JWTPayload } from 'jose';
import { conditionsMet } from './conditions';
import { createKeyStore, type KeyStore } from './keys';
import { IdentityLinks, parseLinkedIdentities, type VisaIdentity } from './linked-identities';
import { digestOf, makeRefusal, PassportRefusedError, printable, VisaRefusedError } from './refusal';
import { verifySignedJwt, type JwtEnvironment, type JwtKind } from './signed-jwt';
import { compileTrust, type PassportTrust, type PassportTrustInput, type TrustIndex } from './trust';
import type { PassportResult, ValidVisa, VisaRefusal } from './types';
import type { VerifiedVisa, VisaVerifier } from './verify-visa';

export interface EvaluatePassportOptions {
  /** Visas beyond this many are refused unread (`too_large`). Default 100. */
  maxVisas?: number;
}

const toValidVisa = ({ conditions: _conditions, ...visa }: VerifiedVisa): ValidVisa => visa;

export async function evaluatePassport(
  visaJwts: readonly string[],
  caller: VisaIdentity,
  verifier: Pick<VisaVerifier, 'verifyVisa'>,
  options: EvaluatePassportOptions = {},
): Promise<PassportResult> {
  const maxVisas = options.maxVisas ?? 100;
  const refused: VisaRefusal[] = [];
  const checked = visaJwts.slice(0, maxVisas);
  for (const extra of visaJwts.slice(maxVisas)) {
    refused.push(
      makeRefusal('too_large', `The passport carries more than ${maxVisas} visas; only the first ${maxVisas} were read.`, {
        issuer: null,
        type: null,
        digest: digestOf(typeof extra === 'string' ? extra : ''),
      }),
    );
  }

  const outcomes = await Promise.all(
    checked.map((jwt) =>
      verifier.verifyVisa(jwt).then(
        (visa) => ({ visa }),
        (err: unknown) => ({ refusal: asRefusal(err, jwt) }),
      ),
    ),
  );
  const verified: VerifiedVisa[] = [];
  for (const outcome of outcomes) {
    if ('visa' in outcome) verified.push(outcome.visa);
    else refused.push(outcome.refusal);
  }

  // 1. Identities. A conditional LinkedIdentities visa is not used for linking: its conditions
  // could only be evaluated against visas whose acceptance depends on the links themselves.
  const links = new IdentityLinks();
  for (const visa of verified) {
    if (visa.type !== 'LinkedIdentities' || visa.conditions !== null) continue;
    const own = { issuer: visa.issuer, subject: visa.subject };
    for (const other of parseLinkedIdentities(visa.value) ?? []) links.link(own, other);
  }
  const mine: VerifiedVisa[] = [];
  for (const visa of verified) {
    if (links.same(caller, { issuer: visa.issuer, subject: visa.subject })) {
      mine.push(visa);
    } else {
      refused.push(
        makeRefusal(
          'unlinked_identity',
          `The ${printable(visa.type)} visa from ${printable(visa.issuer)} was issued to another identity than the one signed in, and no LinkedIdentities visa from a trusted issuer links the two, so it was not used.`,
          { issuer: printable(visa.issuer), type: printable(visa.type), digest: visa.digest },
        ),
      );
    }
  }

  // 2. Conditions, against the accepted unconditional visas only.
  const unconditional = mine.filter((visa) => visa.conditions === null);
  const visas: ValidVisa[] = [];
  for (const visa of mine) {
    if (visa.conditions === null || conditionsMet(visa.conditions, unconditional)) {
      visas.push(toValidVisa(visa));
    } else {
      refused.push(
        makeRefusal(
          'conditions_not_met',
          `The ${printable(visa.type)} visa from ${printable(visa.issuer)} is only valid together with other visas that this passport does not hold (its "conditions" are not met), so it was not used.`,
          { issuer: printable(visa.issuer), type: printable(visa.type), digest: visa.digest },
        ),
      );
    }
  }

  // 3. Lifetime.
  const validUntil = visas.length === 0 ? null : Math.min(...visas.map((visa) => visa.expiresAt));
  return { subject: { issuer: caller.issuer, subject: caller.subject }, visas, refused, validUntil };
}

function asRefusal(err: unknown, jwt: unknown): VisaRefusal {
  if (err instanceof VisaRefusedError) return err.refusal;
  return makeRefusal('malformed', 'The visa could not be read.', { issuer: null, type: null, digest: digestOf(typeof jwt === 'string' ? jwt : '') });
}

/** A Passport JWT from a trusted broker, verified. */
export interface VerifiedPassport {
  /** The broker (`iss`) and the user at that broker (`sub`): the caller for `evaluatePassport`. */
  issuer: string;
  subject: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** The `ga4gh_passport_v1` visa JWTs, unverified: give them to `evaluatePassport`. */
  visas: string[];
  digest: string;
}

export interface PassportTokenOptions {
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. Default 60. */
  clockSkewSec?: number;
  /** Larger Passport JWTs are refused unread. Default 512 KiB. */
  maxPassportBytes?: number;
  /** Timeout of each key set request, in milliseconds. Default 5000. */
  fetchTimeoutMs?: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * The key store to use: pass the visa verifier's (`verifier.keys`) so that key sets are fetched
   * once for both; without it a new store (and cache) is made for this call.
   */
  keys?: KeyStore;
  /** Plain-http `jku` on loopback (tests only). */
  allowLoopbackHttpJku?: boolean;
  /** `jku` on loopback/private addresses (tests only). */
  allowPrivateJkuAddresses?: boolean;
}

/** AAI 1.2: a Passport's `typ` is REQUIRED and is `vnd.ga4gh.passport+jwt`. */
const PASSPORT_TYPES = new Set(['vnd.ga4gh.passport+jwt', 'application/vnd.ga4gh.passport+jwt']);

function passportClaimProblem(payload: JWTPayload): string | null {
  const list = payload.ga4gh_passport_v1;
  if (!Array.isArray(list)) return 'has no "ga4gh_passport_v1" list of visas';
  if (!list.every((visa) => typeof visa === 'string')) return 'has a "ga4gh_passport_v1" entry that is not a visa JWT string';
  return null;
}

/**
 * Verifies a Passport JWT (what a broker's token endpoint returns for the RFC 8693 token exchange):
 * `typ` `vnd.ga4gh.passport+jwt`, a trusted broker as `iss`, RS256/ES256, `exp`/`nbf`/`iat`, and a
 * `ga4gh_passport_v1` array. Rejects with a `PassportRefusedError` and nothing else.
 */
export async function verifyPassportToken(
  passportJwt: string,
  trustConfig: PassportTrust | PassportTrustInput | TrustIndex,
  options: PassportTokenOptions = {},
): Promise<VerifiedPassport> {
  const trust = compileTrust(trustConfig);
  const environment: JwtEnvironment = {
    keys: options.keys ?? createKeyStore({ fetchTimeoutMs: options.fetchTimeoutMs, allowPrivateJkuAddresses: options.allowPrivateJkuAddresses }),
    clockSkewSec: options.clockSkewSec ?? 60,
    now: options.now ?? Date.now,
    allowLoopbackHttpJku: options.allowLoopbackHttpJku ?? false,
    allowPrivateJkuAddresses: options.allowPrivateJkuAddresses ?? false,
  };
  const kind: JwtKind = {
    label: 'passport',
    maxBytes: options.maxPassportBytes ?? 512 * 1024,
    trusted: (issuer) => trust.broker(issuer),
    untrustedHint: 'the broker is not on this clearinghouse\'s list of trusted passport brokers; sign in through a trusted one',
    typAccepted: (typ) => typ !== undefined && PASSPORT_TYPES.has(typ.toLowerCase()),
    typExpected: 'vnd.ga4gh.passport+jwt',
    typeOf: () => null,
    preflight: passportClaimProblem,
    refuse: (refusal, cause) => new PassportRefusedError(refusal, { cause }),
  };
  try {
    const { payload, trusted, context } = await verifySignedJwt(passportJwt, kind, environment);
    return {
      issuer: trusted.issuer,
      subject: payload.sub as string,
      expiresAt: payload.exp as number,
      visas: [...(payload.ga4gh_passport_v1 as string[])],
      digest: context.digest,
    };
  } catch (err) {
    if (err instanceof PassportRefusedError) throw err;
    throw new PassportRefusedError(
      makeRefusal('malformed', 'The passport could not be read.', { issuer: null, type: null, digest: digestOf(typeof passportJwt === 'string' ? passportJwt : '') }),
      { cause: err },
    );
  }
}
