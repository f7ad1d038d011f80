/** GET /api/v1/backends/{id}: one backend in full (health, switches, limits, catalog); settings for administrators. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { backendDetail, BackendDetailSchema, BackendIdParam, isAdmin } from './backends_shared';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'get',
  path: '/api/v1/backends/{id}',
  operationId: 'GetBackend',
  summary: 'One backend: health, switches, limits and catalog (and its settings, for administrators)',
  security: [{ bearerAuth: [] }],
  request: { params: BackendIdParam },
  responses: {
    200: { description: 'The backend (ETag: its version)', content: { 'application/json': { schema: BackendDetailSchema } } },
    ...errorResponses,
  },
});

export function registerBackendsGet(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const view = await backendDetail(deps, id, { admin: await isAdmin(deps, c) });
    return c.json(view, 200, { ETag: `"${view.version}"` });
  });
}
