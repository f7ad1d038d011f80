/** GET /api/v1/webhooks/{webhook_id}/deliveries: every event sent to a webhook, with each attempt. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { deliveryPageSize, DeliveryPageQuery, DeliveryPageSchema, NO_STORE, notificationsOf, WebhookIdParam } from '../notify/view';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'get',
  path: '/api/v1/webhooks/{webhook_id}/deliveries',
  operationId: 'ListWebhookDeliveries',
  summary: "A webhook's deliveries, newest first, each with every attempt (status or error, duration)",
  security: [{ bearerAuth: [] }],
  request: { params: WebhookIdParam, query: DeliveryPageQuery },
  responses: {
    200: { description: 'Deliveries', content: { 'application/json': { schema: DeliveryPageSchema } } },
    ...errorResponses,
  },
});

export function registerWebhooksDeliveriesList(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const { page_size: size, page_token: token } = c.req.valid('query');
    const page = await notificationsOf(deps).webhooks.deliveries(c.get('principal'), c.req.valid('param').webhook_id, deliveryPageSize(size), token || undefined);
    return c.json(page, 200, NO_STORE);
  });
}
