/**
 * GET /api/v1/me: who the broker thinks the caller is, which visas it accepted, which it refused
 * and why (as reason codes), and what the policy lets the caller do. Tokens are never echoed.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { errorResponses } from './openapi';

const Visa = z.object({
  type: z.string(),
  value: z.string(),
  source: z.string(),
  by: z.string().nullable(),
  issuer: z.string(),
  asserted: z.string().openapi({ format: 'date-time' }),
  expires_at: z.string().openapi({ format: 'date-time' }),
});
const Refusal = z.object({ reason: z.string(), message: z.string(), type: z.string().nullable(), issuer: z.string().nullable() });
const Me = z
  .object({
    issuer: z.string(),
    subject: z.string(),
    client_id: z.string().nullable(),
    visas: z.array(Visa),
    refused_visas: z.array(Refusal),
    permissions: z.object({ submit_runs: z.boolean(), manage_credentials: z.boolean(), admin: z.boolean(), read_audit: z.boolean() }),
    reasons: z.object({ submit_runs: z.string() }),
  })
  .openapi('Me');

const route = createRoute({
  method: 'get',
  path: '/api/v1/me',
  operationId: 'GetMe',
  summary: 'The caller, their accepted and refused visas, and what they may do',
  security: [{ bearerAuth: [] }],
  responses: {
    200: { description: 'The caller', content: { 'application/json': { schema: Me } } },
    ...errorResponses,
  },
});

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

export function registerMeGet(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const principal = c.get('principal');
    const passport = await deps.access.passport(c);
    const submit = await deps.access.check(c, 'runs:submit');
    const can = async (action: 'credentials:manage_own' | 'backends:admin' | 'audit:read') => (await deps.access.check(c, action)).allow;
    c.header('Cache-Control', 'no-store');
    return c.json(
      {
        issuer: principal.issuer,
        subject: principal.subject,
        client_id: principal.clientId ?? null,
        visas: passport.visas.map((v) => ({
          type: v.type,
          value: v.value,
          source: v.source,
          by: v.by,
          issuer: v.issuer,
          asserted: iso(v.asserted),
          expires_at: iso(v.expiresAt),
        })),
        refused_visas: passport.refused.map((r) => ({ reason: r.reason, message: r.message, type: r.type, issuer: r.issuer })),
        permissions: {
          submit_runs: submit.allow,
          manage_credentials: await can('credentials:manage_own'),
          admin: await can('backends:admin'),
          read_audit: await can('audit:read'),
        },
        reasons: { submit_runs: submit.reason },
      },
      200,
    );
  });
}
