/** A configuration and its `backends` row: identity, limits and settings apart, no secret kept, the same configuration back. */
import { describe, expect, it } from 'vitest';
import { backendSchema, type BackendConfig } from '../config';
import { buildHash, configOf, fieldsOf } from './store';

const cloudgene = backendSchema.parse({
  id: 'mis2',
  kind: 'cloudgene',
  name: 'MIS 2',
  url: 'https://imputationserver.sph.umich.edu',
  tokenEnv: 'MIS2_API_TOKEN',
  maxConcurrentJobs: 3,
  location: 'Ann Arbor, US',
}) as BackendConfig;

describe('backends rows', () => {
  it('split a configuration into columns and drop every secret source', () => {
    const f = fieldsOf({ ...cloudgene, token: 'secret-value' });
    expect(f).toEqual({
      id: 'mis2',
      kind: 'cloudgene',
      name: 'MIS 2',
      url: 'https://imputationserver.sph.umich.edu',
      location: 'Ann Arbor, US',
      limits: { maxConcurrentJobs: 3, pollIntervalMs: 10_000, maxPollIntervalMs: 300_000, retentionDays: 7 },
      settings: { appId: 'imputationserver2', credentials: 'service', demo: false },
    });
    expect(JSON.stringify(f)).not.toContain('secret-value');
    expect(JSON.stringify(f)).not.toContain('MIS2_API_TOKEN');
  });

  it('give the same configuration back, checked by the config schema', () => {
    const back = configOf(fieldsOf(cloudgene));
    expect(back).toEqual({ ok: true, config: { ...cloudgene, tokenEnv: undefined } });
    const broken = configOf({ ...fieldsOf(cloudgene), settings: { appId: 'x', color: 'blue' } });
    expect(broken).toEqual({ ok: false, problems: [expect.stringContaining('unknown setting "color"')] });
  });

  it('hash what an adapter is built from, whatever the key order', () => {
    const f = fieldsOf(cloudgene);
    const reordered = { ...f, settings: Object.fromEntries(Object.entries(f.settings).reverse()) };
    expect(buildHash({ ...reordered, secretFingerprint: null })).toBe(buildHash({ ...f, secretFingerprint: null }));
    expect(buildHash({ ...f, secretFingerprint: 'sha256:00000000' })).not.toBe(buildHash({ ...f, secretFingerprint: null }));
    expect(buildHash({ ...f, name: 'other', secretFingerprint: null })).not.toBe(buildHash({ ...f, secretFingerprint: null }));
  });
});
