import { describe, expect, it } from 'vitest';
import { buildFromLabel, parseCatalog, splitPanelKey } from './catalog';
import { fixture, fixturesAvailable } from './fixtures.test-helper';

describe.skipIf(!fixturesAvailable)('parseCatalog on app-imputationserver2.json', () => {
  const catalog = parseCatalog(fixture('app-imputationserver2.json'));

  it('reads the app id and version', () => {
    expect(catalog.appId).toBe('imputationserver2');
    expect(catalog.appVersion).toBe('2.0.12');
  });

  it('lists every panel with key, pretty id, version, label and build', () => {
    expect(catalog.panels.map(({ populations: _p, ...panel }) => panel)).toEqual([
      {
        key: 'apps@1000g-phase-3-v5@2.0.0',
        id: '1000g-phase-3-v5',
        version: '2.0.0',
        label: '1000G Phase 3 v5 (GRCh37/hg19)',
        build: 'hg19',
      },
      { key: 'apps@hapmap-2@2.0.0', id: 'hapmap-2', version: '2.0.0', label: 'HapMap 2 (GRCh37/hg19)', build: 'hg19' },
    ]);
  });

  it('attaches populations from the binded_list to their panel', () => {
    const [kg, hapmap] = catalog.panels;
    expect(kg?.populations.map((p) => p.id)).toEqual(expect.arrayContaining(['afr', 'amr', 'eas', 'eur']));
    expect(kg?.populations.find((p) => p.id === 'afr')?.label).toBe('AFR');
    expect(hapmap?.populations).toEqual([
      { id: 'eur', label: 'EUR' },
      { id: 'off', label: 'Off' },
    ]);
  });

  it('reads the list params by their keys', () => {
    expect(catalog.builds).toEqual(['hg19', 'hg38']);
    expect(catalog.phasing).toEqual(['beagle', 'eagle', 'no_phasing']);
    expect(catalog.r2Filter).toEqual(['0', '0.001', '0.1', '0.2', '0.3']);
    expect(catalog.modes).toEqual(['imputation', 'qc_only']);
  });
});

describe('parseCatalog on odd input', () => {
  it('gives an empty catalog rather than throwing', () => {
    expect(parseCatalog(null)).toEqual({
      appId: '',
      appVersion: '',
      panels: [],
      builds: [],
      phasing: [],
      r2Filter: [],
      modes: [],
    });
  });

  it('keeps a panel that has no population entry', () => {
    const catalog = parseCatalog({
      id: 'imputationserver2',
      version: '2.0.10',
      params: [
        { id: 'refpanel', type: 'app_list', values: [{ key: 'apps@topmed-r3@1.0.0', value: 'TOPMed r3 (GRCh38/hg38)' }] },
      ],
    });
    expect(catalog.panels).toEqual([
      { key: 'apps@topmed-r3@1.0.0', id: 'topmed-r3', version: '1.0.0', label: 'TOPMed r3 (GRCh38/hg38)', build: 'hg38', populations: [] },
    ]);
  });
});

describe('splitPanelKey', () => {
  it('accepts the three forms Cloudgene accepts', () => {
    expect(splitPanelKey('apps@h3africa-v6hc-s@1.0.0')).toEqual({ id: 'h3africa-v6hc-s', version: '1.0.0' });
    expect(splitPanelKey('apps@hapmap-2')).toEqual({ id: 'hapmap-2', version: null });
    expect(splitPanelKey('hapmap-2')).toEqual({ id: 'hapmap-2', version: null });
  });
});

describe('buildFromLabel', () => {
  it('reads the build Cloudgene puts in the label', () => {
    expect(buildFromLabel('HapMap 2 (GRCh37/hg19)')).toBe('hg19');
    expect(buildFromLabel('1000G Phase 3 30x (GRCh38/hg38)')).toBe('hg38');
    expect(buildFromLabel('H3Africa v6')).toBeNull();
  });
});
