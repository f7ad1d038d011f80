/** Visas and callers for the policy tests. */
import { createHash } from 'node:crypto';
import type { ValidVisa } from '../passport/types';

let counter = 0;

/** A visa as the clearinghouse would hand it over; the digest is unique per call. */
export function visa(fields: Pick<ValidVisa, 'type' | 'value'> & Partial<ValidVisa>): ValidVisa {
  counter += 1;
  return {
    source: 'https://trusted.test',
    by: null,
    asserted: 1_700_000_000,
    issuer: 'https://visas.test',
    subject: 'someone',
    expiresAt: 4_000_000_000,
    digest: createHash('sha256').update(`visa-${counter}`).digest('hex'),
    ...fields,
  };
}
