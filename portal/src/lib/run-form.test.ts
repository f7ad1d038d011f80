import { describe, expect, it } from 'vitest';
import { checkVcfFile, notBefore, paramsQuery, workflowParams } from './run-form';

describe('run form', () => {
  it('leaves empty choices out of workflow_params so the broker applies its defaults', () => {
    expect(workflowParams({ refpanel: ' 1000g-phase-3-v5 ', population: '', build: 'hg19', backend: 'auto' })).toEqual({ refpanel: '1000g-phase-3-v5', build: 'hg19', backend: 'auto' });
  });

  it('schedules with not_before in UTC, from the form\'s zone-less date and time', () => {
    expect(workflowParams({ refpanel: 'p', not_before: '2026-12-02T18:30' })).toEqual({ refpanel: 'p', not_before: '2026-12-02T18:30:00Z' });
    expect(notBefore('2026-12-02T18:30:15')).toBe('2026-12-02T18:30:15Z');
    expect(notBefore('2026-12-02T18:30:00+02:00')).toBe('2026-12-02T18:30:00+02:00');
  });

  it('puts the message and the choices back into the form after a refusal', () => {
    const q = new URLSearchParams(paramsQuery({ refpanel: 'hapmap-2', population: 'afr' }, 'Population afr is not offered'));
    expect(q.get('error')).toBe('Population afr is not offered');
    expect(q.get('refpanel')).toBe('hapmap-2');
    expect(q.get('population')).toBe('afr');
  });

  it('tells bgzip from plain gzip and other files by their first bytes', () => {
    const bgzf = new Uint8Array([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, 0x42, 0x43, 2, 0, 0x1b, 0]);
    const gzip = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(checkVcfFile('chr20.vcf.gz', 100, bgzf).ok).toBe(true);
    expect(checkVcfFile('chr20.vcf.gz', 100, gzip)).toEqual({ ok: false, message: expect.stringContaining('plain gzip') });
    expect(checkVcfFile('chr20.vcf', 100, bgzf).message).toContain('.vcf.gz');
    expect(checkVcfFile('chr20.vcf.gz', 0, new Uint8Array()).message).toContain('empty');
    expect(checkVcfFile('chr20.vcf.gz', 10, new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).message).toContain('Not gzip');
  });
});
