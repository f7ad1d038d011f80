/**
 * PUT /api/v1/me/notifications: whether to mail the caller when a run completes or fails, and
 * where. Without `email`, the address stays (or, the first time, is the token's `email` claim).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { badRequest } from '../http/errors';
import { preferencesView, PreferencesSchema, tokenEmail } from '../notify/preferences-view';
import { NO_STORE, notificationsOf } from '../notify/view';
import { ErrorSchema, errorResponses } from './openapi';

const Body = z
  .object({
    email: z.email().max(254).nullable().optional().openapi({ description: 'null forgets the address; left out keeps it (or takes the one your token carries)' }),
    on_complete: z.boolean(),
    on_failure: z.boolean(),
  })
  .strict()
  .openapi('NotificationPreferencesInput');

const route = createRoute({
  method: 'put',
  path: '/api/v1/me/notifications',
  operationId: 'PutNotificationPreferences',
  summary: 'Set your e-mail notification preferences',
  security: [{ bearerAuth: [] }],
  request: { body: { required: true, content: { 'application/json': { schema: Body } } } },
  responses: {
    200: { description: 'Stored', content: { 'application/json': { schema: PreferencesSchema } } },
    ...errorResponses,
    403: { description: 'The policy does not let the caller set up notifications', content: { 'application/json': { schema: ErrorSchema } } },
  },
});

export function registerNotificationsPut(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(
    route,
    async (c) => {
      const n = notificationsOf(deps);
      const principal = c.get('principal');
      const body = c.req.valid('json');
      const wants = body.on_complete || body.on_failure;
      // Switching e-mails off is always allowed; switching them on is setting up notifications.
      if (wants) await deps.access.require(c, 'notifications:manage_own');
      const stored = await n.preferences.get(principal);
      const email = body.email !== undefined ? body.email : (stored?.email ?? tokenEmail(principal));
      if (wants && !email) {
        throw badRequest('email: give the address to write to; your access token carries no e-mail address');
      }
      const saved = await n.preferences.put(principal, { email, onComplete: body.on_complete, onFailure: body.on_failure });
      return c.json(preferencesView(saved, principal, n.mailEnabled), 200, NO_STORE);
    },
    (result) => {
      if (result.success) return undefined;
      const issue = result.error.issues[0];
      const where = issue?.path.join('.') || 'body';
      if (issue?.code === 'unrecognized_keys') throw badRequest(`unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; give email, on_complete and on_failure`);
      if (where === 'email') throw badRequest('email: not an e-mail address (or null to forget it)');
      if (where === 'on_complete' || where === 'on_failure') throw badRequest(`${where}: true or false`);
      throw badRequest(`${where}: ${issue?.message ?? 'invalid request'}`);
    },
  );
}
