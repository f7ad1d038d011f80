/**
 * Loads a run for an action, asking the policy. A caller who may not read it gets 404, so run
 * ids of others are not confirmed; one who may read it but not do more gets 403 with the reason.
 */
import type { Context } from 'hono';
import type { PolicyResource } from '../auth/policy/index';
import type { Run } from '../db/entities';
import type { AppDeps, AppEnv } from '../http/context';
import { notFound } from '../http/errors';

/** Datasets a run belongs to: its WES tag `dataset` (comma-separated ids). */
export function runResource(run: Run): PolicyResource {
  const datasets = (run.tags.dataset ?? '').split(',').map((d) => d.trim()).filter(Boolean);
  return { kind: 'run', ownerIssuer: run.ownerIssuer, ownerSubject: run.ownerSubject, datasets };
}

export async function runFor(deps: AppDeps, c: Context<AppEnv>, id: string, action: 'runs:read' | 'runs:cancel'): Promise<Run> {
  const run = await deps.runs.get(id);
  const resource = runResource(run);
  const hidden = notFound(`Run '${id.slice(0, 80)}' was not found.`);
  if (action === 'runs:read') {
    await deps.access.require(c, 'runs:read', resource, hidden);
    return run;
  }
  const mayRead = (await deps.access.check(c, 'runs:read', resource)).allow;
  await deps.access.require(c, action, resource, mayRead ? undefined : hidden);
  return run;
}
