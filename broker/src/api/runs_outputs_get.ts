/**
 * GET /api/v1/runs/{run_id}/outputs/{file_id}: streams one result file to whoever may read the
 * run, with Range support so download managers can resume.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { runFor } from '../wes/guard';
import type { AppDeps, AppEnv } from '../http/context';
import { notFound } from '../http/errors';
import { blobResponse } from '../blobs/serve';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'get',
  path: '/api/v1/runs/{run_id}/outputs/{file_id}',
  operationId: 'GetRunOutput',
  summary: "Download one of a run's result files",
  security: [{ bearerAuth: [] }],
  request: { params: z.object({ run_id: z.string(), file_id: z.string() }) },
  responses: {
    200: { description: 'The file', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
    206: { description: 'The requested byte range', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
    416: { description: 'Range not satisfiable', content: { 'application/json': { schema: z.object({ msg: z.string(), status_code: z.number() }) } } },
    ...errorResponses,
  },
});

export function registerRunsOutputsGet(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const { run_id, file_id } = c.req.valid('param');
    const run = await runFor(deps, c, run_id, 'runs:read');
    const file = (await deps.runs.results(run.id)).find((f) => f.id === file_id && f.blobKey !== null);
    if (!file) throw notFound(`Run ${run.id} has no output '${file_id.slice(0, 80)}'.`);
    await deps.audit?.record({
      action: 'output.downloaded',
      outcome: 'ok',
      actor: c.get('principal'),
      object: { kind: 'output', id: file.id },
      details: { run: run.id, name: file.name, range: c.req.header('range') ?? null },
      source: deps.audit.source(c),
    });
    // zod-openapi types handler results by the declared JSON schemas; a streamed binary body is
    // a plain Response, hence the cast (the route's OpenAPI entry still documents it).
    return blobResponse(deps.blobs, file, c.req.raw) as never;
  });
}
