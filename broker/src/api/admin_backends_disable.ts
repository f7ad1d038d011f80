/**
 * POST /api/v1/admin/backends/{id}/disable: no new runs go there (runs already on it are still
 * followed to the end). Works for CONFIG_FILE backends too, and survives restarts.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { switchBackend } from '../backends/admin';
import type { AppDeps, AppEnv } from '../http/context';
import { badRequest } from '../http/errors';
import { actorOf, auditChange, backendDetail, BackendDetailSchema, BackendIdParam, NO_STORE, requireBackendAdmin } from './backends_shared';
import { adminErrorResponses } from './admin_shared';

const Body = z
  .object({ reason: z.string().trim().min(1).max(500, 'reason: at most 500 characters').optional().openapi({ example: 'Maintenance until Monday' }) })
  .strict()
  .openapi('BackendDisable');

const route = createRoute({
  method: 'post',
  path: '/api/v1/admin/backends/{id}/disable',
  operationId: 'DisableBackend',
  summary: 'Send no new runs to a backend (administrators); runs already there are followed',
  security: [{ bearerAuth: [] }],
  request: { params: BackendIdParam, body: { required: false, content: { 'application/json': { schema: Body } } } },
  responses: {
    200: { description: 'Disabled', content: { 'application/json': { schema: BackendDetailSchema } } },
    ...adminErrorResponses,
  },
});

export function registerAdminBackendsDisable(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate, requireBackendAdmin(deps));
  api.openapi(
    route,
    async (c) => {
      const { id } = c.req.valid('param');
      const reason = (c.req.valid('json') as z.infer<typeof Body> | undefined)?.reason ?? null;
      const result = await switchBackend({ registry: deps.registry, actor: actorOf(c) }, id, false, reason);
      await auditChange(deps, c, 'disabled', result, { reason });
      return c.json(await backendDetail(deps, id, { admin: true }), 200, NO_STORE);
    },
    (result) => {
      if (result.success) return undefined;
      const issue = result.error.issues[0];
      const key = issue?.code === 'unrecognized_keys' ? 'body' : issue?.path.map(String).join('.') || 'body';
      throw badRequest(`${key}: the body is optional; if given, {"reason": "<1 to 500 characters>"}`);
    },
  );
}
