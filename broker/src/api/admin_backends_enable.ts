/**
 * POST /api/v1/admin/backends/{id}/enable: the backend takes new runs again. Also lifts a
 * deactivation by the health monitor and restarts its outage clock.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { switchBackend } from '../backends/admin';
import type { AppDeps, AppEnv } from '../http/context';
import { actorOf, auditChange, backendDetail, BackendDetailSchema, BackendIdParam, NO_STORE, requireBackendAdmin } from './backends_shared';
import { adminErrorResponses } from './admin_shared';

const route = createRoute({
  method: 'post',
  path: '/api/v1/admin/backends/{id}/enable',
  operationId: 'EnableBackend',
  summary: 'Let a disabled or deactivated backend take new runs again (administrators)',
  security: [{ bearerAuth: [] }],
  request: { params: BackendIdParam },
  responses: {
    200: { description: 'Enabled', content: { 'application/json': { schema: BackendDetailSchema } } },
    ...adminErrorResponses,
  },
});

export function registerAdminBackendsEnable(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate, requireBackendAdmin(deps));
  api.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const before = deps.registry.meta(id);
    const result = await switchBackend({ registry: deps.registry, actor: actorOf(c) }, id, true, null);
    await auditChange(deps, c, 'enabled', result, { was_deactivated: Boolean(before?.deactivatedAt) });
    return c.json(await backendDetail(deps, id, { admin: true }), 200, NO_STORE);
  });
}
