/**
 * GET /objects/{object_id}/access/{access_id} (GetAccessURL, bearer token) and its POST twin
 * (PostAccessURL, Passports in the body or a bearer token): for the access id `signed`, a
 * short-lived link that needs no token, made for this caller and this object.
 */
import type { Context } from 'hono';
import type { AccessURL } from '@ibroker/api-spec/index';
import { ownerKey } from '../auth/principal';
import type { StoredObject } from '../db/entities';
import type { App, AppDeps, AppEnv } from '../http/context';
import { notFound } from '../http/errors';
import { drsCaller, passportsOf, readableObject, readJsonBody, type DrsCaller } from './caller';
import { portableName, SIGNED_ACCESS_ID } from './views';

/** A signed link for `object`, recorded in the audit trail (the link itself is not). */
export async function issueLink(deps: AppDeps, c: Context<AppEnv>, caller: DrsCaller, object: StoredObject, accessId: string): Promise<AccessURL> {
  if (accessId !== SIGNED_ACCESS_ID || object.blobKey === null) {
    const what =
      object.role === 'bundle'
        ? 'is a bundle: fetch the objects it lists'
        : object.referenceUrl !== null
          ? `is kept by its backend at ${object.referenceUrl}; its access_url says where`
          : `has no access method '${accessId.replace(/[^\x20-\x7e]/g, '?').slice(0, 40)}'; ask for '${SIGNED_ACCESS_ID}'`;
    throw notFound(`Object '${object.id}' ${what}.`);
  }
  const link = deps.links.sign(object.id, ownerKey(caller.principal), undefined, portableName(object.name));
  await deps.audit?.record({
    action: 'object.link_issued',
    outcome: 'ok',
    actor: caller.principal,
    object: { kind: 'object', id: object.id },
    details: { expires_at: new Date(link.expiresAt * 1000).toISOString(), via: caller.via, ...(object.runId ? { run: object.runId } : {}) },
    source: deps.audit.source(c),
  });
  return { url: link.url };
}

async function answer(deps: AppDeps, c: Context<AppEnv>, caller: DrsCaller) {
  const object = await readableObject(deps, c, caller, c.req.param('object_id') ?? '');
  const url = await issueLink(deps, c, caller, object, c.req.param('access_id') ?? '');
  c.header('Cache-Control', 'no-store');
  return c.json(url, 200);
}

export function registerAccessGet(app: App, deps: AppDeps): void {
  app.get('/ga4gh/drs/v1/objects/:object_id/access/:access_id', async (c) => answer(deps, c, await drsCaller(deps, c, [])));
  app.post('/ga4gh/drs/v1/objects/:object_id/access/:access_id', async (c) => {
    const body = await readJsonBody(c.req.raw);
    return answer(deps, c, await drsCaller(deps, c, passportsOf(body)));
  });
}
