/**
 * How the clearinghouse says no. A refusal carries a reason code (for policy, logs and tests) and
 * a message for the researcher; both are built from fixed text plus, at most, the sanitised and
 * length-capped issuer or type read from the token. Neither ever contains the token: the token is
 * only ever named by its sha256 digest.
 */
import { createHash } from 'node:crypto';
import type { VisaRefusal, VisaRefusalReason } from './types';

/** What can be said about a token without quoting it. */
export interface RefusalContext {
  issuer: string | null;
  type: string | null;
  digest: string;
}

/** A visa was not accepted. `verifyVisa` rejects with this and nothing else. */
export class VisaRefusedError extends Error {
  readonly refusal: VisaRefusal;

  constructor(refusal: VisaRefusal, options?: { cause?: unknown }) {
    super(refusal.message, options);
    this.name = 'VisaRefusedError';
    this.refusal = refusal;
  }

  get reason(): VisaRefusalReason {
    return this.refusal.reason;
  }
}

/** A Passport JWT (the broker's signed bundle of visas) was not accepted. */
export class PassportRefusedError extends VisaRefusedError {
  constructor(refusal: VisaRefusal, options?: { cause?: unknown }) {
    super(refusal, options);
    this.name = 'PassportRefusedError';
  }
}

export const isVisaRefusedError = (err: unknown): err is VisaRefusedError => err instanceof VisaRefusedError;

/** sha256 hex of the token text: the only way a token is ever referred to. */
export function digestOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Attacker-chosen text (unverified `iss`, `type`, `alg`...) is kept to printable ASCII without
 * quotes or backslashes and capped, so it is safe in messages, logs and HTTP headers.
 */
export function printable(text: string, max = 120): string {
  const clean = text.replace(/[^\x20-\x7e]|["\\]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/** A readable string claim for a refusal, or null. */
export function readableClaim(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? printable(value) : null;
}

export function makeRefusal(reason: VisaRefusalReason, message: string, context: RefusalContext): VisaRefusal {
  return { reason, message, issuer: context.issuer, type: context.type, digest: context.digest };
}
