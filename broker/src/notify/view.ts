/** What the notification routes share: their OpenAPI schemas and how they find the service. */
import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../http/context';
import { ApiError, badRequest } from '../http/errors';
import type { Notifications } from './index';
import { DEFAULT_DELIVERY_PAGE, MAX_DELIVERY_PAGE, WEBHOOK_EVENTS } from './webhooks';

export const NO_STORE = { 'Cache-Control': 'no-store' };

export function notificationsOf(deps: Pick<AppDeps, 'notifications'>): Notifications {
  if (!deps.notifications) throw new ApiError(503, 'Notifications are not enabled on this broker.');
  return deps.notifications;
}

export const RunEventSchema = z
  .object({
    id: z.number().int().openapi({ description: 'Grows with every event; the SSE `id:` and `Last-Event-ID`' }),
    type: z.enum(['run.state', 'run.progress']),
    run_id: z.string(),
    state: z.string().openapi({ description: 'WES state', example: 'RUNNING' }),
    previous_state: z.string().optional(),
    progress: z.number().int().nullable().openapi({ description: 'Percent, as the backend reports it' }),
    terminal: z.boolean().openapi({ description: 'A final state: nothing follows for this run' }),
    backend_id: z.string().nullable(),
    at: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('RunEvent');

export const WebhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENTS)),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabled_at: z.string().nullable().openapi({ format: 'date-time' }),
    disabled_reason: z.string().nullable().openapi({ description: 'Why the broker stopped sending to it' }),
    created_at: z.string().openapi({ format: 'date-time' }),
    last_success_at: z.string().nullable().openapi({ format: 'date-time' }),
    last_failure_at: z.string().nullable().openapi({ format: 'date-time' }),
  })
  .openapi('Webhook');

export const DeliverySchema = z
  .object({
    id: z.string(),
    channel: z.enum(['webhook', 'email']),
    status: z.enum(['pending', 'delivered', 'failed']),
    event: RunEventSchema,
    created_at: z.string().openapi({ format: 'date-time' }),
    next_attempt_at: z.string().nullable().openapi({ format: 'date-time', description: 'When a pending delivery is tried next' }),
    finished_at: z.string().nullable().openapi({ format: 'date-time' }),
    last_error: z.string().nullable(),
    attempts: z.array(
      z.object({
        attempt: z.number().int(),
        at: z.string().openapi({ format: 'date-time' }),
        duration_ms: z.number().int(),
        status_code: z.number().int().nullable().openapi({ description: 'HTTP status (webhooks) or SMTP reply code (e-mail)' }),
        error: z.string().nullable(),
      }),
    ),
  })
  .openapi('Delivery');

export const DeliveryPageSchema = z
  .object({ deliveries: z.array(DeliverySchema), next_page_token: z.string().openapi({ description: 'Empty on the last page' }) })
  .openapi('DeliveryList');

export const DeliveryPageQuery = z.object({
  page_size: z.string().optional().openapi({ description: `1 to ${MAX_DELIVERY_PAGE} (default ${DEFAULT_DELIVERY_PAGE})` }),
  page_token: z.string().optional(),
});

export function deliveryPageSize(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_DELIVERY_PAGE;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_DELIVERY_PAGE) {
    throw badRequest(`page_size must be a whole number from 1 to ${MAX_DELIVERY_PAGE}`);
  }
  return Number(raw);
}

export const WebhookIdParam = z.object({ webhook_id: z.string().openapi({ param: { name: 'webhook_id', in: 'path' }, example: '3f0c1d2e-...' }) });
