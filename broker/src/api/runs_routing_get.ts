/**
 * GET /api/v1/runs/{run_id}/routing: how the run was routed: the backend asked for, the one it
 * is on, why, each submission attempt (failovers included), its schedule and its batch.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { runFor } from '../wes/guard';
import { errorResponses } from './openapi';

const AttemptSchema = z
  .object({
    backend: z.string(),
    started_at: z.string(),
    outcome: z.enum(['submitted', 'failed_over', 'failed']),
    message: z.string(),
  })
  .openapi('RoutingAttempt');

const RoutingSchema = z
  .object({
    requested_backend: z.string().openapi({ description: "'auto' or the backend id the client named" }),
    backend: z.string().nullable(),
    reasons: z.array(z.string()),
    attempts: z.array(AttemptSchema),
    not_before: z.string().nullable(),
    batch_id: z.string().nullable(),
  })
  .openapi('RunRouting');

const route = createRoute({
  method: 'get',
  path: '/api/v1/runs/{run_id}/routing',
  operationId: 'GetRunRouting',
  summary: 'How a run was routed: the choice and why, every submission attempt (failovers), its schedule and batch',
  security: [{ bearerAuth: [] }],
  request: { params: z.object({ run_id: z.string() }) },
  responses: {
    200: { description: 'The routing', content: { 'application/json': { schema: RoutingSchema } } },
    ...errorResponses,
  },
});

export function registerRunsRoutingGet(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const run = await runFor(deps, c, c.req.valid('param').run_id, 'runs:read');
    return c.json(
      {
        requested_backend: run.requestedBackend,
        backend: run.backendId,
        reasons: run.reasons,
        attempts: run.attempts,
        not_before: run.notBefore?.toISOString() ?? null,
        batch_id: run.batchId,
      },
      200,
    );
  });
}
