/**
 * GET /api/v1/events: the caller's run events as Server-Sent Events, live, from any replica.
 * `Last-Event-ID` (what EventSource sends when it reconnects) or `?since=<id>` replays what was
 * missed first. A bearer token or the portal's session cookie (EventSource cannot set headers;
 * the session middleware turns the cookie into the same bearer token).
 */
import type { ServerResponse } from 'node:http';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { AppDeps, AppEnv } from '../http/context';
import { ApiError, badRequest } from '../http/errors';
import { lastEventId } from '../notify/events';
import { HubFullError } from '../notify/hub';
import { pumpEvents } from '../notify/stream';
import { ErrorSchema, errorResponses } from './openapi';

const EVENT_ID = /^\d{1,15}$/;

const route = createRoute({
  method: 'get',
  path: '/api/v1/events',
  operationId: 'StreamEvents',
  summary: "A live stream (Server-Sent Events) of your runs' state and progress changes",
  description:
    'Each event has `id:` (a number that only grows), `event:` (`run.state` or `run.progress`) and `data:` (JSON: ' +
    '`id, type, run_id, state, previous_state, progress, terminal, backend_id, at`). Comment lines keep the stream alive. ' +
    'On reconnecting, `Last-Event-ID` (or `?since=`) replays the events after that id, without gaps or duplicates. ' +
    'A client that falls too far behind gets an `overflow` event and is disconnected; it reconnects with `Last-Event-ID`. ' +
    "Works with a bearer token or the portal's session cookie.",
  security: [{ bearerAuth: [] }],
  request: {
    query: z.object({
      since: z.string().optional().openapi({ description: 'Replay events with ids above this one first (`Last-Event-ID` wins when both are given)', example: '1234' }),
    }),
  },
  responses: {
    200: { description: 'The event stream', content: { 'text/event-stream': { schema: z.string() } } },
    ...errorResponses,
    429: { description: 'Too many open streams for this user', content: { 'application/json': { schema: ErrorSchema } } },
    503: { description: 'This broker process serves as many streams as it may; retry', content: { 'application/json': { schema: ErrorSchema } } },
  },
});

function parseEventId(raw: string | undefined, what: string): number | null {
  if (raw === undefined || raw.trim() === '') return null;
  const text = raw.trim();
  if (!EVENT_ID.test(text)) throw badRequest(`${what} must be the id of an event (a whole number), as the stream gave it`);
  return Number(text);
}

export function registerEventsGet(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const n = deps.notifications;
    if (!n) throw new ApiError(503, 'Event streams are not enabled on this broker.');
    const principal = c.get('principal');
    const owner = { issuer: principal.issuer, subject: principal.subject };
    const asked = parseEventId(c.req.header('last-event-id'), 'Last-Event-ID') ?? parseEventId(c.req.valid('query').since, 'since');
    let sub;
    try {
      sub = n.hub.subscribe(owner);
    } catch (err) {
      if (!(err instanceof HubFullError)) throw err;
      throw new ApiError(err.scope === 'user' ? 429 : 503, err.message, { 'Retry-After': '5' });
    }
    let from: number;
    try {
      // An id from before a database was reset (or made up) cannot be above every stored one.
      from = asked === null ? n.hub.lastSeenId : Math.min(asked, await lastEventId(deps.ds));
    } catch (err) {
      sub.end('closed');
      throw err;
    }
    c.header('X-Accel-Buffering', 'no');
    const socket = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    const subscription = sub;
    // A streamed body is a plain Response, hence the cast (the route's entry still documents it).
    return streamSSE(c, (stream) =>
      pumpEvents(stream, subscription, {
        db: deps.ds,
        owner,
        from,
        heartbeatMs: n.settings.sse.heartbeatMs,
        dropGraceMs: 5000,
        hardClose: () => {
          stream.abort();
          socket?.destroy();
        },
      }),
    ) as never;
  });
}
