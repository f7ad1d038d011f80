/**
 * GET /api/v1/audit: the audit trail, for administrators, newest first, filtered and keyset-paged.
 * Read-only by design: there is no route that changes an audit event, and the table itself
 * refuses UPDATE, DELETE and TRUNCATE (migration 0002).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import {
  ACTION_FILTER_PATTERN,
  AUDIT_OUTCOMES,
  DEFAULT_AUDIT_PAGE_SIZE,
  MAX_AUDIT_PAGE_SIZE,
  decodeAuditPageToken,
  parseRfc3339,
} from '../audit/log';
import type { AppDeps, AppEnv } from '../http/context';
import { ApiError, errorBody, errorResponse } from '../http/errors';
import { ErrorSchema, errorResponses } from './openapi';

const RFC3339_HELP = 'must be an RFC 3339 date-time with a time zone, such as 2025-01-31T12:00:00Z';
const PAGE_SIZE_HELP = `must be a whole number from 1 to ${MAX_AUDIT_PAGE_SIZE}`;

const dateTime = (description: string) =>
  z
    .string()
    .max(64, RFC3339_HELP)
    .refine((v) => parseRfc3339(v) !== null, RFC3339_HELP)
    .optional()
    .openapi({ format: 'date-time', description, example: '2025-01-31T12:00:00Z' });

const AuditQuery = z
  .object({
    actor: z.string().min(1).max(1024).optional().openapi({ description: 'Subject (`sub`) of the actor, exactly' }),
    issuer: z.string().min(1).max(1024).optional().openapi({ description: 'Issuer of the actor, exactly' }),
    action: z
      .string()
      .max(64)
      .regex(ACTION_FILTER_PATTERN, 'must be an action such as run.submitted, or a family such as run.*')
      .optional()
      .openapi({ example: 'auth.token_refused' }),
    object_kind: z.string().min(1).max(64).optional().openapi({ example: 'run' }),
    object_id: z.string().min(1).max(512).optional(),
    outcome: z.enum(AUDIT_OUTCOMES).optional(),
    since: dateTime('Events at or after this time'),
    until: dateTime('Events before this time'),
    page_size: z.coerce
      .number({ error: PAGE_SIZE_HELP })
      .int(PAGE_SIZE_HELP)
      .min(1, PAGE_SIZE_HELP)
      .max(MAX_AUDIT_PAGE_SIZE, PAGE_SIZE_HELP)
      .optional()
      .openapi({ type: 'integer', default: DEFAULT_AUDIT_PAGE_SIZE }),
    page_token: z
      .string()
      .max(64)
      .refine((t) => t === '' || decodeAuditPageToken(t) !== null, 'is not valid: pass the next_page_token of the previous page unchanged')
      .optional(),
  })
  .refine((q) => !q.since || !q.until || parseRfc3339(q.since)! <= parseRfc3339(q.until)!, {
    path: ['until'],
    message: 'must not be before since',
  });

const AuditEventSchema = z
  .object({
    id: z.string().openapi({ description: 'Increasing with time; opaque otherwise' }),
    at: z.string().openapi({ format: 'date-time' }),
    actor_issuer: z.string().nullable(),
    actor_subject: z.string().nullable().openapi({ description: 'Null for anonymous callers' }),
    action: z.string().openapi({ example: 'run.submitted' }),
    object_kind: z.string().nullable(),
    object_id: z.string().nullable(),
    outcome: z.enum(AUDIT_OUTCOMES),
    reason: z.string().nullable(),
    source_ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    request_id: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi('AuditEvent');

const route = createRoute({
  method: 'get',
  path: '/api/v1/audit',
  operationId: 'ListAuditEvents',
  summary: 'The audit trail, newest first (administrators only)',
  description:
    'Every security-relevant action: sign-ins, refused tokens, runs submitted and cancelled, results downloaded, ' +
    'credentials stored and used, policy denials, admin changes. Append-only: no API changes it.',
  security: [{ bearerAuth: [] }],
  request: { query: AuditQuery },
  responses: {
    200: {
      description: 'A page of events',
      content: {
        'application/json': {
          schema: z
            .object({
              events: z.array(AuditEventSchema),
              next_page_token: z.string().openapi({ description: 'Empty on the last page' }),
            })
            .openapi('AuditEventList'),
        },
      },
    },
    ...errorResponses,
    403: { description: 'Not an administrator', content: { 'application/json': { schema: ErrorSchema } } },
    503: { description: 'The audit trail is not configured', content: { 'application/json': { schema: ErrorSchema } } },
  },
});

export type AuditListDeps = Pick<AppDeps, 'authenticate' | 'audit' | 'authorizeAdmin'>;

export function registerAuditList(api: OpenAPIHono<AppEnv>, deps: AuditListDeps): void {
  // Registered before the route so a non-administrator is refused before the query is even
  // looked at: 403, never a 400 that tells them about the filters.
  const adminOnly = createMiddleware<AppEnv>(async (c, next) => {
    const refusal = await adminRefusal(c, deps);
    if (!refusal) return next();
    if (refusal.status === 403) {
      await deps.audit?.record({
        action: 'policy.denied',
        outcome: 'denied',
        actor: c.get('principal'),
        object: { kind: 'audit_log' },
        reason: refusal.message,
        source: deps.audit.source(c),
      });
    }
    return errorResponse(c, refusal);
  });
  api.use(route.getRoutingPath(), deps.authenticate, adminOnly);

  api.openapi(route, async (c) => {
    const audit = deps.audit;
    if (!audit) return c.json(errorBody(503, 'The audit trail is not configured on this broker.'), 503);
    const q = c.req.valid('query');
    const filters = {
      actor: q.actor,
      issuer: q.issuer,
      action: q.action,
      objectKind: q.object_kind,
      objectId: q.object_id,
      outcome: q.outcome,
      since: q.since,
      until: q.until,
    };
    const page = await audit.query(filters, { pageSize: q.page_size, pageToken: q.page_token || undefined });
    // Reading the trail is itself on the trail: who looked, for what.
    await audit.record({
      action: 'audit.read',
      outcome: 'ok',
      actor: c.get('principal'),
      object: { kind: 'audit_log' },
      source: audit.source(c),
      details: { filters: Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined)), returned: page.events.length },
    });
    c.header('Cache-Control', 'no-store');
    return c.json({ events: page.events, next_page_token: page.nextPageToken }, 200);
  });
}

/** Null for an administrator, else the refusal; anything but an ApiError is a real failure and propagates. */
async function adminRefusal(c: Context<AppEnv>, deps: AuditListDeps): Promise<ApiError | null> {
  if (!deps.authorizeAdmin) {
    return new ApiError(403, 'Only administrators may read the audit trail, and this broker has none configured.');
  }
  try {
    await deps.authorizeAdmin(c);
    return null;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
}
