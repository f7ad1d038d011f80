/**
 * PATCH /api/v1/admin/backends/{id}: changes an admin-defined backend (JSON merge patch: the
 * fields given replace, null removes an optional one, `token` replaces the secret). Backends of
 * CONFIG_FILE are changed there (409). `If-Match: "<version>"` makes the change conditional.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { updateBackend } from '../backends/admin';
import type { AppDeps, AppEnv } from '../http/context';
import { badRequest } from '../http/errors';
import { actorOf, auditChange, backendDetail, BackendDetailSchema, BackendIdParam, NO_STORE, requireBackendAdmin } from './backends_shared';
import { adminErrorResponses } from './admin_shared';

const Patch = z.record(z.string(), z.unknown()).openapi('BackendPatch', {
  description:
    'Any field of BackendInput but id, kind and enabled; null removes an optional field; token replaces the secret (null removes it, WES nodes only).',
  example: { name: 'AfriGen-D (new host)', url: 'https://impute.afrigen-d.org', maxConcurrentJobs: 3 },
});

const route = createRoute({
  method: 'patch',
  path: '/api/v1/admin/backends/{id}',
  operationId: 'UpdateBackend',
  summary: 'Change a backend defined through the admin API (administrators)',
  security: [{ bearerAuth: [] }],
  request: {
    params: BackendIdParam,
    headers: z.object({ 'if-match': z.string().optional().openapi({ description: 'The version you read (ETag), e.g. "3"' }) }),
    body: { required: true, content: { 'application/json': { schema: Patch } } },
  },
  responses: {
    200: { description: 'Changed', content: { 'application/json': { schema: BackendDetailSchema } } },
    ...adminErrorResponses,
  },
});

/** `"3"`, `W/"3"` or `3`; null when absent. */
function expectedVersion(header: string | undefined): number | null {
  if (header === undefined) return null;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!m) throw badRequest('If-Match: give the version you read, as the ETag of GET /api/v1/backends/{id} says, e.g. "3"');
  return Number(m[1]);
}

export function registerAdminBackendsPatch(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate, requireBackendAdmin(deps));
  api.openapi(
    route,
    async (c) => {
      const { id } = c.req.valid('param');
      const version = expectedVersion(c.req.header('if-match'));
      const result = await updateBackend({ registry: deps.registry, ...(deps.vault ? { vault: deps.vault } : {}), actor: actorOf(c) }, id, c.req.valid('json'), version);
      await auditChange(deps, c, 'updated', result);
      return c.json(await backendDetail(deps, id, { admin: true }), 200, { ...NO_STORE, ETag: `"${result.row.version}"` });
    },
    (result) => {
      if (result.success) return undefined;
      const issue = result.error.issues[0];
      const where = issue?.path.map(String).join('.') || 'body';
      throw badRequest(`${where === 'body' || where === '' ? 'body' : where}: a JSON object with the settings to change (null removes an optional one)`);
    },
  );
}
