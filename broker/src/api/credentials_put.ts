/**
 * PUT /api/v1/credentials/{backend_id}: stores (or replaces) the caller's own secret for one
 * backend, e.g. their Michigan Imputation Server API token. The answer is the metadata; the
 * secret is never echoed, in a success or in an error.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/context';
import { badRequest } from '../http/errors';
import { CREDENTIAL_KINDS, CredentialError } from '../vault/vault';
import { BackendIdParam, credentialView, CredentialSchema, NO_STORE, ownerOf, vaultOf, type CredentialRouteDeps } from '../vault/view';
import { errorResponses } from './openapi';

const MAX_SECRET = 16_384;

const PutBody = z
  .object({
    kind: z.enum(CREDENTIAL_KINDS).openapi({ description: 'api_token for Cloudgene (MIS 2, TOPMed, AfriGen-D); oauth_client for DNAstack' }),
    secret: z.string().min(1).max(MAX_SECRET).openapi({ description: 'The token or client secret. Stored encrypted; never returned.' }),
    label: z.string().max(200).nullable().optional().openapi({ example: 'MIS token, created 2025-11-01' }),
  })
  .openapi('CredentialInput');

const route = createRoute({
  method: 'put',
  path: '/api/v1/credentials/{backend_id}',
  operationId: 'PutCredential',
  summary: 'Store your own credential for a backend (replaces the one stored before)',
  security: [{ bearerAuth: [] }],
  request: {
    params: BackendIdParam,
    body: { required: true, content: { 'application/json': { schema: PutBody } } },
  },
  responses: {
    200: { description: 'Replaced the stored credential', content: { 'application/json': { schema: CredentialSchema } } },
    201: { description: 'Stored a new credential', content: { 'application/json': { schema: CredentialSchema } } },
    ...errorResponses,
  },
});

/** Which kinds each backend kind takes (Cloudgene: its API token only). */
const KINDS_BY_BACKEND: Record<string, readonly string[]> = { cloudgene: ['api_token'] };

export function registerCredentialsPut(api: OpenAPIHono<AppEnv>, deps: CredentialRouteDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(
    route,
    async (c) => {
      await deps.access?.require(c, 'credentials:manage_own');
      const vault = vaultOf(deps);
      const { backend_id: backendId } = c.req.valid('param');
      const body = c.req.valid('json');
      const backend = deps.registry.get(backendId);
      // The id given is not echoed: a secret pasted into the wrong place must not come back.
      if (!backend) throw badRequest(`unknown backend; this broker has: ${deps.registry.ids().join(', ') || '(none)'}`);
      const kinds = KINDS_BY_BACKEND[backend.config.kind];
      if (kinds && !kinds.includes(body.kind)) {
        throw badRequest(`kind: backend ${backendId} (${backend.config.kind}) takes ${kinds.join(' or ')}`);
      }
      const principal = c.get('principal');
      try {
        const { credential, created } = await vault.put({
          owner: ownerOf(principal),
          backendId,
          kind: body.kind,
          secret: body.secret,
          label: body.label ?? null,
        });
        await deps.audit?.record({
          action: 'credential.stored',
          outcome: 'ok',
          actor: principal,
          object: { kind: 'credential', id: backendId },
          source: deps.audit.source(c),
          details: { kind: body.kind, fingerprint: credential.fingerprint, replaced: !created },
        });
        return c.json(credentialView(credential, new Date()), created ? 201 : 200, NO_STORE);
      } catch (err) {
        if (err instanceof CredentialError && err.code === 'bad_input') throw badRequest(err.message);
        throw err;
      }
    },
    // Validation messages name the field, never what was sent in it.
    (result) => {
      if (result.success) return undefined;
      const issue = result.error.issues[0];
      const where = issue?.path.join('.') || 'request';
      const msg =
        where === 'secret'
          ? `secret: give the token or client secret as a string of 1 to ${MAX_SECRET} characters`
          : `${where}: ${issue?.message ?? 'invalid request'}`;
      throw badRequest(msg);
    },
  );
}
