/** One word for a backend's health, as UIs show it. */
import type { BackendState } from '../db/entities';
import type { BackendMeta } from './registry';

/**
 * - `up`: answered the last time it was asked, within the slow threshold;
 * - `slow`: answered, slower than HEALTH_SLOW_THRESHOLD;
 * - `down`: failed twice or more in a row (probes and run calls alike);
 * - `deactivated`: the health monitor took it out of service after HEALTH_DEACTIVATE_AFTER of failures;
 * - `disabled`: an administrator switched it off (or it left CONFIG_FILE);
 * - `unknown`: never asked yet.
 * Only `up`, `slow` and `down` (and `unknown`) backends take new runs.
 */
export const BACKEND_STATUSES = ['up', 'slow', 'down', 'deactivated', 'disabled', 'unknown'] as const;
export type BackendStatus = (typeof BACKEND_STATUSES)[number];

export function backendStatus(
  meta: Pick<BackendMeta, 'enabled' | 'deactivatedAt'>,
  state: Pick<BackendState, 'healthy' | 'lastCheckedAt' | 'latencyMs'>,
  slowMs: number,
): BackendStatus {
  if (!meta.enabled) return 'disabled';
  if (meta.deactivatedAt) return 'deactivated';
  if (!state.healthy) return 'down';
  if (!state.lastCheckedAt) return 'unknown';
  if (state.latencyMs !== null && state.latencyMs > slowMs) return 'slow';
  return 'up';
}
