import { describe, expect, it } from 'vitest';
import {
  authenticateDevUser,
  DEMO_DATASET_URL,
  demoTermsUrl,
  DEV_USERS,
  devVisaSources,
  findDevUser,
  REGISTERED_ACCESS_DOI,
  visaAssertionsFor,
} from './users';

describe('dev users', () => {
  it('knows alice, admin and bob (no visas), without exposing passwords', () => {
    expect(DEV_USERS.map((u) => [u.username, u.roles])).toEqual([
      ['alice', ['researcher']],
      ['admin', ['admin']],
      ['bob', []],
    ]);
    for (const user of DEV_USERS) expect(Object.keys(user).sort()).toEqual(['name', 'roles', 'username']);
  });

  it('authenticates the right password only', () => {
    expect(authenticateDevUser('alice', 'alice')?.username).toBe('alice');
    expect(authenticateDevUser('admin', 'admin')?.username).toBe('admin');
    expect(authenticateDevUser('alice', 'admin')).toBeUndefined();
    expect(authenticateDevUser('alice', 'alicex')).toBeUndefined();
    expect(authenticateDevUser('alice', '')).toBeUndefined();
    expect(authenticateDevUser('Alice', 'alice')).toBeUndefined();
    expect(authenticateDevUser('mallory', 'mallory')).toBeUndefined();
  });

  it('asserts the demo visas', () => {
    const sources = devVisaSources('http://127.0.0.1:8080/oidc/');
    expect(sources).toEqual({
      signingOfficial: 'http://127.0.0.1:8080/oidc/sources/demo-so',
      dac: 'http://127.0.0.1:8080/oidc/sources/demo-dac',
      broker: 'http://127.0.0.1:8080/oidc/sources/demo-broker',
    });
    const ctx = { sources, termsUrl: demoTermsUrl('http://127.0.0.1:8080/'), asserted: 1_700_000_000, opIssuer: 'http://127.0.0.1:8080/oidc' };
    const link = (u: string) => ({ type: 'LinkedIdentities', asserted: 1_700_000_000, value: `${u},${encodeURIComponent(ctx.opIssuer)}`, source: sources.broker, by: 'system' });
    expect(visaAssertionsFor(findDevUser('alice')!, ctx)).toEqual([
      link('alice'),
      { type: 'ResearcherStatus', asserted: 1_700_000_000, value: REGISTERED_ACCESS_DOI, source: sources.signingOfficial, by: 'so' },
      { type: 'AcceptedTermsAndPolicies', asserted: 1_700_000_000, value: 'http://127.0.0.1:8080/terms/v1', source: sources.broker, by: 'self' },
      { type: 'ControlledAccessGrants', asserted: 1_700_000_000, value: DEMO_DATASET_URL, source: sources.dac, by: 'dac' },
    ]);
    expect(visaAssertionsFor(findDevUser('admin')!, ctx).map((a) => [a.type, a.value, a.by])).toEqual([
      ['LinkedIdentities', `admin,${encodeURIComponent(ctx.opIssuer)}`, 'system'],
      ['AffiliationAndRole', 'admin@imputation-broker.local', 'system'],
      ['ResearcherStatus', REGISTERED_ACCESS_DOI, 'so'],
    ]);
  });
});
