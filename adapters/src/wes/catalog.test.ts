/** Another broker's `GET /api/v1/panels`: panels merged by key, counts taken only when they are whole positive numbers. */
import { describe, expect, it } from 'vitest';
import { parseBrokerPanels } from './catalog';

describe('parseBrokerPanels', () => {
  it('keeps the samples and variants the other broker states, and nothing it does not', () => {
    const panels = parseBrokerPanels({
      panels: [
        { backend: 'a', key: 'apps@h3@1', id: 'h3', version: '1', label: 'H3', build: 'hg38', populations: [{ id: 'afr', label: 'AFR' }], samples: 4000, variants: 40_000_000 },
        { backend: 'b', key: 'apps@h3@1', id: 'h3', version: '1', label: 'H3', build: 'hg38', populations: [{ id: 'off', label: 'Off' }], samples: 4000 },
        { backend: 'a', key: 'apps@x@1', id: 'x', version: '1', label: 'X', build: 'hg19', populations: [], samples: null, variants: -5 },
        { backend: 'a', key: 'apps@y@1', id: 'y', version: '1', label: 'Y', build: 'hg19', populations: [], samples: 2.5, variants: '100' },
      ],
    });
    expect(panels.map((p) => [p.id, p.samples, p.variants, p.populations.map((x) => x.id)])).toEqual([
      ['h3', 4000, 40_000_000, ['afr', 'off']],
      ['x', undefined, undefined, []],
      ['y', undefined, undefined, []],
    ]);
  });
});
