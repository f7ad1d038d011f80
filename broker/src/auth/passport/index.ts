/** The GA4GH Passport clearinghouse: trust configuration, visa and passport verification, cache. */
export type { PassportResult, ValidVisa, VisaRefusal, VisaRefusalReason, VisaType } from './types';
export {
  compileTrust,
  parsePassportTrust,
  passportTrustSchema,
  type KeySourceTrust,
  type PassportTrust,
  type PassportTrustInput,
  type TrustedBroker,
  type TrustedVisaIssuer,
  type TrustIndex,
} from './trust';
export { createVisaVerifier, type VerifiedVisa, type VisaVerifier, type VisaVerifierOptions } from './verify-visa';
export {
  evaluatePassport,
  verifyPassportToken,
  type EvaluatePassportOptions,
  type PassportTokenOptions,
  type VerifiedPassport,
} from './passport';
export { createPassportCache, passportCacheKey, type PassportCache, type PassportCacheOptions } from './cache';
export { createKeyStore, type KeyStore, type KeyStoreOptions } from './keys';
export { isVisaRefusedError, PassportRefusedError, VisaRefusedError } from './refusal';
export { conditionsMet, matchesPattern, parseConditions, type VisaConditions } from './conditions';
export { parseLinkedIdentities, type VisaIdentity } from './linked-identities';
export { GA4GH_ALGORITHMS } from './signed-jwt';
