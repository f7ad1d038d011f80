/**
 * How a backend's health reads to a person: its status (up, slow, down, deactivated, disabled,
 * not checked yet) by label and symbol, never by colour alone, and its probe history summed up
 * in words. Pure functions over the shapes of api-spec/broker.yaml.
 */
import type { components } from '@ibroker/api-spec/broker';

export type Backend = components['schemas']['Backend'];
export type BackendDetail = components['schemas']['BackendDetail'];
export type BackendHealth = components['schemas']['BackendHealth'];
export type BackendStatus = Backend['status'];
export type HealthProbe = BackendHealth['history'][number];

export interface StatusInfo {
  label: string;
  icon: string;
  tone: 'ok' | 'active' | 'bad' | 'muted';
  meaning: string;
}

export const BACKEND_STATUS: Record<BackendStatus, StatusInfo> = {
  up: { label: 'Up', icon: '●', tone: 'ok', meaning: 'Answering normally; takes new runs.' },
  slow: { label: 'Slow', icon: '◔', tone: 'active', meaning: 'Answering, but slower than usual; takes new runs.' },
  down: { label: 'Down', icon: '▲', tone: 'bad', meaning: 'Not answering: its runs wait, new runs go elsewhere.' },
  deactivated: { label: 'Deactivated', icon: '⊘', tone: 'bad', meaning: 'Down for too long: the broker stopped sending it runs until it answers again or an administrator enables it.' },
  disabled: { label: 'Disabled', icon: '❚❚', tone: 'muted', meaning: 'Switched off by an administrator: no new runs; runs already there go on.' },
  unknown: { label: 'Not checked yet', icon: '?', tone: 'muted', meaning: 'The broker has not probed it yet.' },
};

export const backendStatus = (status: string | undefined): StatusInfo => BACKEND_STATUS[(status ?? 'unknown') as BackendStatus] ?? BACKEND_STATUS.unknown;

/** `123 ms`, `1.2 s`, or a dash when there is no figure. */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The probe history in one sentence (also the text alternative of its chart). */
export function historySummary(h: Pick<BackendHealth, 'summary'>): string {
  const s = h.summary;
  if (s.checks === 0) return 'No health checks recorded yet.';
  const uptime = s.uptime === null ? '' : `${(s.uptime * 100).toFixed(s.uptime === 1 ? 0 : 1)} % up`;
  return `${uptime} over the last ${s.checks} checks (${s.ok} answered); mean response ${formatLatency(s.mean_latency_ms)}, slowest ${formatLatency(s.max_latency_ms)}.`;
}

export interface HealthBar {
  x: number;
  height: number;
  ok: boolean;
  title: string;
}

/**
 * Bars for the history chart, oldest on the left: height is the response time relative to the
 * slowest probe shown (a failed probe is a full-height bar marked as failed).
 */
export function healthBars(history: readonly HealthProbe[], width: number, height: number, max = 60): HealthBar[] {
  const probes = [...history].sort((a, b) => a.at.localeCompare(b.at)).slice(-max);
  if (probes.length === 0) return [];
  const slowest = Math.max(1, ...probes.map((p) => p.latency_ms ?? 0));
  const step = width / Math.max(probes.length, 1);
  return probes.map((p, i) => ({
    x: i * step,
    height: p.ok ? Math.max(2, ((p.latency_ms ?? 0) / slowest) * height) : height,
    ok: p.ok,
    title: `${p.at.slice(0, 19).replace('T', ' ')} UTC: ${p.ok ? `answered in ${formatLatency(p.latency_ms)}` : `failed${p.detail ? ` (${p.detail})` : ''}`}`,
  }));
}
