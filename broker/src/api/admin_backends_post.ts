/**
 * POST /api/v1/admin/backends: an administrator adds a backend, described exactly as in
 * CONFIG_FILE (the same schema checks it) except that its secret is given as `token` and sealed
 * in the credential vault. Every replica picks it up within BACKENDS_RELOAD_INTERVAL.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { createBackend, describeIssues } from '../backends/admin';
import { adminBackendSchema, ADMIN_REFUSED_KEYS } from '../config';
import type { AppDeps, AppEnv } from '../http/context';
import { badRequest } from '../http/errors';
import { actorOf, auditChange, backendDetail, BackendDetailSchema, NO_STORE, requireBackendAdmin } from './backends_shared';
import { adminErrorResponses } from './admin_shared';

const route = createRoute({
  method: 'post',
  path: '/api/v1/admin/backends',
  operationId: 'CreateBackend',
  summary: 'Add a backend (administrators); its secret goes to the credential vault and is never returned',
  security: [{ bearerAuth: [] }],
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: adminBackendSchema.meta({
            id: 'BackendInput',
            description:
              'A backend as in CONFIG_FILE (docs/configuration.md), discriminated by kind. `token` is the secret ' +
              '(Cloudgene API token, WES bearer token, DNAstack client secret); tokenEnv, tokenFile and demo are refused.',
          }),
        },
      },
    },
  },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: BackendDetailSchema } } },
    ...adminErrorResponses,
  },
});

export function registerAdminBackendsPost(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate, requireBackendAdmin(deps));
  api.openapi(
    route,
    async (c) => {
      const result = await createBackend({ registry: deps.registry, ...(deps.vault ? { vault: deps.vault } : {}), actor: actorOf(c) }, c.req.valid('json'));
      await auditChange(deps, c, 'created', result, { enabled: result.row.enabled });
      return c.json(await backendDetail(deps, result.row.id, { admin: true }), 201, { ...NO_STORE, ETag: `"${result.row.version}"` });
    },
    // Name the field and what would be valid; never a value (a secret may have been pasted anywhere).
    (result) => {
      if (result.success) return undefined;
      const body = (result as { data?: unknown }).data;
      if (body && typeof body === 'object') {
        const refused = ADMIN_REFUSED_KEYS.find((k) => k in body);
        if (refused) throw badRequest(`${refused}: not accepted by the admin API; see docs/configuration.md (give the secret itself as token)`);
      }
      throw badRequest(describeIssues(result.error.issues));
    },
  );
}
