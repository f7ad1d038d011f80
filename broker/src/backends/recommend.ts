/**
 * Which reference panel for this cohort? Given the cohort's ancestry (a 1000 Genomes
 * super-population, `mixed` or `unknown`) and its build, every (backend, panel) that can take
 * the input is scored and ranked, each with the reasons in plain words and the parameters to
 * submit it with. Pure and deterministic: same catalogs, same answer.
 *
 * Score (higher is better), one part per consideration:
 * - population (0-50): the panel offers the ancestry's population (35), and is built for that
 *   ancestry (15: an H3Africa/African panel for AFR, or a panel of that one population); for
 *   `mixed`/`unknown`, a multi-ancestry panel (35, plus 3 per super-population it lists, up to 15);
 *   a panel without the population but with `all`/`mixed` gets 10;
 * - size (0-20): 4 x log10(samples), when the backend states the sample count; nothing when not;
 * - build (0-10): 10 when the panel is on the input's build, 0 when the service lifts the input
 *   over (Cloudgene does hg19 <-> hg38), 5 when the panel's build is not stated;
 * - health (-20 to 10): up 10, slow or not yet probed 5, down -20 (runs would wait for it);
 * - capacity (0-10): the share of the backend's job slots that are free.
 * Ties: more samples first, then the order of the backends, then the panel id.
 */
import type { Catalog, GenomeBuild, Panel } from '@ibroker/adapters/types';
import type { BackendStatus } from './status';

export const SUPER_POPULATIONS = ['AFR', 'AMR', 'EAS', 'EUR', 'SAS'] as const;
export const ANCESTRIES = [...SUPER_POPULATIONS, 'mixed', 'unknown'] as const;
export type Ancestry = (typeof ANCESTRIES)[number];
type SuperPopulation = (typeof SUPER_POPULATIONS)[number];

export interface RecommendBackend {
  id: string;
  name: string;
  status: BackendStatus;
  /** Latency of the last answer, for the reasons. */
  latencyMs: number | null;
  catalog: Catalog | null;
  activeRuns: number;
  maxConcurrentJobs: number;
}

export interface Recommendation {
  rank: number;
  backend: string;
  backendName: string;
  panel: Panel;
  score: number;
  /** The part each consideration added, so a UI can show why. */
  scores: { population: number; size: number; build: number; health: number; capacity: number };
  /** The `population` to submit with (the ancestry's own when offered, else the panel's broadest). */
  population: string;
  /** True when the service lifts the input over to the panel's build. */
  liftover: boolean;
  reasons: string[];
}

export interface Excluded {
  backend: string;
  panel: string | null;
  reason: string;
}

export interface RecommendResult {
  recommendations: Recommendation[];
  /** What was left out, and why (build not accepted, backend switched off, catalog not known). */
  excluded: Excluded[];
}

/**
 * Panels built for one ancestry, by name: the H3Africa panels (and African-American CAAPA) for
 * AFR, GenomeAsia and GASP for the Asian super-populations. Anything else is judged by its populations.
 */
const ANCESTRY_PANELS: Partial<Record<SuperPopulation, { pattern: RegExp; words: string }>> = {
  AFR: { pattern: /h3africa|african|\bcaapa\b|\bagvp\b/i, words: 'an African reference panel' },
  EAS: { pattern: /genome-?asia|\bgasp\b/i, words: 'an Asian reference panel' },
  SAS: { pattern: /genome-?asia/i, words: 'an Asian reference panel' },
};
const BROAD = ['mixed', 'all'];
const NOT_A_POPULATION = new Set(['off', 'all', 'mixed']);

const superPopulationsOf = (panel: Panel): SuperPopulation[] =>
  SUPER_POPULATIONS.filter((s) => panel.populations.some((p) => p.id.toLowerCase() === s.toLowerCase()));

const offers = (panel: Panel, id: string) => panel.populations.find((p) => p.id.toLowerCase() === id.toLowerCase());

const thousands = (n: number) => n.toLocaleString('en-US');

function populationPart(panel: Panel, ancestry: Ancestry): { score: number; population: string; reasons: string[] } {
  const broadest = BROAD.map((b) => offers(panel, b)?.id).find(Boolean) ?? offers(panel, 'off')?.id ?? panel.populations[0]?.id ?? 'off';
  const supers = superPopulationsOf(panel);
  const multi = BROAD.some((b) => offers(panel, b)) || supers.length >= 3;
  if (ancestry === 'mixed' || ancestry === 'unknown') {
    const why = ancestry === 'mixed' ? 'for a cohort of mixed ancestry' : 'when the ancestry is not known';
    if (multi) {
      const spread = Math.min(15, supers.length * 3);
      return {
        score: 35 + spread,
        population: broadest,
        reasons: [`a multi-ancestry panel ${why}${supers.length ? ` (${supers.join(', ')})` : ''}; submit with population '${broadest}'`],
      };
    }
    const only = panel.populations.filter((p) => !NOT_A_POPULATION.has(p.id.toLowerCase())).map((p) => p.id.toUpperCase());
    return { score: 0, population: broadest, reasons: [`covers ${only.length ? `only ${only.join(', ')}` : 'no stated population'}, which suits a single-ancestry cohort better`] };
  }
  const own = offers(panel, ancestry);
  const named = ANCESTRY_PANELS[ancestry];
  const text = `${panel.id} ${panel.label}`;
  const broad = BROAD.some((b) => offers(panel, b));
  // Built for one ancestry: named so, or listing that one super-population and no broad one.
  const specific = (named?.pattern.test(text) ?? false) || (supers.length === 1 && supers[0] === ancestry && !broad);
  const reasons: string[] = [];
  let score = 0;
  if (own) {
    score += 35;
    reasons.push(`offers the ${ancestry} population (population '${own.id}')`);
  }
  if (specific) {
    score += 15;
    reasons.push(named?.pattern.test(text) ? `${named.words}, the best match for ${ancestry} ancestry` : `built for ${ancestry} ancestry`);
  }
  if (own) return { score, population: own.id, reasons };
  if (broad) {
    return { score: score + 10, population: broadest, reasons: [...reasons, `does not list ${ancestry}; as a multi-ancestry panel it is the next best (population '${broadest}')`] };
  }
  return { score, population: broadest, reasons: [...reasons, `does not list the ${ancestry} population`] };
}

function sizePart(panel: Panel): { score: number; reasons: string[] } {
  const variants = panel.variants ? `, ${thousands(panel.variants)} variant sites` : '';
  if (!panel.samples) return { score: 0, reasons: [`panel size not stated by the backend${variants}`] };
  return { score: Math.min(20, Math.round(4 * Math.log10(panel.samples))), reasons: [`${thousands(panel.samples)} samples${variants}`] };
}

function buildPart(panel: Panel, build: GenomeBuild): { score: number; liftover: boolean; reasons: string[] } {
  if (panel.build === build) return { score: 10, liftover: false, reasons: [`panel on ${build}, no liftover needed`] };
  if (panel.build === null) return { score: 5, liftover: false, reasons: [`panel build not stated; the backend accepts ${build} input`] };
  return { score: 0, liftover: true, reasons: [`a ${panel.build} panel: the service lifts your ${build} input over to ${panel.build}`] };
}

function healthPart(b: RecommendBackend): { score: number; reasons: string[] } {
  switch (b.status) {
    case 'up':
      return { score: 10, reasons: [`${b.id} is up${b.latencyMs !== null ? ` (answered in ${b.latencyMs} ms)` : ''}`] };
    case 'slow':
      return { score: 5, reasons: [`${b.id} is slow${b.latencyMs !== null ? ` (answered in ${b.latencyMs} ms)` : ''}`] };
    case 'down':
      return { score: -20, reasons: [`${b.id} is down: a run sent there waits until it answers again`] };
    default:
      return { score: 5, reasons: [`${b.id} has not been checked yet`] };
  }
}

function capacityPart(b: RecommendBackend): { score: number; reasons: string[] } {
  const free = Math.max(0, b.maxConcurrentJobs - b.activeRuns);
  return { score: Math.round((10 * free) / Math.max(1, b.maxConcurrentJobs)), reasons: [`${free} of ${b.maxConcurrentJobs} job slots free`] };
}

/** Ranks every (backend, panel) that can take `build` input for a cohort of `ancestry`. */
export function recommendPanels(backends: readonly RecommendBackend[], ancestry: Ancestry, build: GenomeBuild): RecommendResult {
  const excluded: Excluded[] = [];
  const scored: (Omit<Recommendation, 'rank'> & { order: number })[] = [];
  backends.forEach((b, order) => {
    if (b.status === 'disabled' || b.status === 'deactivated') {
      excluded.push({ backend: b.id, panel: null, reason: `${b.id} is ${b.status}: it takes no new runs` });
      return;
    }
    if (!b.catalog) {
      excluded.push({ backend: b.id, panel: null, reason: `the panels of ${b.id} are not known yet (it has not answered since the broker started)` });
      return;
    }
    if (!b.catalog.builds.includes(build)) {
      excluded.push({ backend: b.id, panel: null, reason: `${b.id} accepts ${b.catalog.builds.join(' or ') || 'no'} input, not ${build}` });
      return;
    }
    for (const panel of b.catalog.panels) {
      const population = populationPart(panel, ancestry);
      const size = sizePart(panel);
      const fit = buildPart(panel, build);
      const health = healthPart(b);
      const capacity = capacityPart(b);
      const scores = { population: population.score, size: size.score, build: fit.score, health: health.score, capacity: capacity.score };
      scored.push({
        order,
        backend: b.id,
        backendName: b.name,
        panel,
        score: Math.max(0, Object.values(scores).reduce((a, x) => a + x, 0)),
        scores,
        population: population.population,
        liftover: fit.liftover,
        reasons: [...population.reasons, ...size.reasons, ...fit.reasons, ...health.reasons, ...capacity.reasons],
      });
    }
  });
  scored.sort(
    (a, b) =>
      b.score - a.score ||
      (b.panel.samples ?? 0) - (a.panel.samples ?? 0) ||
      a.order - b.order ||
      (a.panel.id < b.panel.id ? -1 : a.panel.id > b.panel.id ? 1 : 0),
  );
  return { recommendations: scored.map(({ order: _order, ...r }, i) => ({ rank: i + 1, ...r })), excluded };
}
