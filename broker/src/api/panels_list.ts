/**
 * GET /api/v1/panels: one entry per (backend, panel), as discovered from each backend (Cloudgene
 * app discovery) or configured (WES nodes, DNAstack), with populations, build and, where known,
 * sample and variant counts. Filters: population, build (the panel's own), backend.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { notFound } from '../http/errors';
import { panelEntry, PanelEntrySchema } from './backends_shared';
import { errorResponses } from './openapi';

const Query = z.object({
  population: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'a population id is 1 to 32 letters, digits, "_" or "-", e.g. afr')
    .optional()
    .openapi({ example: 'afr', description: 'Only panels offering this population (case-insensitive)' }),
  build: z.enum(['hg19', 'hg38'], { error: 'build must be hg19 or hg38' }).optional().openapi({ description: "The panel's own build" }),
  backend: z.string().max(64).optional().openapi({ example: 'afrigen', description: 'Only the panels of this backend' }),
});

const route = createRoute({
  method: 'get',
  path: '/api/v1/panels',
  operationId: 'ListPanels',
  summary: 'Reference panels of every backend, filterable by population, build and backend',
  security: [{ bearerAuth: [] }],
  request: { query: Query },
  responses: {
    200: { description: 'Panels', content: { 'application/json': { schema: z.object({ panels: z.array(PanelEntrySchema) }) } } },
    ...errorResponses,
  },
});

export function registerPanelsList(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const q = c.req.valid('query');
    if (q.backend !== undefined && !deps.registry.get(q.backend)) {
      // The id is not echoed back: only ids this broker has are.
      throw notFound(`backend: no such backend on this broker. Backends: ${deps.registry.ids().join(', ') || '(none)'}.`);
    }
    const views = await deps.registry.views();
    const wanted = q.population?.toLowerCase();
    const panels = views
      .filter((v) => q.backend === undefined || v.id === q.backend)
      .flatMap((v) => (v.catalog?.panels ?? []).map((p) => panelEntry(v.id, p, v.enabled && !v.deactivated)))
      .filter((p) => !q.build || p.build === q.build)
      .filter((p) => !wanted || p.populations.some((x) => x.id.toLowerCase() === wanted));
    return c.json({ panels }, 200);
  });
}
