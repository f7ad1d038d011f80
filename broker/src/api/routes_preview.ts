/**
 * POST /api/v1/routes/preview: where `backend: auto` (or a named backend) would send a run with
 * these parameters now, why, and the order failover would try the others in, without submitting
 * anything. The same checks and messages as POST /ga4gh/wes/v1/runs (runs/params.ts).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { parseNotBefore, resolveRun } from '../runs/params';
import { routingCandidates } from '../wes/runs_post';
import { errorResponses } from './openapi';

export const RouteCandidateSchema = z
  .object({
    backend: z.string(),
    name: z.string(),
    eligible: z.boolean(),
    reason: z.string().openapi({ description: 'How the backend stands (eligible) or why it cannot take the run' }),
  })
  .openapi('RouteCandidate');

const PreviewSchema = z
  .object({
    backend: z.string().openapi({ description: 'The backend the run would go to' }),
    reasons: z.array(z.string()),
    candidates: z.array(RouteCandidateSchema).openapi({ description: 'In the order failover would try them; ineligible ones last' }),
  })
  .openapi('RoutePreview');

const route = createRoute({
  method: 'post',
  path: '/api/v1/routes/preview',
  operationId: 'PreviewRoute',
  summary: 'Where a run with these parameters would go now, why, and the failover order (nothing is submitted)',
  security: [{ bearerAuth: [] }],
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              workflow_params: z.record(z.string(), z.unknown()).openapi({
                description: 'As in a WES run (files may be left out)',
                example: { refpanel: '1000g-phase-3-v5', population: 'eur', build: 'hg19', backend: 'auto' },
              }),
              detected_build: z.enum(['hg19', 'hg38']).optional().openapi({ description: "The build of the files (as an upload's `vcf.build` says), used when workflow_params.build is absent" }),
            })
            .openapi('RoutePreviewRequest'),
        },
      },
    },
  },
  responses: {
    200: { description: 'The route', content: { 'application/json': { schema: PreviewSchema } } },
    ...errorResponses,
  },
});

export function registerRoutesPreview(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const params = { ...body.workflow_params };
    parseNotBefore(params.not_before);
    const resolved = resolveRun(params, await routingCandidates(deps), body.detected_build ?? null);
    return c.json({ backend: resolved.backendId, reasons: resolved.reasons, candidates: resolved.candidates }, 200);
  });
}
