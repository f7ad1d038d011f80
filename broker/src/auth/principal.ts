import type { JWTPayload } from 'jose';

/** Who is calling, as established from a verified access token. */
export interface Principal {
  /** `iss` of the token, exactly as configured in the trusted list. */
  issuer: string;
  /** `sub`, or `client_id` for client-credentials tokens that carry no `sub` (see bearer.ts). */
  subject: string;
  /** The OAuth client the token was issued to (`client_id`, RFC 9068, else OIDC `azp`). */
  clientId?: string;
  /** From `scope` (space-separated, RFC 9068) or `scp` (array or string, Entra/Okta style). */
  scopes: string[];
  /** All verified claims, for the Passport/policy code that needs more than the above. */
  claims: JWTPayload;
}

/**
 * The stable key that owns runs and objects. A `sub` is only unique within its issuer (OIDC Core
 * 5.7), so both are needed. The format is the one GA4GH LinkedIdentities uses for an identity,
 * `<uri-encoded-sub>,<uri-encoded-iss>`, which is unambiguous (a comma inside either part is
 * encoded) and readable by anyone who knows the Passport spec.
 */
export function ownerKey(principal: Pick<Principal, 'issuer' | 'subject'>): string {
  return `${encodeURIComponent(principal.subject)},${encodeURIComponent(principal.issuer)}`;
}
