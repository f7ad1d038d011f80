/** GET /api/v1/uploads: the caller's uploads, kept for UPLOAD_RETENTION_HOURS (runs keep their own inputs). */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { drsUri } from '../wes/views';
import { errorResponses } from './openapi';
import { UploadSchema } from './uploads_post';

const route = createRoute({
  method: 'get',
  path: '/api/v1/uploads',
  operationId: 'ListUploads',
  summary: 'Your uploads (kept a week by default; runs keep their own copies of what they use), newest first',
  security: [{ bearerAuth: [] }],
  responses: {
    200: { description: 'Uploads', content: { 'application/json': { schema: z.object({ uploads: z.array(UploadSchema) }).openapi('UploadList') } } },
    ...errorResponses,
  },
});

export function registerUploadsList(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const principal = c.get('principal');
    const uploads = await deps.objects.uploadsOf({ issuer: principal.issuer, subject: principal.subject });
    return c.json(
      {
        uploads: uploads.map((o) => ({
          id: o.id,
          drs_uri: drsUri(deps.urls, o.id),
          name: o.name,
          size: o.size,
          sha256: o.sha256,
          md5: o.md5,
          created_at: o.createdAt.toISOString(),
        })),
      },
      200,
    );
  });
}
