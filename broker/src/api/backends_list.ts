/** GET /api/v1/backends and GET /api/v1/panels: the configured services and their discovered panels. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { errorResponses } from './openapi';

const Population = z.object({ id: z.string(), label: z.string() });
const PanelSchema = z
  .object({
    backend: z.string(),
    key: z.string().openapi({ example: 'apps@1000g-phase-3-v5@2.0.0' }),
    id: z.string().openapi({ example: '1000g-phase-3-v5' }),
    version: z.string().nullable(),
    label: z.string(),
    build: z.enum(['hg19', 'hg38']).nullable(),
    populations: z.array(Population),
  })
  .openapi('Panel');

const BackendSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.string(),
    healthy: z.boolean(),
    active_runs: z.number().int(),
    max_concurrent_jobs: z.number().int(),
    builds: z.array(z.string()),
    panels: z.array(z.string()),
    demo: z.boolean(),
  })
  .openapi('Backend');

const listBackends = createRoute({
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

const listPanels = createRoute({
  method: 'get',
  path: '/api/v1/panels',
  operationId: 'ListPanels',
  summary: 'Reference panels discovered from every backend, filterable',
  security: [{ bearerAuth: [] }],
  request: {
    query: z.object({
      population: z.string().max(64).optional().openapi({ example: 'afr' }),
      build: z.enum(['hg19', 'hg38']).optional(),
      backend: z.string().max(64).optional(),
    }),
  },
  responses: {
    200: { description: 'Panels', content: { 'application/json': { schema: z.object({ panels: z.array(PanelSchema) }) } } },
    ...errorResponses,
  },
});

export function registerBackendsList(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(listBackends.getRoutingPath(), deps.authenticate);
  api.use(listPanels.getRoutingPath(), deps.authenticate);
  api.openapi(listBackends, async (c) => {
    const views = await deps.registry.views();
    return c.json(
      {
        backends: views.map((v) => ({
          id: v.id,
          name: v.name,
          kind: v.kind,
          healthy: v.healthy,
          active_runs: v.activeRuns,
          max_concurrent_jobs: v.maxConcurrentJobs,
          builds: v.catalog?.builds ?? [],
          panels: v.catalog?.panels.map((p) => p.id) ?? [],
          demo: deps.registry.get(v.id)?.config.demo ?? false,
        })),
      },
      200,
    );
  });
  api.openapi(listPanels, async (c) => {
    const q = c.req.valid('query');
    const views = await deps.registry.views();
    const panels = views
      .filter((v) => !q.backend || v.id === q.backend)
      .flatMap((v) => (v.catalog?.panels ?? []).map((p) => ({ backend: v.id, ...p })))
      .filter((p) => !q.build || p.build === q.build)
      .filter((p) => !q.population || p.populations.some((x) => x.id.toLowerCase() === q.population!.toLowerCase()));
    return c.json({ panels }, 200);
  });
}
