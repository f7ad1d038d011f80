/** GET /api/v1/webhooks: the caller's webhooks (never their secrets), with why any was disabled. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { NO_STORE, notificationsOf, WebhookSchema } from '../notify/view';
import { webhookView } from '../notify/webhooks';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'get',
  path: '/api/v1/webhooks',
  operationId: 'ListWebhooks',
  summary: 'Your webhooks (without their secrets)',
  security: [{ bearerAuth: [] }],
  responses: {
    200: { description: 'Webhooks', content: { 'application/json': { schema: z.object({ webhooks: z.array(WebhookSchema) }).openapi('WebhookList') } } },
    ...errorResponses,
  },
});

export function registerWebhooksList(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const hooks = await notificationsOf(deps).webhooks.list(c.get('principal'));
    return c.json({ webhooks: hooks.map(webhookView) }, 200, NO_STORE);
  });
}
