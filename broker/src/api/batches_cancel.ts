/** POST /api/v1/batches/{batch_id}/cancel: cancels every run of the batch not yet finished; audited. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { ownerKey } from '../auth/principal';
import type { AppDeps, AppEnv } from '../http/context';
import { BatchSummarySchema, fullSummary } from './batches_shared';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'post',
  path: '/api/v1/batches/{batch_id}/cancel',
  operationId: 'CancelBatch',
  summary: "Cancel a batch's runs that have not finished; answers the batch's summary",
  security: [{ bearerAuth: [] }],
  request: { params: z.object({ batch_id: z.string() }) },
  responses: {
    200: { description: 'The batch after the cancel requests', content: { 'application/json': { schema: BatchSummarySchema } } },
    ...errorResponses,
  },
});

export function registerBatchesCancel(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const principal = c.get('principal');
    const batch = await deps.runs.getBatch(c.req.valid('param').batch_id, ownerKey(principal));
    const canceled = await deps.runs.cancelBatch(batch.id);
    await deps.audit?.record({
      action: 'batch.canceled',
      outcome: 'ok',
      actor: principal,
      object: { kind: 'batch', id: batch.id },
      details: { runs: canceled },
      source: deps.audit.source(c),
    });
    return c.json(await fullSummary(deps, batch), 200);
  });
}
