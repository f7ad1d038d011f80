/**
 * DELETE /api/v1/runs/{run_id}/results: removes a run's results (its outputs, the files opened
 * out of its zips, its bundles) for good; the inputs stay. Administrators only, audited, and done
 * in one transaction: afterwards every DRS id of those results answers 404 and the WES run log
 * lists no outputs.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { ErrorSchema, errorResponses } from './openapi';

const route = createRoute({
  method: 'delete',
  path: '/api/v1/runs/{run_id}/results',
  operationId: 'DeleteRunResults',
  summary: "Delete a run's results (administrators only; audited)",
  security: [{ bearerAuth: [] }],
  request: { params: z.object({ run_id: z.string() }) },
  responses: {
    200: {
      description: 'What was deleted',
      content: {
        'application/json': {
          schema: z
            .object({ run_id: z.string(), objects_deleted: z.number().int(), bytes_deleted: z.number().int() })
            .openapi('DeletedResults'),
        },
      },
    },
    403: { description: 'Only administrators may delete results', content: { 'application/json': { schema: ErrorSchema } } },
    ...errorResponses,
  },
});

export function registerRunsResultsDelete(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    await deps.access.require(c, 'results:delete');
    const run = await deps.runs.get(c.req.valid('param').run_id);
    const deleted = await deps.objects.deleteResults(run.id);
    await deps.runs.note(run.id, `Results deleted by an administrator (${deleted.objects} objects, ${deleted.bytes} bytes).`);
    await deps.audit?.record({
      action: 'run.results_deleted',
      outcome: 'ok',
      actor: c.get('principal'),
      object: { kind: 'run', id: run.id },
      details: { objects: deleted.objects, bytes: deleted.bytes },
      source: deps.audit.source(c),
    });
    return c.json({ run_id: run.id, objects_deleted: deleted.objects, bytes_deleted: deleted.bytes }, 200);
  });
}
