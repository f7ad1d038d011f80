/** GET /api/v1/me/notifications/deliveries: the e-mails sent (or being retried) to the caller, with each attempt. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { deliveryPageSize, DeliveryPageQuery, DeliveryPageSchema, NO_STORE, notificationsOf } from '../notify/view';
import { listDeliveries } from '../notify/webhooks';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'get',
  path: '/api/v1/me/notifications/deliveries',
  operationId: 'ListEmailDeliveries',
  summary: 'Your notification e-mails, newest first, each with every attempt (SMTP reply or error, duration)',
  security: [{ bearerAuth: [] }],
  request: { query: DeliveryPageQuery },
  responses: {
    200: { description: 'Deliveries', content: { 'application/json': { schema: DeliveryPageSchema } } },
    ...errorResponses,
  },
});

export function registerNotificationsDeliveriesList(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    notificationsOf(deps);
    const { page_size: size, page_token: token } = c.req.valid('query');
    const page = await listDeliveries(deps.ds, { emailOwner: c.get('principal') }, deliveryPageSize(size), token || undefined);
    return c.json(page, 200, NO_STORE);
  });
}
