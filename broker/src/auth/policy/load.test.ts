import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { decide, type PolicyResource, type PolicySubject } from './decide';
import { REGISTERED_ACCESS_DOI, demoIdentities, demoPolicy, demoPolicyDocument, loadPolicy } from './load';
import { PolicyError } from './schema';
import { visa } from './test-support';

const dir = mkdtempSync(join(tmpdir(), 'policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EXAMPLE = new URL('../../../../config/policy.example.yaml', import.meta.url).pathname;

describe('loadPolicy', () => {
  it('loads config/policy.example.yaml', () => {
    const p = loadPolicy(EXAMPLE, { publicUrl: 'https://imputation.example.org' });
    expect(p.origin).toBe(EXAMPLE);
    expect(p.termsUrl).toBe('https://imputation.example.org/terms/v1');
    expect([...p.datasets.keys()]).toEqual(['h3a-reference', 'cohort-2024']);
    expect(p.rules.admin?.anyOf).toHaveLength(2);
  });

  it('decides with the example as its comments say', () => {
    const p = loadPolicy(EXAMPLE, { publicUrl: 'https://imputation.example.org' });
    const elixir = 'https://login.elixir-czech.org/oidc/';
    const researcher: PolicySubject = {
      principal: { issuer: elixir, subject: 'r1' },
      visas: [
        visa({ type: 'ResearcherStatus', value: REGISTERED_ACCESS_DOI, by: 'so', source: 'https://ega-archive.org/' }),
        visa({ type: 'AcceptedTermsAndPolicies', value: 'https://imputation.example.org/terms/v1', by: 'self' }),
      ],
    };
    expect(decide(p, researcher, 'runs:submit')).toMatchObject({ allow: true, via: { rule: 'rules.submit_runs.any_of[0]' } });
    // Registered Access needs both visas.
    expect(decide(p, { ...researcher, visas: researcher.visas.slice(0, 1) }, 'runs:submit').allow).toBe(false);
    const keycloak = 'https://keycloak.imputation.example.org/realms/broker';
    expect(decide(p, { principal: { issuer: keycloak, subject: 'service-account-nightly-pipeline' }, visas: [] }, 'runs:submit').allow).toBe(true);
    expect(decide(p, { principal: { issuer: keycloak, subject: '7d5e9a42-0000-4000-8000-000000000002' }, visas: [] }, 'audit:read').allow).toBe(true);
    expect(decide(p, { principal: { issuer: elixir, subject: '3f1c1b0e-0000-4000-8000-000000000001@elixir-europe.org' }, visas: [] }, 'backends:admin').code).toBe('admin');
    const run: PolicyResource = { kind: 'run', ownerIssuer: elixir, ownerSubject: 'someone', datasets: ['h3a-reference'] };
    const grant = visa({ type: 'ControlledAccessGrants', value: 'https://ega-archive.org/datasets/EGAD00001000001', by: 'dac', source: 'https://ega-archive.org/dacs/EGAC00001000001' });
    expect(decide(p, { principal: { issuer: elixir, subject: 'r2' }, visas: [grant] }, 'runs:read', run).code).toBe('dataset_grant');
  });

  it('refuses a file that does not exist, naming it', () => {
    const missing = join(dir, 'nope.yaml');
    expect(() => loadPolicy(missing, { publicUrl: 'https://b.test' })).toThrow(PolicyError);
    try {
      loadPolicy(missing, { publicUrl: 'https://b.test' });
    } catch (err) {
      expect((err as PolicyError).origin).toBe(missing);
      expect((err as PolicyError).problems).toEqual(['the file does not exist; give the path of a readable YAML policy file (see config/policy.example.yaml)']);
      expect((err as PolicyError).message).toBe(
        `Invalid policy (${missing}):\n  - the file does not exist; give the path of a readable YAML policy file (see config/policy.example.yaml)`,
      );
    }
  });

  it('refuses a directory and a broken file, naming the file', () => {
    expect(() => loadPolicy(dir, { publicUrl: 'https://b.test' })).toThrow(/the file cannot be read \(EISDIR\)/);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'version: 1\nrules:\n  submit_runs: { any_of: [ { local_role: x } ] }\n  admin: {}\n');
    expect(() => loadPolicy(broken, { publicUrl: 'https://b.test' })).toThrow(`Invalid policy (${broken}):\n  - rules.admin.any_of: any_of is required: a list of conditions`);
  });

  it('uses the built-in demo policy when no file is configured', () => {
    const p = loadPolicy(undefined, { publicUrl: 'http://127.0.0.1:8080' });
    expect(p.origin).toBe('built-in demo policy');
    expect(p).toEqual(demoPolicy('http://127.0.0.1:8080'));
  });
});

describe('the built-in demo policy', () => {
  const publicUrl = 'http://127.0.0.1:8080/';
  const demo = demoIdentities(publicUrl);
  const p = demoPolicy(publicUrl);
  const as = (subject: string, visas: PolicySubject['visas'] = [], issuer = demo.issuer): PolicySubject => ({ principal: { issuer, subject }, visas });
  const aliceVisas = demo.alice.visas.map((v) => visa({ ...v, issuer: `${demo.issuer}/visas` }));
  const demoRun: PolicyResource = { kind: 'run', ownerIssuer: demo.issuer, ownerSubject: 'demo-cli', datasets: ['demo'] };

  it('is the one docs/policy.md shows', () => {
    const doc = readFileSync(new URL('../../../../docs/policy.md', import.meta.url), 'utf8');
    const block = /## The built-in demo policy[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(parseYaml(block ?? '')).toEqual(demoPolicyDocument('http://127.0.0.1:8080'));
  });

  it('is built around the dev provider at <publicUrl>/oidc', () => {
    expect(demo.issuer).toBe('http://127.0.0.1:8080/oidc');
    expect(demo.demoDatasetGrant).toBe('https://datasets.imputation-broker.local/demo');
    expect(demo.sources.dac).toBe('http://127.0.0.1:8080/oidc/sources/demo-dac');
    expect(p.termsUrl).toBe('http://127.0.0.1:8080/terms/v1');
  });

  it('lets demo-cli and demo-cli-2 submit, by local role, and keeps their runs apart', () => {
    for (const client of ['demo-cli', 'demo-cli-2']) {
      expect(decide(p, as(client), 'runs:submit')).toMatchObject({ allow: true, via: { rule: 'rules.submit_runs.any_of[2]' } });
      expect(decide(p, as(client), 'credentials:manage_own').allow).toBe(true);
      expect(decide(p, as(client), 'backends:admin').allow).toBe(false);
    }
    expect(decide(p, as('demo-cli'), 'runs:cancel', demoRun).code).toBe('owner');
    expect(decide(p, as('demo-cli-2'), 'runs:read', demoRun).code).toBe('not_owner');
    expect(decide(p, as('demo-cli-2'), 'runs:cancel', demoRun).code).toBe('not_owner');
  });

  it('lets alice submit with her ResearcherStatus visa and read runs of the dataset demo, not cancel them', () => {
    expect(decide(p, as('alice', aliceVisas), 'runs:submit')).toMatchObject({ allow: true, via: { rule: 'rules.submit_runs.any_of[0]', visaDigest: aliceVisas[0]!.digest } });
    expect(decide(p, as('alice', aliceVisas), 'runs:read', demoRun)).toMatchObject({ allow: true, code: 'dataset_grant', via: { rule: 'datasets.demo' } });
    expect(decide(p, as('alice', aliceVisas), 'objects:read', { ...demoRun, kind: 'object' }).code).toBe('dataset_grant');
    expect(decide(p, as('alice', aliceVisas), 'runs:cancel', demoRun).code).toBe('not_owner');
    expect(decide(p, as('alice', aliceVisas), 'runs:read', { ...demoRun, datasets: [] }).code).toBe('not_owner');
    expect(decide(p, as('alice', aliceVisas.slice(1, 2)), 'runs:submit').via?.rule).toBe('rules.submit_runs.any_of[1]');
    expect(decide(p, as('alice', aliceVisas), 'backends:admin').allow).toBe(false);
    expect(decide(p, as('alice'), 'runs:submit')).toMatchObject({
      allow: false,
      code: 'no_matching_visa',
      reason: expect.stringContaining('or to accept the terms at http://127.0.0.1:8080/terms/v1'),
    });
  });

  it('makes admin an administrator by local role or by its visa, and nobody else', () => {
    expect(decide(p, as('admin'), 'backends:admin')).toMatchObject({ allow: true, code: 'admin', via: { rule: 'rules.admin.any_of[1]' } });
    const affiliation = visa({ type: 'AffiliationAndRole', value: demo.adminAffiliation, by: 'system', source: demo.sources.broker });
    expect(decide(p, as('someone', [affiliation]), 'backends:admin')).toMatchObject({ allow: true, via: { rule: 'rules.admin.any_of[0]', visaDigest: affiliation.digest } });
    // The same affiliation asserted by the DAC's source is not an administrator.
    expect(decide(p, as('someone', [{ ...affiliation, source: demo.sources.dac }]), 'backends:admin').allow).toBe(false);
    expect(decide(p, as('admin'), 'audit:read').code).toBe('admin');
    expect(decide(p, as('admin'), 'runs:cancel', demoRun).code).toBe('admin');
    expect(decide(p, as('admin', [], 'https://elsewhere.test/oidc'), 'backends:admin').allow).toBe(false);
    expect(decide(p, as('mallory'), 'runs:submit').allow).toBe(false);
  });
});
