/** GET /api/v1/batches/{batch_id}: one of the caller's batches, with its runs' counts by state and ids. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { ownerKey } from '../auth/principal';
import type { AppDeps, AppEnv } from '../http/context';
import { BatchSummarySchema, fullSummary } from './batches_shared';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'get',
  path: '/api/v1/batches/{batch_id}',
  operationId: 'GetBatch',
  summary: 'One of your batches: its runs by state, and their ids',
  security: [{ bearerAuth: [] }],
  request: { params: z.object({ batch_id: z.string() }) },
  responses: {
    200: { description: 'The batch', content: { 'application/json': { schema: BatchSummarySchema } } },
    ...errorResponses,
  },
});

export function registerBatchesGet(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const batch = await deps.runs.getBatch(c.req.valid('param').batch_id, ownerKey(c.get('principal')));
    return c.json(await fullSummary(deps, batch), 200);
  });
}
