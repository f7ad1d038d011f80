/**
 * GET /objects/{object_id} (GetObject, bearer token) and POST /objects/{object_id} (PostObject,
 * Passports in the body or a bearer token): the object's metadata, a bundle's contents (nested
 * ones with `expand`).
 */
import type { Context } from 'hono';
import type { DrsObject } from '@ibroker/api-spec/index';
import type { StoredObject } from '../db/entities';
import type { App, AppDeps, AppEnv } from '../http/context';
import { drsCaller, expandOf, passportsOf, readableObject, readJsonBody, type DrsCaller } from './caller';
import { byParent, drsObjectView } from './views';

/** The DRS view of an object the caller may read, with a bundle's contents. */
export async function objectView(deps: AppDeps, object: StoredObject, expand: boolean): Promise<DrsObject> {
  if (object.role !== 'bundle') return drsObjectView(deps.urls, object, deps.authorizationInfo);
  const listed = expand ? await deps.objects.descendants(object.id) : await deps.objects.children(object.id);
  return drsObjectView(deps.urls, object, deps.authorizationInfo, { byParent: byParent(listed), expand });
}

async function answer(deps: AppDeps, c: Context<AppEnv>, caller: DrsCaller, expand: boolean) {
  const object = await readableObject(deps, c, caller, c.req.param('object_id') ?? '');
  return c.json(await objectView(deps, object, expand), 200);
}

export function registerObjectsGet(app: App, deps: AppDeps): void {
  app.get('/ga4gh/drs/v1/objects/:object_id', async (c) => {
    const expand = expandOf(c.req.query('expand'));
    return answer(deps, c, await drsCaller(deps, c, []), expand);
  });
  app.post('/ga4gh/drs/v1/objects/:object_id', async (c) => {
    const body = await readJsonBody(c.req.raw);
    const expand = expandOf(body.expand ?? c.req.query('expand'));
    return answer(deps, c, await drsCaller(deps, c, passportsOf(body)), expand);
  });
}
