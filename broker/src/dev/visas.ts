/**
 * The dev Passport broker's Visa Issuer: signs GA4GH Passport 1.2 visas in the Visa Document Token
 * format (header `jku` + `kid` + `typ: vnd.ga4gh.visa+jwt`, ES256).
 *
 * Its key is not the OpenID Provider's: a clearinghouse trusts "this `iss` with keys at this
 * `jku`" separately from "this broker's access tokens and passports", exactly as it would for a
 * real Visa Issuer, and a leaked visa key cannot mint access tokens (nor the reverse). The visa
 * `iss` is therefore not the OP issuer either, so nobody is tempted to look visa keys up through
 * the OP's discovery document.
 *
 * Visas are minted on demand (UserInfo, token exchange) and live one hour; nothing is cached or
 * logged.
 */
import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { devVisaSources, type DevVisaSources, type VisaAssertion } from './users';

export const VISA_JWT_TYPE = 'vnd.ga4gh.visa+jwt';
export const VISA_ALG = 'ES256';
/** Lifetime of each visa JWT, in seconds. */
export const VISA_TTL_SEC = 3600;

/** Everything a clearinghouse's trust configuration needs to accept the dev broker's visas. */
export interface DevVisaUrls {
  /** `iss` of every visa. */
  visaIssuer: string;
  /** `jku` of every visa: the visa issuer's JWKS (public keys only). */
  jku: string;
  /** Assertion sources (`source` claims). */
  sources: DevVisaSources;
}

/** The visa URLs of a dev provider whose OIDC issuer is `opIssuer` (e.g. `http://127.0.0.1:8080/oidc`). */
export function devVisaUrls(opIssuer: string): DevVisaUrls {
  const base = opIssuer.replace(/\/+$/, '');
  return { visaIssuer: `${base}/visas`, jku: `${base}/visa-jwks`, sources: devVisaSources(base) };
}

/** A fresh private ES256 signing JWK, `kid` = RFC 7638 thumbprint. */
export async function newVisaSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(VISA_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: VISA_ALG, use: 'sig' };
}

/** True for a private P-256 JWK (what `newVisaSigningKey` makes and the keys file must hold). */
export function isVisaSigningKey(value: unknown): value is JWK {
  if (typeof value !== 'object' || value === null) return false;
  const jwk = value as JWK;
  return jwk.kty === 'EC' && jwk.crv === 'P-256' && typeof jwk.d === 'string' && typeof jwk.x === 'string' && typeof jwk.y === 'string';
}

/** The public half of a JWK: only the members a verifier needs. */
export function publicJwk(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e, kid, alg, use } = jwk;
  const out: JWK = { kty };
  for (const [k, v] of Object.entries({ crv, x, y, n, e, kid, alg, use })) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

export interface VisaIssuer extends DevVisaUrls {
  /** What `<jku>` serves. */
  readonly jwks: { keys: JWK[] };
  /** One signed visa per assertion, for `sub`, valid `VISA_TTL_SEC` from `now` (seconds). */
  sign(sub: string, assertions: readonly VisaAssertion[], now?: number): Promise<string[]>;
}

export interface VisaIssuerOptions {
  /** The OP issuer the visa URLs derive from (see `devVisaUrls`). */
  opIssuer: string;
  /** Private signing keys; the first one signs. */
  keys: readonly JWK[];
}

export async function createVisaIssuer(options: VisaIssuerOptions): Promise<VisaIssuer> {
  const [first] = options.keys;
  if (first === undefined || !options.keys.every(isVisaSigningKey)) {
    throw new TypeError('dev visa issuer: needs private ES256 (P-256) signing keys');
  }
  // Every published key carries a `kid`, and the signing key's is the one in each visa header.
  const published = await Promise.all(
    options.keys.map(async (k): Promise<JWK> => ({ ...publicJwk(k), kid: k.kid ?? (await calculateJwkThumbprint(publicJwk(k))), alg: VISA_ALG, use: 'sig' })),
  );
  const kid = published[0]!.kid!;
  const key = (await importJWK({ ...first, alg: VISA_ALG }, VISA_ALG)) as CryptoKey;
  const urls = devVisaUrls(options.opIssuer);
  const jwks = { keys: published };

  return {
    ...urls,
    jwks,
    async sign(sub, assertions, now = Math.floor(Date.now() / 1000)) {
      return Promise.all(
        assertions.map((a) =>
          new SignJWT({
            ga4gh_visa_v1: { type: a.type, asserted: a.asserted, value: a.value, source: a.source, by: a.by },
          })
            .setProtectedHeader({ alg: VISA_ALG, typ: VISA_JWT_TYPE, jku: urls.jku, kid })
            .setIssuer(urls.visaIssuer)
            .setSubject(sub)
            .setIssuedAt(now)
            .setExpirationTime(now + VISA_TTL_SEC)
            .setJti(randomUUID())
            .sign(key),
        ),
      );
    },
  };
}
