/** DELETE /api/v1/uploads/{upload_id}: removes one of the caller's uploads (runs keep the inputs they took). */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { notFound } from '../http/errors';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'delete',
  path: '/api/v1/uploads/{upload_id}',
  operationId: 'DeleteUpload',
  summary: 'Remove one of your uploads (runs that used it keep their inputs)',
  security: [{ bearerAuth: [] }],
  request: { params: z.object({ upload_id: z.string() }) },
  responses: {
    204: { description: 'Removed' },
    ...errorResponses,
  },
});

export function registerUploadsDelete(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const principal = c.get('principal');
    const id = c.req.valid('param').upload_id;
    // Someone else's upload or none at all: the same answer.
    if (!(await deps.objects.deleteUpload({ issuer: principal.issuer, subject: principal.subject }, id))) {
      throw notFound(`You have no upload '${id.slice(0, 80)}'.`);
    }
    return c.body(null, 204);
  });
}
