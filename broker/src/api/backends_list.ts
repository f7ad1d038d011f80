/** GET /api/v1/backends: every backend of this broker, its health in one word, and what it offers. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { BACKEND_STATUSES, backendStatus } from '../backends/status';
import type { AppDeps, AppEnv } from '../http/context';
import { errorResponses } from './openapi';

const BackendSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.string(),
    location: z.string().nullable(),
    source: z.enum(['config', 'admin']),
    enabled: z.boolean().openapi({ description: 'False when an administrator switched it off: no new runs' }),
    status: z.enum(BACKEND_STATUSES).openapi({ description: 'up, slow, down, deactivated, disabled or unknown (not checked yet)' }),
    healthy: z.boolean(),
    active_runs: z.number().int(),
    max_concurrent_jobs: z.number().int(),
    builds: z.array(z.string()),
    panels: z.array(z.string()),
    demo: z.boolean(),
  })
  .openapi('Backend');

const route = createRoute({
  method: 'get',
  path: '/api/v1/backends',
  operationId: 'ListBackends',
  summary: 'The imputation services this broker can send runs to, with their health',
  security: [{ bearerAuth: [] }],
  responses: {
    200: { description: 'Backends', content: { 'application/json': { schema: z.object({ backends: z.array(BackendSchema) }) } } },
    ...errorResponses,
  },
});

export function registerBackendsList(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const views = await deps.registry.views();
    const backends = await Promise.all(
      views.map(async (v) => {
        const backend = deps.registry.get(v.id);
        const meta = deps.registry.meta(v.id);
        const state = await deps.registry.state(v.id);
        return {
          id: v.id,
          name: v.name,
          kind: v.kind,
          location: backend?.config.location ?? null,
          source: meta?.source ?? 'config',
          enabled: v.enabled,
          status: backendStatus({ enabled: v.enabled, deactivatedAt: meta?.deactivatedAt ?? null }, state, deps.config.health.slowMs),
          healthy: v.healthy,
          active_runs: v.activeRuns,
          max_concurrent_jobs: v.maxConcurrentJobs,
          builds: v.catalog?.builds ?? [],
          panels: v.catalog?.panels.map((p) => p.id) ?? [],
          demo: backend?.config.demo ?? false,
        };
      }),
    );
    return c.json({ backends }, 200);
  });
}
