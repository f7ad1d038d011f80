/**
 * Visa issuers for the clearinghouse tests: the auth tests' loopback issuer (real HTTP, counted
 * requests, keys the test controls), plus helpers to mint visas and to check refusals.
 */
import { expect } from 'vitest';
import type { JWTPayload } from 'jose';
import { startTestIssuer, type SigningKey, type TestIssuer } from '../test-support';
import { VisaRefusedError } from './refusal';
import type { VisaRefusal, VisaRefusalReason } from './types';

export const RA_DOI = 'https://doi.org/10.1038/s41431-018-0219-y';
export const SOURCE = 'https://ega-archive.org/dacs/EGAC00001000205';
export const UNI = 'https://www.uni-heidelberg.de';

export const nowSec = (): number => Math.floor(Date.now() / 1000);

/** Claims of `ga4gh_visa_v1` to override (any value: tests also mint wrong ones). */
export type VisaObject = Record<string, unknown>;

export interface VisaIssuer extends TestIssuer {
  /** Mints a visa: defaults to a valid ResearcherStatus visa of `alice`, `vnd.ga4gh.visa+jwt`. */
  visa(object?: VisaObject, claims?: JWTPayload, header?: Record<string, unknown>, key?: SigningKey): Promise<string>;
  jwksUrl: string;
}

export async function startVisaIssuer(key?: SigningKey): Promise<VisaIssuer> {
  const issuer = await startTestIssuer();
  if (key !== undefined) issuer.published = [key];
  const signer = issuer.published[0] as SigningKey;
  return Object.assign(issuer, {
    jwksUrl: `${issuer.issuer}/jwks`,
    visa(object: VisaObject = {}, claims: JWTPayload = {}, header: Record<string, unknown> = {}, signWith: SigningKey = signer) {
      const now = nowSec();
      return issuer.sign(
        {
          exp: now + 3600,
          ga4gh_visa_v1: { type: 'ResearcherStatus', value: RA_DOI, source: SOURCE, asserted: now - 600, by: 'so', ...object },
          ...claims,
        },
        signWith,
        { typ: 'vnd.ga4gh.visa+jwt', ...header },
      );
    },
  });
}

/** The refusal's message must never quote the token, nor any sizeable piece of it. */
export function expectNoTokenText(refusal: VisaRefusal, jwt: string): void {
  expect(refusal.message).not.toContain(jwt);
  for (const part of jwt.split('.').filter((p) => p.length > 8)) {
    expect(refusal.message).not.toContain(part);
    expect(refusal.message).not.toContain(part.slice(0, 16));
  }
  expect(refusal.digest).toMatch(/^[0-9a-f]{64}$/);
  expect(refusal.message.length).toBeGreaterThan(20);
}

export async function expectRefused(promise: Promise<unknown>, reason: VisaRefusalReason, jwt: string): Promise<VisaRefusal> {
  const err = await promise.then(
    () => {
      throw new Error(`expected a refusal (${reason}), but the token was accepted`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VisaRefusedError);
  const refusal = (err as VisaRefusedError).refusal;
  expect(refusal.reason, refusal.message).toBe(reason);
  expectNoTokenText(refusal, jwt);
  return refusal;
}
