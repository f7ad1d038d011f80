/**
 * GET /api/v1/runs/{run_id}/outputs/{file_id}: streams one result file to the run's owner,
 * with Range support so download managers can resume.
 */
import { Readable } from 'node:stream';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { runFor } from '../wes/guard';
import type { AppDeps, AppEnv } from '../http/context';
import { ApiError, notFound } from '../http/errors';
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

export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'invalid' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}

export function registerRunsOutputsGet(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const { run_id, file_id } = c.req.valid('param');
    const run = await runFor(deps, c, run_id, 'runs:read');
    const file = (await deps.runs.outputs(run.id)).find((f) => f.id === file_id);
    if (!file) throw notFound(`Run ${run.id} has no output '${file_id.slice(0, 80)}'.`);
    await deps.audit?.record({
      action: 'output.downloaded',
      outcome: 'ok',
      actor: c.get('principal'),
      object: { kind: 'output', id: file.id },
      details: { run: run.id, name: file.name, range: c.req.header('range') ?? null },
      source: deps.audit.source(c),
    });
    const range = parseRange(c.req.header('range'), file.size);
    if (range === 'invalid') {
      throw new ApiError(416, `Range '${(c.req.header('range') ?? '').slice(0, 60)}' cannot be served; the file has ${file.size} bytes.`, {
        'Content-Range': `bytes */${file.size}`,
      });
    }
    const headers: Record<string, string> = {
      'Content-Type': file.mimeType,
      'Content-Disposition': `attachment; filename="${file.name.split('/').pop()}"`,
      'Accept-Ranges': 'bytes',
      ETag: `"${file.sha256}"`,
      Digest: `sha-256=${Buffer.from(file.sha256, 'hex').toString('base64')}`,
      'Cache-Control': 'private, no-store',
    };
    const stream = deps.blobs.read(file.blobKey, range ?? undefined);
    const body = Readable.toWeb(stream) as ReadableStream<Uint8Array>;
    // zod-openapi types handler results by the declared JSON schemas; a streamed binary body is
    // a plain Response, hence the casts below (the route's OpenAPI entry still documents it).
    if (range) {
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${file.size}`;
      headers['Content-Length'] = String(range.end - range.start + 1);
      return new Response(body, { status: 206, headers }) as never;
    }
    headers['Content-Length'] = String(file.size);
    return new Response(body, { status: 200, headers }) as never;
  });
}
