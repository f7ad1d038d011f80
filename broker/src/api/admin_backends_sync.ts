/**
 * POST /api/v1/admin/backends/{id}/sync: rediscovers the backend's panels now (Cloudgene app
 * discovery, a WES/DNAstack node's configured panels checked against the node) instead of at
 * the next health check. A backend that does not answer is a 502 and keeps its last catalog.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { ApiError, notFound } from '../http/errors';
import { auditChange, BackendIdParam, NO_STORE, panelEntry, PanelEntrySchema, requireBackendAdmin } from './backends_shared';
import { adminErrorResponses } from './admin_shared';
import { ErrorSchema } from './openapi';

const Body = z
  .object({
    backend: z.string(),
    discovered_at: z.string().openapi({ format: 'date-time' }),
    app_id: z.string(),
    app_version: z.string(),
    builds: z.array(z.string()),
    panels: z.array(PanelEntrySchema),
  })
  .openapi('BackendSync');

const route = createRoute({
  method: 'post',
  path: '/api/v1/admin/backends/{id}/sync',
  operationId: 'SyncBackend',
  summary: "Rediscover a backend's panels now (administrators)",
  security: [{ bearerAuth: [] }],
  request: { params: BackendIdParam },
  responses: {
    200: { description: 'The catalog just discovered', content: { 'application/json': { schema: Body } } },
    ...adminErrorResponses,
    502: { description: 'The backend did not answer; its last known catalog is kept', content: { 'application/json': { schema: ErrorSchema } } },
  },
});

export function registerAdminBackendsSync(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate, requireBackendAdmin(deps));
  api.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const meta = deps.registry.meta(id);
    if (!deps.registry.get(id) || !meta) throw notFound(`No such backend on this broker. Backends: ${deps.registry.ids().join(', ') || '(none)'}.`);
    let catalog;
    try {
      catalog = (await deps.registry.refreshCatalog(id, { throwOnError: true }))!;
    } catch (err) {
      throw new ApiError(502, `Backend ${id} did not give its catalog: ${(err as Error).message}. The last known catalog is kept.`);
    }
    await auditChange(deps, c, 'synced', { row: { id, version: meta.version }, changed: [], secretChanged: false }, { panels: catalog.panels.length });
    const available = deps.registry.usable(id);
    return c.json(
      {
        backend: id,
        discovered_at: new Date().toISOString(),
        app_id: catalog.appId,
        app_version: catalog.appVersion,
        builds: catalog.builds,
        panels: catalog.panels.map((p) => panelEntry(id, p, available)),
      },
      200,
      NO_STORE,
    );
  });
}
