/**
 * CONTRACT shared by the Passport clearinghouse (auth/passport/), the policy (auth/policy.ts)
 * and the APIs: what a validated visa and a refusal look like.
 */

/** GA4GH Passport 1.2 standard visa types; custom types are URLs. */
export type VisaType =
  | 'AffiliationAndRole'
  | 'AcceptedTermsAndPolicies'
  | 'ResearcherStatus'
  | 'ControlledAccessGrants'
  | 'LinkedIdentities'
  | (string & {});

/** A visa whose signature, issuer, times and conditions were all checked. */
export interface ValidVisa {
  type: VisaType;
  value: string;
  /** URL of the assertion source (organization). */
  source: string;
  /** `self`, `peer`, `system`, `so`, `dac`, or null when absent ("unknown"). */
  by: string | null;
  /** Seconds since the epoch. */
  asserted: number;
  /** The visa JWT's `iss` and `sub`. */
  issuer: string;
  subject: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** sha256 of the visa JWT (never the JWT itself), for audit and caching. */
  digest: string;
}

/** Why a visa or passport was not used; shown to the user as a code. */
export type VisaRefusalReason =
  | 'malformed'
  | 'unsupported_alg'
  | 'untrusted_issuer'
  | 'untrusted_source'
  | 'jku_not_allowed'
  | 'bad_signature'
  | 'keys_unavailable'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'asserted_in_future'
  | 'conditions_unsupported'
  | 'conditions_not_met'
  | 'unlinked_identity'
  | 'too_large';

export interface VisaRefusal {
  reason: VisaRefusalReason;
  /** Plain words for the researcher; never contains the token. */
  message: string;
  /** What can be said without the token: issuer and type when readable, and the digest. */
  issuer: string | null;
  type: string | null;
  digest: string;
}

export interface PassportResult {
  /** The identity the visas were checked against (issuer + subject of the caller). */
  subject: { issuer: string; subject: string };
  visas: ValidVisa[];
  refused: VisaRefusal[];
  /** Seconds since the epoch: the earliest expiry among the accepted visas (cache lifetime). */
  validUntil: number | null;
}
