/** DELETE /api/v1/webhooks/{webhook_id}: stops the deliveries and forgets the webhook and its history. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { NO_STORE, notificationsOf, WebhookIdParam } from '../notify/view';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'delete',
  path: '/api/v1/webhooks/{webhook_id}',
  operationId: 'DeleteWebhook',
  summary: 'Delete one of your webhooks (with its deliveries)',
  security: [{ bearerAuth: [] }],
  request: { params: WebhookIdParam },
  responses: {
    204: { description: 'Deleted' },
    ...errorResponses,
  },
});

export function registerWebhooksDelete(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const principal = c.get('principal');
    // Always allowed for one's own webhook, whatever the policy says now: a user can always stop traffic.
    const hook = await notificationsOf(deps).webhooks.delete(principal, c.req.valid('param').webhook_id);
    await deps.audit?.record({
      action: 'webhook.deleted',
      outcome: 'ok',
      actor: principal,
      object: { kind: 'webhook', id: hook.id },
      source: deps.audit.source(c),
      details: { host: new URL(hook.url).host },
    });
    return c.body(null, 204, NO_STORE);
  });
}
