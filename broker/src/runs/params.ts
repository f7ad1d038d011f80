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
] as const;

export interface Candidate {
  id: string;
  name: string;
  healthy: boolean;
  catalog: Catalog | null;
  activeRuns: number;
  maxConcurrentJobs: number;
  /** Backends an operator switched off (or the registry deactivated) are never candidates. */
  enabled?: boolean;
  deactivated?: boolean;
}

export interface ResolvedRun {
  backendId: string;
  params: ImputationParams;
  panel: Panel;
  /** Plain-language reasons for the choice, kept on the run for its owner. */
  reasons: string[];
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

  let pool = candidates.filter(usable);
  if (requested !== 'auto') {
    pool = candidates.filter((c) => c.id === requested);
    if (!pool.length) {
      throw badRequest(`Unknown backend '${requested}'. Use 'auto' or one of: ${list(candidates.filter(usable).map((c) => c.id))}.`);
    }
    if (!usable(pool[0]!)) {
      throw badRequest(`Backend '${requested}' is switched off on this broker. Use 'auto' or one of: ${list(candidates.filter(usable).map((c) => c.id))}.`);
    }
  }
  if (!pool.length) throw badRequest('No backend is taking runs on this broker right now: every one is switched off.');
  const known = pool.filter((c) => c.catalog);
  if (!known.length) {
    throw badRequest(
      `The panel catalog of ${requested === 'auto' ? 'every backend' : `backend '${requested}'`} is not known yet ` +
        `(the service could not be reached). Try again in a few minutes.`,
    );
  }

  const withPanel = known
    .map((c) => ({ c, panel: matchPanel(c.catalog!.panels, refpanel) }))
    .filter((x): x is { c: Candidate; panel: Panel } => x.panel !== undefined);
  if (!withPanel.length) {
    const offered = known.flatMap((c) => c.catalog!.panels.map((p) => `${p.id} (${p.build ?? 'build?'}, ${c.id})`));
    throw badRequest(`Unknown reference panel '${refpanel}'. Available reference panels: ${offered.join(', ')}.`);
  }

  const build = asString('build', raw.build) ?? detectedBuild ?? 'hg19';
  const withBuild = withPanel.filter(({ c }) => c.catalog!.builds.includes(build));
  if (!withBuild.length) {
    const builds = withPanel.flatMap(({ c }) => c.catalog!.builds);
    throw badRequest(`Build '${build}' is not offered for panel '${refpanel}'. Valid builds: ${list(builds)}.`);
  }

  const population = asString('population', raw.population);
  const withPopulation = withBuild.filter(({ panel }) =>
    population ? panel.populations.some((p) => p.id === population) : panel.populations.some((p) => p.id === 'off'),
  );
  if (!withPopulation.length) {
    const valid = withBuild.flatMap(({ panel }) => panel.populations.map((p) => p.id));
    throw badRequest(
      population
        ? `Population '${population}' is not supported by reference panel '${refpanel}'. Valid populations: ${list(valid)}.`
        : `workflow_params.population is required for reference panel '${refpanel}'. Valid populations: ${list(valid)}.`,
    );
  }

  // Auto: healthy first, then the most free capacity, then configuration order.
  const ranked = [...withPopulation].sort((a, b) => {
    if (a.c.healthy !== b.c.healthy) return a.c.healthy ? -1 : 1;
    const freeA = a.c.maxConcurrentJobs - a.c.activeRuns;
    const freeB = b.c.maxConcurrentJobs - b.c.activeRuns;
    return freeB - freeA;
  });
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

  const reasons =
    requested === 'auto'
      ? [
          `Routed to ${chosen.c.id} (${chosen.c.name}): it offers panel ${chosen.panel.id}` +
            `${chosen.panel.build ? ` (${chosen.panel.build})` : ''} with population '${params.population}' for ${build} input; ` +
            `${chosen.c.healthy ? 'healthy' : 'currently unreachable, the run waits for it'}; ` +
            `${chosen.c.activeRuns}/${chosen.c.maxConcurrentJobs} job slots in use.`,
          ...(ranked.length > 1 ? [`Other candidates: ${ranked.slice(1).map((r) => r.c.id).join(', ')}.`] : []),
        ]
      : [`Sent to ${chosen.c.id} (${chosen.c.name}) as requested.`];

  return { backendId: chosen.c.id, params, panel: chosen.panel, reasons };
}
