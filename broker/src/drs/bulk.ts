/**
 * What the three bulk operations share: reading the id list with the limits DRS sets
 * (`maxBulkRequestLength`, 413 beyond it), and grouping the ids that did not resolve by status.
 */
import type { BulkSummary, BulkUnresolved } from '@ibroker/api-spec/index';
import { ApiError, badRequest } from '../http/errors';

const MAX_ID_LENGTH = 256;

function tooMany(n: number, max: number, what: string): ApiError {
  return new ApiError(413, `The request names ${n} ${what}; this server takes at most ${max} per request (maxBulkRequestLength in its service-info). Split it.`);
}

/** `bulk_object_ids`: a non-empty list of strings, at most `max`; duplicates answered once. */
export function bulkObjectIds(body: Record<string, unknown>, max: number): string[] {
  const raw = body.bulk_object_ids;
  if (raw === undefined || raw === null) throw badRequest('bulk_object_ids is required: a list of the object ids to look up.');
  if (!Array.isArray(raw)) throw badRequest('bulk_object_ids must be a list of object ids.');
  if (raw.length === 0) throw badRequest('bulk_object_ids is empty: name at least one object id.');
  if (raw.length > max) throw tooMany(raw.length, max, 'object ids');
  raw.forEach((id, i) => {
    if (typeof id !== 'string' || id === '' || id.length > MAX_ID_LENGTH) {
      throw badRequest(`bulk_object_ids[${i}] must be an object id (a non-empty string of at most ${MAX_ID_LENGTH} characters).`);
    }
  });
  return [...new Set(raw as string[])];
}

export interface AccessPair {
  objectId: string;
  accessId: string;
}

/** `bulk_object_access_ids`: `[{bulk_object_id, bulk_access_ids}]`, at most `max` pairs in all. */
export function bulkAccessPairs(body: Record<string, unknown>, max: number): AccessPair[] {
  const raw = body.bulk_object_access_ids;
  const shape = 'bulk_object_access_ids must be a list of {"bulk_object_id": "<id>", "bulk_access_ids": ["<access id>", ...]}';
  if (raw === undefined || raw === null) throw badRequest(`bulk_object_access_ids is required; ${shape.slice('bulk_object_access_ids must be '.length)}.`);
  if (!Array.isArray(raw) || raw.length === 0) throw badRequest(`${shape}, with at least one entry.`);
  const pairs: AccessPair[] = [];
  raw.forEach((entry, i) => {
    const e = entry as { bulk_object_id?: unknown; bulk_access_ids?: unknown } | null;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw badRequest(`bulk_object_access_ids[${i}]: ${shape}.`);
    if (typeof e.bulk_object_id !== 'string' || e.bulk_object_id === '' || e.bulk_object_id.length > MAX_ID_LENGTH) {
      throw badRequest(`bulk_object_access_ids[${i}].bulk_object_id must be an object id.`);
    }
    if (!Array.isArray(e.bulk_access_ids) || e.bulk_access_ids.length === 0 || e.bulk_access_ids.some((a) => typeof a !== 'string' || a === '' || a.length > MAX_ID_LENGTH)) {
      throw badRequest(`bulk_object_access_ids[${i}].bulk_access_ids must be a non-empty list of access ids.`);
    }
    for (const accessId of e.bulk_access_ids as string[]) {
      pairs.push({ objectId: e.bulk_object_id, accessId });
      if (pairs.length > max) throw tooMany(raw.reduce((n: number, x) => n + (Array.isArray((x as { bulk_access_ids?: unknown })?.bulk_access_ids) ? ((x as { bulk_access_ids: unknown[] }).bulk_access_ids.length) : 0), 0), max, '(object, access id) pairs');
    }
  });
  return pairs;
}

/** Collects the ids that did not resolve, by the status a single request would have answered. */
export class Unresolved {
  private readonly byCode = new Map<number, string[]>();

  add(code: number, id: string): void {
    this.byCode.set(code, [...(this.byCode.get(code) ?? []), id]);
  }

  get count(): number {
    let n = 0;
    for (const ids of this.byCode.values()) n += ids.length;
    return n;
  }

  list(): BulkUnresolved {
    return [...this.byCode].sort(([a], [b]) => a - b).map(([error_code, object_ids]) => ({ error_code, object_ids }));
  }

  summary(requested: number, resolved: number): BulkSummary {
    return { requested, resolved, unresolved: this.count };
  }
}
