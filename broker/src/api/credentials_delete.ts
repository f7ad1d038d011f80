/** DELETE /api/v1/credentials/{backend_id}: forgets the caller's own credential for a backend. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/context';
import { notFound } from '../http/errors';
import { BackendIdParam, NO_STORE, ownerOf, vaultOf, type CredentialRouteDeps } from '../vault/view';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'delete',
  path: '/api/v1/credentials/{backend_id}',
  operationId: 'DeleteCredential',
  summary: 'Delete your stored credential for a backend',
  security: [{ bearerAuth: [] }],
  request: { params: BackendIdParam },
  responses: {
    204: { description: 'Deleted' },
    ...errorResponses,
  },
});

export function registerCredentialsDelete(api: OpenAPIHono<AppEnv>, deps: CredentialRouteDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    await deps.access?.require(c, 'credentials:manage_own');
    const { backend_id: backendId } = c.req.valid('param');
    const principal = c.get('principal');
    // Works for a backend no longer configured too: a user must always be able to remove a secret.
    const deleted = await vaultOf(deps).delete(ownerOf(principal), backendId);
    if (!deleted) throw notFound(`you have no credential stored for backend ${backendId}`);
    await deps.audit?.record({
      action: 'credential.deleted',
      outcome: 'ok',
      actor: principal,
      object: { kind: 'credential', id: backendId },
      source: deps.audit.source(c),
    });
    return c.body(null, 204, NO_STORE);
  });
}
