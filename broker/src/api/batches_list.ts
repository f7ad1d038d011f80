/** GET /api/v1/batches: the caller's batches, newest first, keyset-paged (page_token as in WES). */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { ownerKey } from '../auth/principal';
import type { AppDeps, AppEnv } from '../http/context';
import { parsePageSize } from '../runs/service';
import { BatchSummarySchema, batchSummary } from './batches_shared';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'get',
  path: '/api/v1/batches',
  operationId: 'ListBatches',
  summary: 'Your batches, newest first, with their runs by state',
  security: [{ bearerAuth: [] }],
  request: {
    query: z.object({
      page_size: z.string().optional().openapi({ description: 'At most 1000 (default 50)' }),
      page_token: z.string().optional().openapi({ description: 'next_page_token of the previous page' }),
    }),
  },
  responses: {
    200: {
      description: 'Batches',
      content: {
        'application/json': {
          schema: z.object({ batches: z.array(BatchSummarySchema), next_page_token: z.string() }).openapi('BatchList'),
        },
      },
    },
    ...errorResponses,
  },
});

export function registerBatchesList(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const page = await deps.runs.listBatches(ownerKey(c.get('principal')), parsePageSize(q.page_size), q.page_token || undefined);
    const counts = await deps.runs.batchCounts(page.batches.map((b) => b.id));
    return c.json({ batches: page.batches.map((b) => batchSummary(b, counts.get(b.id) ?? {})), next_page_token: page.nextPageToken }, 200);
  });
}
