import { describe, expect, it } from 'vitest';
import type { ImputationParams } from '../types';
import { BROKER_PARAM_TEMPLATE, IS2_PARAM_TEMPLATE, inputReference, panelIdOf, renderTags, renderTemplate, templatePlaceholders } from './params';

const params: ImputationParams = { refpanel: 'apps@1000g-phase-3-v5@2.0.0', population: 'afr', build: 'hg38', phasing: 'eagle', r2Filter: '0.3', mode: 'imputation', aesEncryption: true };
const ctx = { runId: 'run-7', params, password: 'Pw123', files: ['chr20.vcf.gz', 'chr21.vcf.gz'] };

describe('parameter template', () => {
  it('renders the imputationserver2 names by default', () => {
    expect(renderTemplate(IS2_PARAM_TEMPLATE, ctx)).toEqual({
      files: ['chr20.vcf.gz', 'chr21.vcf.gz'],
      refpanel: 'apps@1000g-phase-3-v5@2.0.0',
      population: 'afr',
      build: 'hg38',
      phasing: 'eagle',
      r2Filter: '0.3',
      mode: 'imputation',
      password: 'Pw123',
    });
  });

  it('never sends a password to another broker, which refuses unknown parameters', () => {
    expect(renderTemplate(BROKER_PARAM_TEMPLATE, ctx)).not.toHaveProperty('password');
    expect(templatePlaceholders(BROKER_PARAM_TEMPLATE).has('password')).toBe(false);
  });

  it('keeps types for whole placeholders and splices text into longer strings', () => {
    const out = renderTemplate(
      { target_datasets: 'in=${files}', genome_build: 'b${build}', ref_panels: { name: '${panelId}' }, encrypt: '${aesEncryption}', n: 3, chroms: ['${files}'], outDir: 'runs/${runId}' },
      ctx,
    );
    expect(out).toEqual({
      target_datasets: 'in=chr20.vcf.gz,chr21.vcf.gz',
      genome_build: 'bhg38',
      ref_panels: { name: '1000g-phase-3-v5' },
      encrypt: true,
      n: 3,
      chroms: [['chr20.vcf.gz', 'chr21.vcf.gz']],
      outDir: 'runs/run-7',
    });
  });

  it('refuses an unknown placeholder when configured, naming where it is', () => {
    expect(() => templatePlaceholders({ a: { b: ['${nope}'] } })).toThrow(/unknown placeholder \$\{nope\} at a\.b\[0\]/);
  });

  it('fills ${runId} in tags, and picks the input reference per mode', () => {
    expect(renderTags({ run_dir: 'file:runs/${runId}', team: 'x' }, 'r-1')).toEqual({ run_dir: 'file:runs/r-1', team: 'x' });
    const file = { name: 'chr20.vcf.gz', path: '/tmp/x', size: 1, url: 'https://b/x?sig=1', drsUri: 'drs://b/1' };
    expect(['attachment', 'https', 'drs'].map((m) => inputReference(file, m as 'attachment'))).toEqual(['chr20.vcf.gz', 'https://b/x?sig=1', 'drs://b/1']);
    expect(inputReference({ name: 'a', path: '/a', size: 1 }, 'https')).toBeNull();
    expect(panelIdOf('apps@hapmap-2@2.0.0')).toBe('hapmap-2');
    expect(panelIdOf('hapmap-2')).toBe('hapmap-2');
  });
});
