/** GET /api/v1/credentials: the caller's stored credentials, metadata only, with expiry warnings. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/context';
import { credentialView, CredentialSchema, NO_STORE, ownerOf, vaultOf, type CredentialRouteDeps } from '../vault/view';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'get',
  path: '/api/v1/credentials',
  operationId: 'ListCredentials',
  summary: 'Your stored backend credentials (never the secrets), flagging tokens near expiry',
  security: [{ bearerAuth: [] }],
  responses: {
    200: {
      description: 'Credentials',
      content: { 'application/json': { schema: z.object({ credentials: z.array(CredentialSchema) }).openapi('CredentialList') } },
    },
    ...errorResponses,
  },
});

export function registerCredentialsList(api: OpenAPIHono<AppEnv>, deps: CredentialRouteDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    await deps.access?.require(c, 'credentials:manage_own');
    const stored = await vaultOf(deps).list(ownerOf(c.get('principal')));
    const now = new Date();
    return c.json({ credentials: stored.map((m) => credentialView(m, now)) }, 200, NO_STORE);
  });
}
