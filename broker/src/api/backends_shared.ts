/**
 * What the backend routes share: the views (never a secret: `secret_configured` says whether one
 * exists, nothing more), the id parameter, the admin check and the audit record of a change.
 */
import { z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { Panel } from '@ibroker/adapters/types';
import { BACKEND_STATUSES, backendStatus } from '../backends/status';
import type { BackendMeta } from '../backends/registry';
import type { ChangeResult } from '../backends/admin';
import type { AppDeps, AppEnv } from '../http/context';
import { notFound } from '../http/errors';

export const BackendIdParam = z.object({
  id: z
    .string()
    .max(200)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'mis2', description: 'The backend id (lower-case letters, digits, dashes)' }),
});

const Time = z.string().openapi({ format: 'date-time' });

export const HealthSummarySchema = z
  .object({
    healthy: z.boolean().openapi({ description: 'False after two failed calls in a row (probes and run calls alike)' }),
    consecutive_failures: z.number().int(),
    latency_ms: z.number().int().nullable().openapi({ description: 'Response time of the last successful probe' }),
    last_checked_at: Time.nullable(),
    last_ok_at: Time.nullable(),
    last_error: z.string().nullable(),
    failing_since: Time.nullable().openapi({ description: 'First failure of the current outage; null while it answers' }),
  })
  .openapi('BackendHealthSummary');

export const PopulationSchema = z.object({ id: z.string(), label: z.string() });
export const PanelEntrySchema = z
  .object({
    backend: z.string(),
    key: z.string().openapi({ example: 'apps@1000g-phase-3-v5@2.0.0' }),
    id: z.string().openapi({ example: '1000g-phase-3-v5' }),
    version: z.string().nullable(),
    label: z.string(),
    build: z.enum(['hg19', 'hg38']).nullable(),
    populations: z.array(PopulationSchema),
    samples: z.number().int().nullable().openapi({ description: 'Samples (haplotype donors) in the panel; null when the backend does not say' }),
    variants: z.number().int().nullable().openapi({ description: 'Variant sites in the panel; null when the backend does not say' }),
    available: z.boolean().openapi({ description: 'Whether its backend takes new runs (enabled and not deactivated)' }),
  })
  .openapi('Panel');

export function panelEntry(backend: string, p: Panel, available: boolean): z.infer<typeof PanelEntrySchema> {
  return {
    backend,
    key: p.key,
    id: p.id,
    version: p.version,
    label: p.label,
    build: p.build,
    populations: p.populations.map((x) => ({ id: x.id, label: x.label })),
    samples: p.samples ?? null,
    variants: p.variants ?? null,
    available,
  };
}

export const BackendDetailSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(['cloudgene', 'wes', 'dnastack']),
    url: z.string(),
    location: z.string().nullable(),
    source: z.enum(['config', 'admin']).openapi({ description: 'Defined in CONFIG_FILE (read-only but for enable/disable) or through the admin API' }),
    demo: z.boolean(),
    enabled: z.boolean(),
    status: z.enum(BACKEND_STATUSES),
    disabled: z.object({ at: Time.nullable(), reason: z.string().nullable(), by: z.string().nullable().optional() }).nullable(),
    deactivated: z.object({ at: Time, reason: z.string().nullable() }).nullable(),
    health: HealthSummarySchema,
    limits: z.object({
      max_concurrent_jobs: z.number().int(),
      poll_interval_ms: z.number().int(),
      max_poll_interval_ms: z.number().int(),
      retention_days: z.number().int(),
    }),
    active_runs: z.number().int(),
    catalog: z
      .object({
        app_id: z.string(),
        app_version: z.string(),
        builds: z.array(z.string()),
        panels: z.array(z.string()),
        discovered_at: Time.nullable(),
      })
      .nullable(),
    secret_configured: z.boolean().openapi({ description: 'Whether the broker holds a secret for it. The secret itself is never returned.' }),
    settings: z.record(z.string(), z.unknown()).optional().openapi({ description: 'The kind-specific settings, for administrators only' }),
    version: z.number().int().openapi({ description: 'Goes up with every change; send it back as If-Match to PATCH safely' }),
    created_at: Time.nullable(),
    updated_at: Time.nullable(),
  })
  .openapi('BackendDetail');
export type BackendDetail = z.infer<typeof BackendDetailSchema>;

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** Fields of a configuration shown as `settings` (kind-specific, no secrets, no identity, no limits). */
const NOT_SETTINGS = new Set(['id', 'kind', 'name', 'url', 'location', 'token', 'tokenEnv', 'tokenFile', 'maxConcurrentJobs', 'pollIntervalMs', 'maxPollIntervalMs', 'retentionDays']);

/** The full view of one backend; `admin` adds who disabled it and its settings. */
export async function backendDetail(deps: AppDeps, id: string, o: { admin?: boolean } = {}): Promise<BackendDetail> {
  const registry = deps.registry;
  const backend = registry.get(id);
  const meta: BackendMeta | undefined = registry.meta(id);
  if (!backend || !meta) throw notFound(`No such backend on this broker. Backends: ${registry.ids().join(', ') || '(none)'}.`);
  const c = backend.config;
  const [state, catalog, activeRuns] = await Promise.all([registry.state(id), registry.catalog(id), registry.activeRuns(id)]);
  const settings = Object.fromEntries(Object.entries(c).filter(([k, v]) => !NOT_SETTINGS.has(k) && v !== undefined));
  return {
    id,
    name: c.name,
    kind: c.kind,
    url: c.url,
    location: c.location ?? null,
    source: meta.source,
    demo: c.demo ?? false,
    enabled: meta.enabled,
    status: backendStatus(meta, state, deps.config.health.slowMs),
    disabled: meta.enabled ? null : { at: iso(meta.disabledAt), reason: meta.disabledReason, ...(o.admin ? { by: meta.disabledBy } : {}) },
    deactivated: meta.deactivatedAt ? { at: meta.deactivatedAt.toISOString(), reason: meta.deactivatedReason } : null,
    health: healthSummary(state),
    limits: {
      max_concurrent_jobs: c.maxConcurrentJobs,
      poll_interval_ms: c.pollIntervalMs,
      max_poll_interval_ms: c.maxPollIntervalMs,
      retention_days: c.retentionDays,
    },
    active_runs: activeRuns,
    catalog: catalog
      ? { app_id: catalog.appId, app_version: catalog.appVersion, builds: catalog.builds, panels: catalog.panels.map((p) => p.id), discovered_at: iso(state.catalogAt) }
      : null,
    secret_configured: meta.secretConfigured,
    ...(o.admin ? { settings } : {}),
    version: meta.version,
    created_at: iso(meta.createdAt),
    updated_at: iso(meta.updatedAt),
  };
}

export function healthSummary(state: Awaited<ReturnType<AppDeps['registry']['state']>>): z.infer<typeof HealthSummarySchema> {
  return {
    healthy: state.healthy,
    consecutive_failures: state.consecutiveFailures,
    latency_ms: state.latencyMs,
    last_checked_at: iso(state.lastCheckedAt),
    last_ok_at: iso(state.lastOkAt),
    last_error: state.lastError,
    failing_since: iso(state.failingSince ?? null),
  };
}

/** Is the caller an administrator? (No audit: this only decides how much a read shows.) */
export async function isAdmin(deps: AppDeps, c: Context<AppEnv>): Promise<boolean> {
  return (await deps.access.check(c, 'backends:admin')).allow;
}

/** Only administrators (`backends:admin`) go on: before the body is even parsed. */
export function requireBackendAdmin(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await deps.access.require(c, 'backends:admin');
    await next();
  };
}

export function actorOf(c: Context<AppEnv>): string {
  const p = c.get('principal');
  return `${p.subject} (${p.issuer})`;
}

/** `admin.backend_changed`: which backend, what kind of change, which settings (names only). */
export async function auditChange(
  deps: AppDeps,
  c: Context<AppEnv>,
  change: string,
  result: Omit<ChangeResult, 'row'> & { row: Pick<ChangeResult['row'], 'id' | 'version'> },
  extra: Record<string, unknown> = {},
): Promise<void> {
  await deps.audit?.record({
    action: 'admin.backend_changed',
    outcome: 'ok',
    actor: c.get('principal'),
    object: { kind: 'backend', id: result.row.id },
    source: deps.audit.source(c),
    details: { change, fields: result.changed, secret_changed: result.secretChanged, version: result.row.version, ...extra },
  });
}

export const NO_STORE = { 'Cache-Control': 'no-store' };
