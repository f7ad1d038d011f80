/**
 * OPTIONS /objects/{object_id} (OptionsObject) and OPTIONS /objects (OptionsBulkObject): how to
 * authorize the object routes, without credentials. The answer is the same for every object
 * (bearer tokens from the trusted issuers, or passports with visas from the trusted visa
 * issuers), so it is given for any id that could name an object, and says nothing about whether
 * that object exists or who may read it; an id that cannot be an object id is 404.
 *
 * A CORS pre-flight on the same URL never reaches these handlers (see index.ts).
 */
import type { BulkAuthorizationsResponse, Authorizations } from '@ibroker/api-spec/index';
import type { App, AppDeps } from '../http/context';
import { hiddenObject, readJsonBody } from './caller';
import { bulkObjectIds, Unresolved } from './bulk';
import { isObjectId } from './objects';
import { authorizationsFor } from './views';

export function registerObjectsOptions(app: App, deps: AppDeps): void {
  app.options('/ga4gh/drs/v1/objects/:object_id', (c) => {
    const id = c.req.param('object_id');
    if (!isObjectId(id)) throw hiddenObject(id);
    return c.json(authorizationsFor(id.toLowerCase(), deps.authorizationInfo) satisfies Authorizations, 200);
  });
  app.options('/ga4gh/drs/v1/objects', async (c) => {
    const body = await readJsonBody(c.req.raw);
    const ids = bulkObjectIds(body, deps.config.drs.maxBulkRequestLength);
    const unresolved = new Unresolved();
    const resolved: Authorizations[] = [];
    for (const id of ids) {
      if (isObjectId(id)) resolved.push(authorizationsFor(id.toLowerCase(), deps.authorizationInfo));
      else unresolved.add(404, id);
    }
    const answer: BulkAuthorizationsResponse = {
      summary: unresolved.summary(ids.length, resolved.length),
      resolved_drs_object: resolved,
      unresolved_drs_objects: unresolved.list(),
    };
    return c.json(answer, 200);
  });
}
