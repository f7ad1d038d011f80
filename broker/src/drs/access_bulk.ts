/**
 * POST /objects/access (GetBulkAccessURL): signed links for many (object, access id) pairs in one
 * request, each answered as GetAccessURL would answer it.
 */
import type { BulkAccessURL, BulkAccessURLsResponse } from '@ibroker/api-spec/index';
import type { App, AppDeps } from '../http/context';
import { ApiError } from '../http/errors';
import { issueLink } from './access_get';
import { drsCaller, passportsOf, readJsonBody, readVerdict } from './caller';
import { bulkAccessPairs, Unresolved } from './bulk';
import { auditBulkDenials } from './objects_bulk';

export function registerAccessBulk(app: App, deps: AppDeps): void {
  app.post('/ga4gh/drs/v1/objects/access', async (c) => {
    const body = await readJsonBody(c.req.raw);
    const pairs = bulkAccessPairs(body, deps.config.drs.maxBulkRequestLength);
    const caller = await drsCaller(deps, c, passportsOf(body));
    const found = await deps.objects.getMany(pairs.map((p) => p.objectId));
    const resolved: BulkAccessURL[] = [];
    const unresolved = new Unresolved();
    const denied = new Set<string>();
    for (const { objectId, accessId } of pairs) {
      const object = found.get(objectId.toLowerCase()) ?? null;
      const verdict = readVerdict(deps, caller, objectId, object);
      if (!verdict.allow) {
        unresolved.add(verdict.error.status, objectId);
        if (verdict.decision && object) denied.add(object.id);
        continue;
      }
      try {
        const url = await issueLink(deps, c, caller, object!, accessId);
        resolved.push({ drs_object_id: object!.id, drs_access_id: accessId, ...url });
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        unresolved.add(err.status, objectId);
      }
    }
    await auditBulkDenials(deps, c, caller, [...denied], 'GetBulkAccessURL');
    c.header('Cache-Control', 'no-store');
    const answer: BulkAccessURLsResponse = {
      summary: unresolved.summary(pairs.length, resolved.length),
      resolved_drs_object_access_urls: resolved,
      unresolved_drs_objects: unresolved.list(),
    };
    return c.json(answer, 200);
  });
}
