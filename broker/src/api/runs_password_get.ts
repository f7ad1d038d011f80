/**
 * GET /api/v1/runs/{run_id}/result-password: the password of the run's encrypted result zips,
 * for the owner who wants the original zips. Never logged; not cacheable.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { runFor } from '../wes/guard';
import type { AppDeps, AppEnv } from '../http/context';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'get',
  path: '/api/v1/runs/{run_id}/result-password',
  operationId: 'GetRunResultPassword',
  summary: "The password of a run's encrypted result zips (owner only)",
  security: [{ bearerAuth: [] }],
  request: { params: z.object({ run_id: z.string() }) },
  responses: {
    200: {
      description: 'The password',
      content: { 'application/json': { schema: z.object({ run_id: z.string(), password: z.string() }).openapi('ResultPassword') } },
    },
    ...errorResponses,
  },
});

export function registerRunsPasswordGet(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    // Only those who may act on the run (owner, admins), not dataset readers: they get the files.
    const run = await runFor(deps, c, c.req.valid('param').run_id, 'runs:cancel');
    c.header('Cache-Control', 'no-store');
    c.header('Pragma', 'no-cache');
    return c.json({ run_id: run.id, password: deps.runs.resultPassword(run) }, 200);
  });
}
