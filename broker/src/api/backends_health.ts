/**
 * GET /api/v1/backends/{id}/health: the backend's health now (status, last error, failing since,
 * deactivated when and why) and its probe history with response times, newest first.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { BACKEND_STATUSES, backendStatus } from '../backends/status';
import type { AppDeps, AppEnv } from '../http/context';
import { notFound } from '../http/errors';
import { BackendIdParam, HealthSummarySchema, healthSummary } from './backends_shared';
import { errorResponses } from './openapi';

const DAY = 86_400_000;
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

const Query = z.object({
  since: z
    .string()
    .refine((v) => rfc3339.test(v) && !Number.isNaN(Date.parse(v)), 'since must be an RFC 3339 date-time with a time zone, e.g. 2030-01-31T00:00:00Z')
    .optional()
    .openapi({ description: 'Oldest probe to list (default: 24 hours ago)' }),
  limit: z.coerce
    .number({ error: 'limit must be a whole number from 1 to 5000' })
    .int('limit must be a whole number from 1 to 5000')
    .min(1, 'limit must be a whole number from 1 to 5000')
    .max(5000, 'limit must be a whole number from 1 to 5000')
    .default(500)
    .openapi({ type: 'integer', description: 'Most probes to list (newest first; default 500)' }),
});

const Probe = z.object({
  at: z.string().openapi({ format: 'date-time' }),
  ok: z.boolean(),
  latency_ms: z.number().int().nullable(),
  detail: z.string().nullable(),
});

const Body = z
  .object({
    backend: z.string(),
    status: z.enum(BACKEND_STATUSES),
    enabled: z.boolean(),
    current: HealthSummarySchema,
    disabled: z.object({ at: z.string().nullable(), reason: z.string().nullable() }).nullable(),
    deactivated: z.object({ at: z.string(), reason: z.string().nullable() }).nullable(),
    settings: z.object({
      check_interval_seconds: z.number(),
      deactivate_after_seconds: z.number(),
      slow_threshold_ms: z.number(),
    }),
    summary: z.object({
      checks: z.number().int(),
      ok: z.number().int(),
      uptime: z.number().nullable().openapi({ description: 'Share of the listed probes that succeeded; null without probes' }),
      mean_latency_ms: z.number().int().nullable(),
      max_latency_ms: z.number().int().nullable(),
    }),
    history: z.array(Probe),
  })
  .openapi('BackendHealth');

const route = createRoute({
  method: 'get',
  path: '/api/v1/backends/{id}/health',
  operationId: 'GetBackendHealth',
  summary: "A backend's health and its probe history with response times",
  security: [{ bearerAuth: [] }],
  request: { params: BackendIdParam, query: Query },
  responses: {
    200: { description: 'Health and history', content: { 'application/json': { schema: Body } } },
    ...errorResponses,
  },
});

export function registerBackendsHealth(api: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  api.use(route.getRoutingPath(), deps.authenticate);
  api.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const q = c.req.valid('query');
    const meta = deps.registry.meta(id);
    if (!meta) throw notFound(`No such backend on this broker. Backends: ${deps.registry.ids().join(', ') || '(none)'}.`);
    const since = q.since ? new Date(q.since) : new Date(Date.now() - DAY);
    const [state, rows] = await Promise.all([
      deps.registry.state(id),
      deps.ds.query(`SELECT at, ok, latency_ms, detail FROM backend_health WHERE backend_id = $1 AND at >= $2 ORDER BY at DESC LIMIT $3`, [id, since, q.limit]) as Promise<
        { at: Date; ok: boolean; latency_ms: number | null; detail: string | null }[]
      >,
    ]);
    const answered = rows.filter((r) => r.ok && r.latency_ms !== null).map((r) => r.latency_ms!);
    const h = deps.config.health;
    return c.json(
      {
        backend: id,
        status: backendStatus(meta, state, h.slowMs),
        enabled: meta.enabled,
        current: healthSummary(state),
        disabled: meta.enabled ? null : { at: meta.disabledAt?.toISOString() ?? null, reason: meta.disabledReason },
        deactivated: meta.deactivatedAt ? { at: meta.deactivatedAt.toISOString(), reason: meta.deactivatedReason } : null,
        settings: { check_interval_seconds: h.intervalMs / 1000, deactivate_after_seconds: h.deactivateAfterMs / 1000, slow_threshold_ms: h.slowMs },
        summary: {
          checks: rows.length,
          ok: rows.filter((r) => r.ok).length,
          uptime: rows.length ? rows.filter((r) => r.ok).length / rows.length : null,
          mean_latency_ms: answered.length ? Math.round(answered.reduce((a, b) => a + b, 0) / answered.length) : null,
          max_latency_ms: answered.length ? Math.max(...answered) : null,
        },
        history: rows.map((r) => ({ at: r.at.toISOString(), ok: r.ok, latency_ms: r.latency_ms, detail: r.detail })),
      },
      200,
    );
  });
}
