/** GET /api/v1/me/notifications: the caller's e-mail preferences, and whether this broker mails at all. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { preferencesView, PreferencesSchema } from '../notify/preferences-view';
import { NO_STORE, notificationsOf } from '../notify/view';
import { errorResponses } from './openapi';

const route = createRoute({
  method: 'get',
  path: '/api/v1/me/notifications',
  operationId: 'GetNotificationPreferences',
  summary: 'Your e-mail notification preferences',
  security: [{ bearerAuth: [] }],
  responses: {
    200: { description: 'Preferences', content: { 'application/json': { schema: PreferencesSchema } } },
    ...errorResponses,
  },
});

export function registerNotificationsGet(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const n = notificationsOf(deps);
    const principal = c.get('principal');
    return c.json(preferencesView(await n.preferences.get(principal), principal, n.mailEnabled), 200, NO_STORE);
  });
}
