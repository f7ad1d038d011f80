/**
 * Panel recommendation on catalogs shaped like the real ones (MIS 2, AfriGen-D, TOPMed and a WES
 * node): deterministic ranking, the reasons, and what is left out and why.
 */
import { describe, expect, it } from 'vitest';
import type { Catalog, Panel } from '@ibroker/adapters/types';
import { recommendPanels, type RecommendBackend } from './recommend';

const pops = (...ids: string[]) => ids.map((id) => ({ id, label: id.toUpperCase() }));
const panel = (id: string, build: 'hg19' | 'hg38' | null, populations: string[], more: Partial<Panel> = {}): Panel => ({
  key: `apps@${id}@1.0.0`,
  id,
  version: '1.0.0',
  label: id,
  build,
  populations: pops(...populations),
  ...more,
});
const catalog = (panels: Panel[], builds = ['hg19', 'hg38']): Catalog => ({
  appId: 'imputationserver2',
  appVersion: '2.0.12',
  panels,
  builds,
  phasing: ['eagle'],
  r2Filter: ['0'],
  modes: ['imputation'],
});
const backend = (id: string, panels: Panel[], more: Partial<RecommendBackend> = {}): RecommendBackend => ({
  id,
  name: id,
  status: 'up',
  latencyMs: 40,
  catalog: catalog(panels),
  activeRuns: 0,
  maxConcurrentJobs: 2,
  ...more,
});

const MIS2 = [
  panel('1000g-phase-3-v5', 'hg19', ['afr', 'amr', 'eas', 'eur', 'sas', 'all', 'off']),
  panel('hapmap-2', 'hg19', ['eur', 'off']),
  panel('hrc-r1.1', 'hg19', ['eur', 'mixed', 'off']),
  panel('1000g-phase3-deep', 'hg38', ['afr', 'amr', 'eas', 'eur', 'sas', 'all', 'off']),
];
const AFRIGEN = [
  panel('h3africa-v6hc-s', 'hg38', ['afr', 'off'], { label: 'H3Africa v6 High Coverage (GRCh38/hg38)' }),
  panel('1000g-30x-nygc', 'hg38', ['afr', 'amr', 'eas', 'eur', 'sas', 'all', 'off']),
];
const TOPMED = [panel('topmed-r3', 'hg38', ['all', 'off'])];
const federation = (): RecommendBackend[] => [backend('mis2', MIS2), backend('afrigen', AFRIGEN), backend('topmed', TOPMED)];
const top = (r: ReturnType<typeof recommendPanels>, n = 3) => r.recommendations.slice(0, n).map((x) => `${x.backend}/${x.panel.id}`);

describe('recommendPanels', () => {
  it('AFR on hg38 puts the H3Africa panel first, with the AFR population, and says why', () => {
    const r = recommendPanels(federation(), 'AFR', 'hg38');
    const best = r.recommendations[0]!;
    expect(`${best.backend}/${best.panel.id}`).toBe('afrigen/h3africa-v6hc-s');
    expect(best.population).toBe('afr');
    expect(best.liftover).toBe(false);
    expect(best.rank).toBe(1);
    expect(best.reasons).toEqual(
      expect.arrayContaining([
        "offers the AFR population (population 'afr')",
        'an African reference panel, the best match for AFR ancestry',
        'panel on hg38, no liftover needed',
        'afrigen is up (answered in 40 ms)',
        '2 of 2 job slots free',
      ]),
    );
    expect(best.scores).toEqual({ population: 50, size: 0, build: 10, health: 10, capacity: 10 });
    // Every panel that takes hg38 input is ranked, the multi-ancestry ones next.
    expect(r.recommendations).toHaveLength(MIS2.length + AFRIGEN.length + TOPMED.length);
    expect(top(r, 3).slice(1)).toEqual(['mis2/1000g-phase3-deep', 'afrigen/1000g-30x-nygc']);
    // A panel without AFR (HapMap 2) is last but one, TOPMed's "all" ahead of it.
    const order = r.recommendations.map((x) => x.panel.id);
    expect(order.indexOf('topmed-r3')).toBeLessThan(order.indexOf('hapmap-2'));
  });

  it('AFR on hg19 still favours H3Africa, lifted over by the service, and says so', () => {
    const r = recommendPanels(federation(), 'AFR', 'hg19');
    const best = r.recommendations[0]!;
    expect(best.panel.id).toBe('h3africa-v6hc-s');
    expect(best.liftover).toBe(true);
    expect(best.reasons).toContain('a hg38 panel: the service lifts your hg19 input over to hg38');
    expect(r.recommendations[1]!.panel.id).toBe('1000g-phase-3-v5');
  });

  it('mixed favours multi-ancestry panels and suggests their broad population', () => {
    const r = recommendPanels(federation(), 'mixed', 'hg19');
    expect(r.recommendations[0]!.panel.id).toBe('1000g-phase-3-v5');
    expect(r.recommendations[0]!.population).toBe('all');
    expect(r.recommendations[0]!.reasons[0]).toBe("a multi-ancestry panel for a cohort of mixed ancestry (AFR, AMR, EAS, EUR, SAS); submit with population 'all'");
    const h3 = r.recommendations.find((x) => x.panel.id === 'h3africa-v6hc-s')!;
    expect(h3.scores.population).toBe(0);
    expect(h3.reasons[0]).toBe('covers only AFR, which suits a single-ancestry cohort better');
    const hrc = r.recommendations.find((x) => x.panel.id === 'hrc-r1.1')!;
    expect(hrc.population).toBe('mixed');
  });

  it('a stated sample count counts; an unknown one is said to be unknown, never guessed', () => {
    const small = panel('small', 'hg38', ['afr', 'off'], { samples: 500, variants: 12_000_000 });
    const big = panel('big', 'hg38', ['afr', 'off'], { samples: 50_000 });
    const unknown = panel('unknown', 'hg38', ['afr', 'off']);
    const r = recommendPanels([backend('n', [unknown, small, big])], 'AFR', 'hg38');
    expect(r.recommendations.map((x) => x.panel.id)).toEqual(['big', 'small', 'unknown']);
    expect(r.recommendations[0]!.scores.size).toBe(19);
    expect(r.recommendations[1]!.reasons).toContain('500 samples, 12,000,000 variant sites');
    expect(r.recommendations[2]!.reasons).toContain('panel size not stated by the backend');
  });

  it('health and free slots break the tie between two backends offering the same panel', () => {
    const busy = backend('busy', AFRIGEN, { activeRuns: 2 });
    const down = backend('down', AFRIGEN, { status: 'down' });
    const slow = backend('slow', AFRIGEN, { status: 'slow', latencyMs: 4_000 });
    const idle = backend('idle', AFRIGEN);
    const r = recommendPanels([down, busy, slow, idle], 'AFR', 'hg38');
    expect(r.recommendations.filter((x) => x.panel.id === 'h3africa-v6hc-s').map((x) => x.backend)).toEqual(['idle', 'slow', 'busy', 'down']);
    const d = r.recommendations.find((x) => x.backend === 'down')!;
    expect(d.reasons).toContain('down is down: a run sent there waits until it answers again');
    expect(r.recommendations.find((x) => x.backend === 'slow')!.reasons).toContain('slow is slow (answered in 4000 ms)');
  });

  it('leaves out switched-off backends, unknown catalogs and builds a backend does not take, saying why', () => {
    const r = recommendPanels(
      [
        backend('off', AFRIGEN, { status: 'disabled' }),
        backend('gone', AFRIGEN, { status: 'deactivated' }),
        backend('new', AFRIGEN, { catalog: null }),
        { ...backend('hg19only', MIS2), catalog: catalog(MIS2, ['hg19']) },
        backend('ok', TOPMED),
      ],
      'EUR',
      'hg38',
    );
    expect(r.recommendations.map((x) => x.backend)).toEqual(['ok']);
    expect(r.excluded).toEqual([
      { backend: 'off', panel: null, reason: 'off is disabled: it takes no new runs' },
      { backend: 'gone', panel: null, reason: 'gone is deactivated: it takes no new runs' },
      { backend: 'new', panel: null, reason: 'the panels of new are not known yet (it has not answered since the broker started)' },
      { backend: 'hg19only', panel: null, reason: 'hg19only accepts hg19 input, not hg38' },
    ]);
  });

  it('is deterministic: the same catalogs give the same ranking, whatever order the panels come in', () => {
    const a = recommendPanels(federation(), 'unknown', 'hg38');
    const shuffled = federation().map((b) => ({ ...b, catalog: { ...b.catalog!, panels: [...b.catalog!.panels].reverse() } }));
    const b = recommendPanels(shuffled, 'unknown', 'hg38');
    expect(b.recommendations.map((x) => [x.backend, x.panel.id, x.score])).toEqual(a.recommendations.map((x) => [x.backend, x.panel.id, x.score]));
    expect(a.recommendations.map((x) => x.rank)).toEqual(a.recommendations.map((_, i) => i + 1));
  });
});
