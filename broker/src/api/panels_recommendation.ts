/**
 * GET /api/v1/panels/recommendation?ancestry=AFR&build=hg38: every (backend, panel) that can
 * take the cohort, ranked for its ancestry, each with a score, the reasons and the
 * workflow_params to submit it with (backends/recommend.ts says how the score is made).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { ANCESTRIES, recommendPanels, type Ancestry, type RecommendBackend } from '../backends/recommend';
import { backendStatus } from '../backends/status';
import type { AppDeps, AppEnv } from '../http/context';
import { badRequest, notFound } from '../http/errors';
import { panelEntry, PanelEntrySchema } from './backends_shared';
import { errorResponses } from './openapi';

const ancestryError = `ancestry must be one of ${ANCESTRIES.join(', ')} (a 1000 Genomes super-population, mixed, or unknown)`;

const Query = z.object({
  ancestry: z
    .string({ error: ancestryError })
    .transform((v, ctx) => {
      const found = ANCESTRIES.find((a) => a.toLowerCase() === v.trim().toLowerCase());
      if (!found) {
        ctx.addIssue({ code: 'custom', message: ancestryError });
        return z.NEVER;
      }
      return found;
    })
    .openapi({ type: 'string', enum: [...ANCESTRIES], example: 'AFR', description: "The cohort's ancestry (case-insensitive)" }),
  build: z.enum(['hg19', 'hg38'], { error: 'build must be hg19 or hg38 (the build of your VCF files)' }).openapi({ example: 'hg38' }),
  backend: z.string().max(64).optional().openapi({ description: 'Only panels of this backend' }),
  panel: z.string().max(128).optional().openapi({ description: 'Only this panel id (e.g. to check it fits your build)' }),
});

const Recommendation = z
  .object({
    rank: z.number().int(),
    backend: z.string(),
    backend_name: z.string(),
    panel: PanelEntrySchema,
    score: z.number().int(),
    scores: z.object({ population: z.number(), size: z.number(), build: z.number(), health: z.number(), capacity: z.number() }),
    liftover: z.boolean().openapi({ description: 'The service lifts the input over to the panel build' }),
    reasons: z.array(z.string()),
    params: z
      .object({ backend: z.string(), refpanel: z.string(), population: z.string(), build: z.string() })
      .openapi({ description: 'workflow_params to submit the run with' }),
  })
  .openapi('PanelRecommendation');

const Body = z.object({
  ancestry: z.string(),
  build: z.string(),
  recommendations: z.array(Recommendation),
  excluded: z.array(z.object({ backend: z.string(), panel: z.string().nullable(), reason: z.string() })),
});

const route = createRoute({
  method: 'get',
  path: '/api/v1/panels/recommendation',
  operationId: 'RecommendPanels',
  summary: 'Reference panels ranked for a cohort of the given ancestry and build, with the reasons',
  security: [{ bearerAuth: [] }],
  request: { query: Query },
  responses: {
    200: { description: 'Ranked panels, best first', content: { 'application/json': { schema: Body } } },
    ...errorResponses,
  },
});

export function registerPanelsRecommendation(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const ancestry = q.ancestry as Ancestry;
    if (q.backend !== undefined && !deps.registry.get(q.backend)) {
      throw notFound(`backend: no such backend on this broker. Backends: ${deps.registry.ids().join(', ') || '(none)'}.`);
    }
    const views = (await deps.registry.views()).filter((v) => q.backend === undefined || v.id === q.backend);
    const backends: RecommendBackend[] = await Promise.all(
      views.map(async (v) => {
        const state = await deps.registry.state(v.id);
        const meta = deps.registry.meta(v.id);
        return {
          id: v.id,
          name: v.name,
          status: backendStatus({ enabled: v.enabled, deactivatedAt: meta?.deactivatedAt ?? null }, state, deps.config.health.slowMs),
          latencyMs: state.latencyMs,
          catalog: v.catalog,
          activeRuns: v.activeRuns,
          maxConcurrentJobs: v.maxConcurrentJobs,
        };
      }),
    );
    if (q.panel !== undefined) {
      const offering = backends.filter((b) => b.catalog?.panels.some((p) => p.id === q.panel));
      if (!offering.length) {
        const ids = [...new Set(backends.flatMap((b) => b.catalog?.panels.map((p) => p.id) ?? []))].sort();
        throw notFound(`panel: no backend${q.backend ? ` ${q.backend}` : ''} offers it. Panels: ${ids.join(', ') || '(none known yet)'}.`);
      }
      for (const b of backends) if (b.catalog) b.catalog = { ...b.catalog, panels: b.catalog.panels.filter((p) => p.id === q.panel) };
    }
    const result = recommendPanels(backends, ancestry, q.build);
    if (q.panel !== undefined && !result.recommendations.length) {
      const why = result.excluded.map((e) => e.reason).join('; ');
      throw badRequest(`panel ${q.panel} cannot take ${q.build} input on any backend that takes runs: ${why || 'no backend offers it'}.`);
    }
    return c.json(
      {
        ancestry,
        build: q.build,
        recommendations: result.recommendations.map((r) => {
          const available = true;
          return {
            rank: r.rank,
            backend: r.backend,
            backend_name: r.backendName,
            panel: panelEntry(r.backend, r.panel, available),
            score: r.score,
            scores: r.scores,
            liftover: r.liftover,
            reasons: r.reasons,
            params: { backend: r.backend, refpanel: r.panel.id, population: r.population, build: q.build },
          };
        }),
        excluded: result.excluded,
      },
      200,
    );
  });
}
