/**
 * POST /objects (GetBulkObjects): many objects in one request, with one set of credentials
 * (Passports in the body or a bearer token). Each id is answered as GetObject would answer it:
 * resolved, or listed under the status a single request would have got (404, 403).
 */
import type { Context } from 'hono';
import type { BulkObjectsResponse, DrsObject } from '@ibroker/api-spec/index';
import type { App, AppDeps, AppEnv } from '../http/context';
import { drsCaller, expandOf, passportsOf, readJsonBody, readVerdict, type DrsCaller } from './caller';
import { bulkObjectIds, Unresolved } from './bulk';
import { objectView } from './objects_get';

/** Audits the refusals of one bulk request as one event (not one per id). */
export async function auditBulkDenials(deps: AppDeps, c: Context<AppEnv>, caller: DrsCaller, denied: string[], action: string): Promise<void> {
  if (!denied.length) return;
  await deps.audit?.record({
    action: 'policy.denied',
    outcome: 'denied',
    actor: caller.principal,
    object: { kind: 'object', id: denied.length === 1 ? denied[0]! : null },
    reason: `objects:read: refused for ${denied.length} object(s) of a bulk request`,
    details: { action, objects: denied.slice(0, 50), via: caller.via },
    source: deps.audit.source(c),
  });
}

export function registerObjectsBulk(app: App, deps: AppDeps): void {
  app.post('/ga4gh/drs/v1/objects', async (c) => {
    const body = await readJsonBody(c.req.raw);
    const ids = bulkObjectIds(body, deps.config.drs.maxBulkRequestLength);
    const expand = expandOf(c.req.query('expand') ?? body.expand);
    const caller = await drsCaller(deps, c, passportsOf(body));
    const found = await deps.objects.getMany(ids);
    const resolved: DrsObject[] = [];
    const unresolved = new Unresolved();
    const denied: string[] = [];
    for (const id of ids) {
      const object = found.get(id.toLowerCase()) ?? null;
      const verdict = readVerdict(deps, caller, id, object);
      if (verdict.allow) {
        resolved.push(await objectView(deps, object!, expand));
      } else {
        unresolved.add(verdict.error.status, id);
        if (verdict.decision && object) denied.push(object.id);
      }
    }
    await auditBulkDenials(deps, c, caller, denied, 'GetBulkObjects');
    const answer: BulkObjectsResponse = {
      summary: unresolved.summary(ids.length, resolved.length),
      resolved_drs_object: resolved,
      unresolved_drs_objects: unresolved.list(),
    };
    return c.json(answer, 200);
  });
}
