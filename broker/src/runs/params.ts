/**
 * Turns a client's `workflow_params` into the parameters one backend will receive, checked
 * against the panel catalogs the broker discovered (never a hard-coded list), and picks the
 * backend when the client said `auto`. Every refusal names the values that would be valid.
 */
import type { Catalog, ImputationParams, Panel } from '@ibroker/adapters/types';
import { badRequest } from '../http/errors';

export const PARAM_NAMES = [
  'files',
  'refpanel',
  'population',
  'build',
  'phasing',
  'r2Filter',
  'mode',
  'aesEncryption',
  'meta',
  'backend',
  'not_before',
] as const;

/** How far ahead a run may be scheduled. */
export const MAX_SCHEDULE_AHEAD_MS = 30 * 86_400_000;

/**
 * `workflow_params.not_before`: an ISO 8601 date-time with an offset (`Z` or `+02:00`). Null when
 * absent; a time in the past or now means "at once" (null too).
 */
export function parseNotBefore(raw: unknown, now: Date = new Date()): Date | null {
  if (raw === undefined || raw === null || raw === '') return null;
  const text = typeof raw === 'string' ? raw.trim() : '';
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
  const at = iso.test(text) ? new Date(text) : new Date(NaN);
  if (Number.isNaN(at.getTime())) {
    throw badRequest(
      `workflow_params.not_before must be an ISO 8601 date-time with a time zone offset, e.g. '2026-01-31T22:00:00Z' or '2026-01-31T23:00:00+01:00'; got ${JSON.stringify(typeof raw === 'string' ? raw.slice(0, 60) : raw)}.`,
    );
  }
  if (at.getTime() - now.getTime() > MAX_SCHEDULE_AHEAD_MS) {
    throw badRequest(`workflow_params.not_before '${text}' is more than 30 days ahead; schedule runs at most 30 days in advance.`);
  }
  return at.getTime() <= now.getTime() ? null : at;
}

export interface Candidate {
  id: string;
  name: string;
  healthy: boolean;
  catalog: Catalog | null;
  activeRuns: number;
  maxConcurrentJobs: number;
  /** Runs routed there that wait for a job slot (not yet submitted). */
  queuedRuns?: number;
  /** Failures in a row of calls and probes (0 after any success). */
  consecutiveFailures?: number;
  /** Failed health probes in the last hour. */
  recentFailures?: number;
  /** Backends an operator switched off (or the registry deactivated) are never candidates. */
  enabled?: boolean;
  deactivated?: boolean;
}

/** One backend as routing saw it: in failover order, the ineligible ones last with why. */
export interface RouteCandidate {
  backend: string;
  name: string;
  eligible: boolean;
  reason: string;
}

export interface ResolvedRun {
  backendId: string;
  params: ImputationParams;
  panel: Panel;
  /** Plain-language reasons for the choice, kept on the run for its owner. */
  reasons: string[];
  /** Every backend considered, in the order failover would try them, ineligible ones last. */
  candidates: RouteCandidate[];
  /** `auto`: the eligible backends after the chosen one, in order; empty for an explicit backend. */
  failover: string[];
}

/** A backend that may take runs at all (not switched off or deactivated). */
export const usable = (c: Candidate) => c.enabled !== false && c.deactivated !== true;

const MODE_ALIASES: Record<string, string> = { qconly: 'qc_only', 'qc-only': 'qc_only' };

const list = (values: Iterable<string>) => [...new Set(values)].map((v) => `'${v}'`).join(', ');

function asString(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  throw badRequest(`workflow_params.${name} must be a string, got ${Array.isArray(value) ? 'an array' : typeof value}`);
}

function asBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw badRequest(`workflow_params.${name} must be true or false`);
}

/** `1000g-phase-3-v5`, `apps@1000g-phase-3-v5` and `apps@1000g-phase-3-v5@2.0.0` all name a panel. */
export function matchPanel(panels: Panel[], wanted: string): Panel | undefined {
  const exact = panels.find((p) => p.key === wanted);
  if (exact) return exact;
  const bare = wanted.replace(/^apps@/, '');
  const [id, version] = bare.split('@');
  return panels.find((p) => p.id === id && (version === undefined || p.version === version));
}

export function checkUnknownParams(raw: Record<string, unknown>): void {
  const unknown = Object.keys(raw).filter((k) => !(PARAM_NAMES as readonly string[]).includes(k));
  if (unknown.length) {
    throw badRequest(
      `Unknown workflow_params ${list(unknown)}. Supported parameters: ${list(PARAM_NAMES)} ` +
        `(the names of the imputationserver2 pipeline, plus 'backend').`,
    );
  }
}

/**
 * @param detectedBuild the build the uploaded files' chromosome names suggest, used when the
 *   client gave none (Cloudgene's own default, hg19, would fail hg38 data hours later).
 */
export function resolveRun(
  raw: Record<string, unknown>,
  candidates: Candidate[],
  detectedBuild: 'hg19' | 'hg38' | null,
): ResolvedRun {
  checkUnknownParams(raw);
  const requested = asString('backend', raw.backend) ?? 'auto';
  const refpanel = asString('refpanel', raw.refpanel);
  if (!refpanel) {
    const panels = candidates.flatMap((c) => c.catalog?.panels.map((p) => p.id) ?? []);
    throw badRequest(`workflow_params.refpanel is required. Available reference panels: ${list(panels)}.`);
  }
  // Why each backend that is not a candidate was left out (for the owner and the preview).
  const excluded = new Map<string, string>();
  const exclude = (cs: Candidate[], reason: string) => {
    for (const c of cs) if (!excluded.has(c.id)) excluded.set(c.id, reason);
  };

  let pool = candidates.filter(usable);
  exclude(
    candidates.filter((c) => !usable(c)),
    'switched off on this broker',
  );
  for (const c of candidates) if (c.deactivated) excluded.set(c.id, 'deactivated after a long outage');
  if (requested !== 'auto') {
    pool = candidates.filter((c) => c.id === requested);
    if (!pool.length) {
      throw badRequest(`Unknown backend '${requested}'. Use 'auto' or one of: ${list(candidates.filter(usable).map((c) => c.id))}.`);
    }
    if (!usable(pool[0]!)) {
      throw badRequest(`Backend '${requested}' is switched off on this broker. Use 'auto' or one of: ${list(candidates.filter(usable).map((c) => c.id))}.`);
    }
    exclude(
      candidates.filter((c) => c.id !== requested),
      `not requested (workflow_params.backend is '${requested}')`,
    );
  }
  if (!pool.length) throw badRequest('No backend is taking runs on this broker right now: every one is switched off.');
  const known = pool.filter((c) => c.catalog);
  exclude(
    pool.filter((c) => !c.catalog),
    'its panel catalog is not known yet (it could not be reached)',
  );
  if (!known.length) {
    throw badRequest(
      `The panel catalog of ${requested === 'auto' ? 'every backend' : `backend '${requested}'`} is not known yet ` +
        `(the service could not be reached). Try again in a few minutes.`,
    );
  }

  const withPanel = known
    .map((c) => ({ c, panel: matchPanel(c.catalog!.panels, refpanel) }))
    .filter((x): x is { c: Candidate; panel: Panel } => x.panel !== undefined);
  exclude(
    known.filter((c) => !withPanel.some((x) => x.c === c)),
    `does not offer reference panel '${refpanel}'`,
  );
  if (!withPanel.length) {
    const offered = known.flatMap((c) => c.catalog!.panels.map((p) => `${p.id} (${p.build ?? 'build?'}, ${c.id})`));
    throw badRequest(`Unknown reference panel '${refpanel}'. Available reference panels: ${offered.join(', ')}.`);
  }

  const build = asString('build', raw.build) ?? detectedBuild ?? 'hg19';
  const withBuild = withPanel.filter(({ c }) => c.catalog!.builds.includes(build));
  exclude(
    withPanel.filter((x) => !withBuild.includes(x)).map((x) => x.c),
    `does not take ${build} input`,
  );
  if (!withBuild.length) {
    const builds = withPanel.flatMap(({ c }) => c.catalog!.builds);
    throw badRequest(`Build '${build}' is not offered for panel '${refpanel}'. Valid builds: ${list(builds)}.`);
  }

  const population = asString('population', raw.population);
  const withPopulation = withBuild.filter(({ panel }) =>
    population ? panel.populations.some((p) => p.id === population) : panel.populations.some((p) => p.id === 'off'),
  );
  exclude(
    withBuild.filter((x) => !withPopulation.includes(x)).map((x) => x.c),
    population ? `panel '${refpanel}' there has no population '${population}'` : `panel '${refpanel}' there needs a population`,
  );
  if (!withPopulation.length) {
    const valid = withBuild.flatMap(({ panel }) => panel.populations.map((p) => p.id));
    throw badRequest(
      population
        ? `Population '${population}' is not supported by reference panel '${refpanel}'. Valid populations: ${list(valid)}.`
        : `workflow_params.population is required for reference panel '${refpanel}'. Valid populations: ${list(valid)}.`,
    );
  }

  const ranked = rank(withPopulation);
  const chosen = ranked[0]!;
  const catalog = chosen.c.catalog!;

  const pick = (name: 'phasing' | 'r2Filter' | 'mode', allowed: string[], fallback: string): string => {
    let value = asString(name, raw[name]) ?? fallback;
    if (name === 'mode') value = MODE_ALIASES[value] ?? value;
    if (name === 'r2Filter' && !allowed.includes(value)) {
      const n = Number(value);
      const same = allowed.find((a) => Number(a) === n);
      if (same !== undefined && !Number.isNaN(n)) value = same;
    }
    if (!allowed.includes(value)) {
      throw badRequest(`workflow_params.${name} '${value}' is not valid on ${chosen.c.name}. Valid values: ${list(allowed)}.`);
    }
    return value;
  };

  const params: ImputationParams = {
    refpanel: chosen.panel.key,
    population: population ?? 'off',
    build,
    phasing: pick('phasing', catalog.phasing, catalog.phasing.includes('eagle') ? 'eagle' : catalog.phasing[0] ?? 'eagle'),
    r2Filter: pick('r2Filter', catalog.r2Filter, catalog.r2Filter[0] ?? '0'),
    mode: pick('mode', catalog.modes, catalog.modes.includes('imputation') ? 'imputation' : catalog.modes[0] ?? 'imputation'),
  };
  const aes = asBoolean('aesEncryption', raw.aesEncryption);
  const meta = asBoolean('meta', raw.meta);
  if (aes !== undefined) params.aesEncryption = aes;
  if (meta !== undefined) params.meta = meta;

  const routeCandidates: RouteCandidate[] = [
    ...ranked.map(({ c }) => ({ backend: c.id, name: c.name, eligible: true, reason: standing(c) })),
    ...candidates
      .filter((c) => excluded.has(c.id))
      .map((c) => ({ backend: c.id, name: c.name, eligible: false, reason: excluded.get(c.id)! })),
  ];
  const failover = requested === 'auto' ? ranked.slice(1).map((r) => r.c.id) : [];
  const reasons =
    requested === 'auto'
      ? [
          `Routed to ${chosen.c.id} (${chosen.c.name}): it offers panel ${chosen.panel.id}` +
            `${chosen.panel.build ? ` (${chosen.panel.build})` : ''} with population '${params.population}' for ${build} input; ` +
            `${standing(chosen.c)}.`,
          ...(failover.length ? [`Other candidates: ${failover.join(', ')} (tried in this order if ${chosen.c.id} cannot take the run).`] : []),
          ...[...excluded].filter(([id]) => candidates.some((c) => c.id === id)).map(([id, why]) => `Not ${id}: ${why}.`),
        ]
      : [`Sent to ${chosen.c.id} (${chosen.c.name}) as requested; no failover to other backends.`];

  return { backendId: chosen.c.id, params, panel: chosen.panel, reasons, candidates: routeCandidates, failover };
}

const load = (c: Candidate) => (c.activeRuns + (c.queuedRuns ?? 0)) / Math.max(1, c.maxConcurrentJobs);
const troubled = (c: Candidate) => (c.consecutiveFailures ?? 0) > 0 || (c.recentFailures ?? 0) >= 2;

/**
 * Auto: healthy first; then backends without recent failures (a failure in a row, or two failed
 * probes within the hour); then a free job slot; then the least load (running and waiting runs
 * per slot); then configuration order (the sort is stable).
 */
function rank<T extends { c: Candidate }>(xs: T[]): T[] {
  return [...xs].sort((a, b) => {
    if (a.c.healthy !== b.c.healthy) return a.c.healthy ? -1 : 1;
    if (troubled(a.c) !== troubled(b.c)) return troubled(a.c) ? 1 : -1;
    const freeA = a.c.activeRuns < a.c.maxConcurrentJobs;
    const freeB = b.c.activeRuns < b.c.maxConcurrentJobs;
    if (freeA !== freeB) return freeA ? -1 : 1;
    return load(a.c) - load(b.c);
  });
}

/** How a backend stood when the run was routed, in words. */
function standing(c: Candidate): string {
  const parts = [c.healthy ? 'healthy' : 'currently unreachable, the run waits for it'];
  const failures = c.consecutiveFailures ?? 0;
  const recent = c.recentFailures ?? 0;
  if (failures > 0) parts.push(`${failures} failed call${failures === 1 ? '' : 's'} in a row`);
  if (recent > 0) parts.push(`${recent} failed health probe${recent === 1 ? '' : 's'} in the last hour`);
  parts.push(`${c.activeRuns}/${c.maxConcurrentJobs} job slots in use`);
  if (c.queuedRuns) parts.push(`${c.queuedRuns} run${c.queuedRuns === 1 ? '' : 's'} waiting`);
  return parts.join('; ');
}
