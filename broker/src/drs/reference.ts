/**
 * Results a backend keeps where the broker cannot read them (a bucket of its own), registered by
 * reference: when DRS can describe them, and how.
 */
import type { AccessMethod } from '@ibroker/api-spec/index';
import type { StoredObject } from '../db/entities';

/** The DRS access method type of a result kept by its backend, if DRS has one for that storage. */
export function referenceAccessType(o: StoredObject): AccessMethod['type'] | null {
  switch (o.referenceType) {
    case 's3':
    case 'gs':
    case 'https':
    case 'file':
      return o.referenceType;
    case 'azure':
      return o.referenceUrl?.startsWith('https://') ? 'https' : null;
    default:
      return null;
  }
}

/**
 * A result kept by the backend is a DRS object only when DRS can describe it: a checksum stated
 * (DRS requires one) and a storage DRS has an access method type for.
 */
export function servable(o: StoredObject): boolean {
  return o.referenceUrl === null || (o.statedChecksums.length > 0 && referenceAccessType(o) !== null);
}

