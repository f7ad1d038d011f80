import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCatalog } from '@ibroker/adapters/cloudgene/index';
import type { Catalog } from '@ibroker/adapters/types';
import { ApiError } from '../http/errors';
import { MAX_SCHEDULE_AHEAD_MS, matchPanel, parseNotBefore, resolveRun, type Candidate } from './params';

const fixture = JSON.parse(
  readFileSync(new URL('../../../../shared/backends/cloudgene/examples/app-imputationserver2.json', import.meta.url), 'utf8'),
) as unknown;
const mis: Catalog = parseCatalog(fixture);
const afrigen: Catalog = {
  ...mis,
  panels: [
    {
      key: 'apps@h3africa-v6hc-s@1.0.0',
      id: 'h3africa-v6hc-s',
      version: '1.0.0',
      label: 'H3Africa v6 (GRCh38/hg38)',
      build: 'hg38',
      populations: [
        { id: 'afr', label: 'AFR' },
        { id: 'off', label: 'Off' },
      ],
    },
    {
      key: 'apps@1000g-phase-3-v5@1.0.0',
      id: '1000g-phase-3-v5',
      version: '1.0.0',
      label: '1000G Phase 3 v5 (GRCh38/hg38)',
      build: 'hg38',
      populations: [{ id: 'afr', label: 'AFR' }],
    },
  ],
};

const candidates = (over: Partial<Record<'mis2' | 'afrigen', Partial<Candidate>>> = {}): Candidate[] => [
  { id: 'mis2', name: 'MIS 2', healthy: true, catalog: mis, activeRuns: 0, maxConcurrentJobs: 2, ...over.mis2 },
  { id: 'afrigen', name: 'AfriGen-D', healthy: true, catalog: afrigen, activeRuns: 0, maxConcurrentJobs: 2, ...over.afrigen },
];

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error('expected a refusal');
}

describe('resolveRun', () => {
  it('accepts the pretty id, the bare app key and the full key of a panel', () => {
    for (const refpanel of ['hapmap-2', 'apps@hapmap-2', 'apps@hapmap-2@2.0.0']) {
      const r = resolveRun({ refpanel, population: 'eur' }, candidates(), 'hg19');
      expect(r.params.refpanel).toBe('apps@hapmap-2@2.0.0');
      expect(r.backendId).toBe('mis2');
    }
    expect(matchPanel(mis.panels, 'apps@hapmap-2@9.9.9')).toBeUndefined();
  });

  it('fills Cloudgene defaults and normalizes values', () => {
    const r = resolveRun({ refpanel: 'hapmap-2', population: 'eur', r2Filter: 0.3, mode: 'qconly' }, candidates(), 'hg19');
    expect(r.params).toEqual({
      refpanel: 'apps@hapmap-2@2.0.0',
      population: 'eur',
      build: 'hg19',
      phasing: 'eagle',
      r2Filter: '0.3',
      mode: 'qc_only',
    });
  });

  it('uses the build detected from the files when none is given, and population off when offered', () => {
    const r = resolveRun({ refpanel: 'h3africa-v6hc-s' }, candidates(), 'hg38');
    expect(r.params.build).toBe('hg38');
    expect(r.params.population).toBe('off');
    expect(r.backendId).toBe('afrigen');
  });

  it('names the valid panels when the panel is unknown', () => {
    const e = refusal(() => resolveRun({ refpanel: 'nope' }, candidates(), null));
    expect(e.status).toBe(400);
    expect(e.message).toContain("Unknown reference panel 'nope'");
    expect(e.message).toContain('hapmap-2');
    expect(e.message).toContain('h3africa-v6hc-s');
  });

  it('names the valid populations when the panel lacks the population', () => {
    const e = refusal(() => resolveRun({ refpanel: 'hapmap-2', population: 'afr' }, candidates(), 'hg19'));
    expect(e.message).toContain("Population 'afr' is not supported by reference panel 'hapmap-2'");
    expect(e.message).toContain("'eur'");
  });

  it('requires a population when the panel has no off switch', () => {
    const e = refusal(() => resolveRun({ refpanel: '1000g-phase-3-v5', backend: 'afrigen' }, candidates(), 'hg38'));
    expect(e.message).toContain('population is required');
    expect(e.message).toContain("'afr'");
  });

  it('refuses a build no server offers, naming the valid ones', () => {
    const e = refusal(() => resolveRun({ refpanel: 'hapmap-2', population: 'eur', build: 'hg17' }, candidates(), null));
    expect(e.message).toContain("Build 'hg17'");
    expect(e.message).toContain("'hg19', 'hg38'");
  });

  it('refuses unknown parameters and unknown backends with the supported names', () => {
    expect(refusal(() => resolveRun({ refpanel: 'hapmap-2', format: 'vcf' }, candidates(), null)).message).toContain("Unknown workflow_params 'format'");
    const e = refusal(() => resolveRun({ refpanel: 'hapmap-2', backend: 'topmed' }, candidates(), null));
    expect(e.message).toContain("Unknown backend 'topmed'");
    expect(e.message).toContain("'mis2', 'afrigen'");
  });

  it('refuses invalid phasing, r2Filter and mode values with the valid ones', () => {
    expect(refusal(() => resolveRun({ refpanel: 'hapmap-2', population: 'eur', phasing: 'shapeit' }, candidates(), 'hg19')).message).toContain(
      "'beagle', 'eagle', 'no_phasing'",
    );
    expect(refusal(() => resolveRun({ refpanel: 'hapmap-2', population: 'eur', r2Filter: '0.5' }, candidates(), 'hg19')).message).toContain('r2Filter');
    expect(refusal(() => resolveRun({ refpanel: 'hapmap-2', population: 'eur', refpanel2: 1 }, candidates(), 'hg19')).message).toContain('refpanel2');
    expect(refusal(() => resolveRun({ refpanel: ['hapmap-2'] }, candidates(), 'hg19')).message).toContain('must be a string');
  });

  it('routes auto runs to a healthy backend with free slots, and records why', () => {
    const both = resolveRun({ refpanel: '1000g-phase-3-v5', population: 'afr', build: 'hg38' }, candidates(), 'hg38');
    expect(both.backendId).toBe('mis2');
    const busy = resolveRun(
      { refpanel: '1000g-phase-3-v5', population: 'afr', build: 'hg38' },
      candidates({ mis2: { activeRuns: 2 } }),
      'hg38',
    );
    expect(busy.backendId).toBe('afrigen');
    expect(busy.reasons[0]).toContain('Routed to afrigen');
    const down = resolveRun({ refpanel: '1000g-phase-3-v5', population: 'afr', build: 'hg38' }, candidates({ mis2: { healthy: false } }), 'hg38');
    expect(down.backendId).toBe('afrigen');
  });

  it('says when no catalog is known yet instead of guessing', () => {
    const e = refusal(() => resolveRun({ refpanel: 'hapmap-2' }, candidates({ mis2: { catalog: null }, afrigen: { catalog: null } }), null));
    expect(e.message).toContain('not known yet');
  });

  it('orders the failover candidates: healthy, without recent failures, free slots, least load; ineligible last with why', () => {
    const auto = { refpanel: '1000g-phase-3-v5', population: 'afr', build: 'hg38' };
    const flaky = resolveRun(auto, candidates({ mis2: { consecutiveFailures: 1 } }), 'hg38');
    expect(flaky.backendId).toBe('afrigen');
    expect(flaky.failover).toEqual(['mis2']);
    expect(flaky.candidates.map((c) => [c.backend, c.eligible])).toEqual([
      ['afrigen', true],
      ['mis2', true],
    ]);
    expect(flaky.candidates[1]!.reason).toContain('1 failed call in a row');
    const probes = resolveRun(auto, candidates({ mis2: { recentFailures: 3 } }), 'hg38');
    expect(probes.backendId).toBe('afrigen');
    expect(probes.reasons.join(' ')).toContain('Other candidates: mis2');
    // Waiting runs count as load: the queue is spread, not piled on the first backend.
    const queued = resolveRun(auto, candidates({ mis2: { queuedRuns: 5 } }), 'hg38');
    expect(queued.backendId).toBe('afrigen');
    // hapmap-2 is not offered by afrigen: it is an ineligible candidate, last, with the reason.
    const hap = resolveRun({ refpanel: 'hapmap-2', population: 'eur' }, candidates(), 'hg19');
    expect(hap.failover).toEqual([]);
    expect(hap.candidates).toEqual([
      expect.objectContaining({ backend: 'mis2', eligible: true }),
      { backend: 'afrigen', name: 'AfriGen-D', eligible: false, reason: "does not offer reference panel 'hapmap-2'" },
    ]);
    expect(hap.reasons).toContain("Not afrigen: does not offer reference panel 'hapmap-2'.");
  });

  it('an explicit backend has no failover; switched-off backends are never candidates', () => {
    const explicit = resolveRun({ refpanel: '1000g-phase-3-v5', population: 'afr', build: 'hg38', backend: 'afrigen' }, candidates(), 'hg38');
    expect(explicit.failover).toEqual([]);
    expect(explicit.reasons[0]).toContain('no failover');
    const off = resolveRun({ refpanel: '1000g-phase-3-v5', population: 'afr', build: 'hg38' }, candidates({ mis2: { enabled: false } }), 'hg38');
    expect(off.backendId).toBe('afrigen');
    expect(off.candidates.find((c) => c.backend === 'mis2')).toMatchObject({ eligible: false, reason: 'switched off on this broker' });
    const e = refusal(() => resolveRun({ refpanel: 'hapmap-2', population: 'eur', backend: 'mis2' }, candidates({ mis2: { deactivated: true } }), 'hg19'));
    expect(e.message).toContain('switched off');
  });

  it('parses not_before: past means now, more than 30 days ahead or not a date-time with offset is refused', () => {
    const now = new Date('2026-03-01T12:00:00Z');
    expect(parseNotBefore(undefined, now)).toBeNull();
    expect(parseNotBefore('2026-03-01T11:00:00Z', now)).toBeNull();
    expect(parseNotBefore('2026-03-01T14:00:00+01:00', now)?.toISOString()).toBe('2026-03-01T13:00:00.000Z');
    expect(refusal(() => parseNotBefore(new Date(now.getTime() + MAX_SCHEDULE_AHEAD_MS + 60_000).toISOString(), now)).message).toContain('more than 30 days ahead');
    for (const bad of ['tomorrow', '2026-03-02', '2026-03-02T10:00:00', 1234, '2026-13-40T00:00:00Z']) {
      const e = refusal(() => parseNotBefore(bad, now));
      expect(e.status).toBe(400);
      expect(e.message).toContain('ISO 8601 date-time with a time zone offset');
    }
  });
});
