/**
 * POST /api/v1/webhooks: registers a URL the caller's run events are POSTed to, signed with a
 * secret the broker generates. The secret is in this answer and nowhere else, ever again.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/context';
import { badRequest } from '../http/errors';
import { NO_STORE, notificationsOf, WebhookSchema } from '../notify/view';
import { WEBHOOK_EVENTS, webhookView } from '../notify/webhooks';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../notify/webhook-http';
import { ErrorSchema, errorResponses } from './openapi';

const Body = z
  .object({
    url: z.string().openapi({ description: 'https URL the events are POSTed to', example: 'https://hooks.example.org/imputation' }),
    events: z
      .array(z.enum(WEBHOOK_EVENTS))
      .min(1)
      .max(WEBHOOK_EVENTS.length)
      .optional()
      .openapi({ description: 'run.state: every state change; run.progress: every progress change; run.terminal: only the final state. Default: [run.state]' }),
    description: z.string().max(200).nullable().optional(),
  })
  .strict()
  .openapi('WebhookInput');

const Created = WebhookSchema.extend({
  secret: z.string().openapi({ description: 'The signing secret. Shown once: store it now; the broker never returns it again.' }),
  signature: z.object({ header: z.string(), timestamp_header: z.string(), scheme: z.string() }),
}).openapi('WebhookCreated');

const route = createRoute({
  method: 'post',
  path: '/api/v1/webhooks',
  operationId: 'CreateWebhook',
  summary: 'Register a webhook for your run events (the signing secret is shown once)',
  security: [{ bearerAuth: [] }],
  request: { body: { required: true, content: { 'application/json': { schema: Body } } } },
  responses: {
    201: { description: 'Registered', content: { 'application/json': { schema: Created } } },
    ...errorResponses,
    403: { description: 'The policy does not let the caller set up notifications', content: { 'application/json': { schema: ErrorSchema } } },
    409: { description: 'The caller has as many webhooks as allowed', content: { 'application/json': { schema: ErrorSchema } } },
  },
});

export function registerWebhooksPost(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(
    route,
    async (c) => {
      const n = notificationsOf(deps);
      await deps.access.require(c, 'notifications:manage_own');
      const principal = c.get('principal');
      const body = c.req.valid('json');
      const { webhook, secret } = await n.webhooks.create(principal, {
        url: body.url,
        events: body.events ?? ['run.state'],
        description: body.description ?? null,
      });
      await deps.audit?.record({
        action: 'webhook.created',
        outcome: 'ok',
        actor: principal,
        object: { kind: 'webhook', id: webhook.id },
        source: deps.audit.source(c),
        // The host only: receivers often carry a token in the path or query.
        details: { host: new URL(webhook.url).host, events: webhook.events },
      });
      return c.json(
        {
          ...webhookView(webhook),
          secret,
          signature: {
            header: SIGNATURE_HEADER,
            timestamp_header: TIMESTAMP_HEADER,
            scheme: `sha256=<hex HMAC-SHA-256 of "<${TIMESTAMP_HEADER}>.<raw body>" under the secret>`,
          },
        },
        201,
        NO_STORE,
      );
    },
    (result) => {
      if (result.success) return undefined;
      const issue = result.error.issues[0];
      const where = issue?.path.join('.') || 'body';
      if (issue?.code === 'unrecognized_keys') throw badRequest(`unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; a webhook takes url, events and description`);
      if (where.startsWith('events')) throw badRequest(`events: a list of ${WEBHOOK_EVENTS.join(', ')} (at least one)`);
      throw badRequest(`${where}: ${issue?.message ?? 'invalid request'}`);
    },
  );
}
