import { describe, expect, it } from 'vitest';
import type { ValidVisa } from '../passport/types';
import { ACTIONS, decide, type Action, type DecisionCode, type PolicyResource, type PolicySubject } from './decide';
import { parsePolicy } from './load';
import { visa } from './test-support';

const RA = 'https://doi.org/10.1038/s41431-018-0219-y';
const TERMS = 'https://broker.test/terms/v1';
const IDP = 'https://idp.test';

const policy = parsePolicy(
  `
version: 1
terms_url: ${TERMS}
rules:
  submit_runs:
    any_of:
      - visa: { type: ResearcherStatus, value: "${RA}", by: [so, system], sources: [https://trusted.test] }
      - visa: { type: AcceptedTermsAndPolicies, value: "\${terms_url}", by: [self] }
  admin:
    any_of:
      - visa: { type: AffiliationAndRole, value_pattern: "*.admin@broker.test", by: [so], sources: [https://broker.test] }
      - local_role: admin
datasets:
  demo: { grant: https://datasets.test/demo, sources: [https://dac.test], by: [dac] }
  other: { grant: https://datasets.test/other, by: [dac] }
local_roles:
  - { issuer: ${IDP}, subject: root, roles: [admin] }
`,
  'decide.test policy',
);

const as = (subject: string, visas: ValidVisa[] = []): PolicySubject => ({ principal: { issuer: IDP, subject }, visas });

/** Owned by alice, tagged with the dataset `demo`. */
const run: PolicyResource = { kind: 'run', ownerIssuer: IDP, ownerSubject: 'alice', datasets: ['demo'] };
const object: PolicyResource = { ...run, kind: 'object' };
const resourceFor = (action: Action): PolicyResource | undefined =>
  action.startsWith('runs:') && action !== 'runs:submit' ? run : action === 'objects:read' ? object : undefined;

const researcher = () => visa({ type: 'ResearcherStatus', value: RA, by: 'so', source: 'https://trusted.test' });

/** Each caller is bob (not the owner) unless the scenario is about ownership or local roles. */
const scenarios = {
  'no visas': as('bob'),
  'wrong visa type': as('bob', [visa({ type: 'AffiliationAndRole', value: RA, by: 'so' }), visa({ type: 'LinkedIdentities', value: 'x,https%3A%2F%2Fidp.test' })]),
  'right type, wrong value': as('bob', [
    visa({ type: 'ResearcherStatus', value: 'https://doi.org/10.0000/other', by: 'so' }),
    visa({ type: 'AcceptedTermsAndPolicies', value: 'https://broker.test/terms/v0', by: 'self' }),
    visa({ type: 'ControlledAccessGrants', value: 'https://datasets.test/demo2', by: 'dac', source: 'https://dac.test' }),
    visa({ type: 'AffiliationAndRole', value: 'member@broker.test', by: 'so', source: 'https://broker.test' }),
  ]),
  'right visa, by missing': as('bob', [
    visa({ type: 'ResearcherStatus', value: RA, by: null }),
    visa({ type: 'AcceptedTermsAndPolicies', value: TERMS, by: null }),
    visa({ type: 'ControlledAccessGrants', value: 'https://datasets.test/demo', by: null, source: 'https://dac.test' }),
    visa({ type: 'AffiliationAndRole', value: 'ops.admin@broker.test', by: null, source: 'https://broker.test' }),
  ]),
  'untrusted source': as('bob', [
    visa({ type: 'ResearcherStatus', value: RA, by: 'so', source: 'https://evil.test' }),
    visa({ type: 'ControlledAccessGrants', value: 'https://datasets.test/demo', by: 'dac', source: 'https://evil.test' }),
    visa({ type: 'AffiliationAndRole', value: 'ops.admin@broker.test', by: 'so', source: 'https://evil.test' }),
  ]),
  owner: as('alice'),
  'other user (may submit)': as('bob', [researcher()]),
  'dataset grant, right dataset': as('bob', [visa({ type: 'ControlledAccessGrants', value: 'https://datasets.test/demo', by: 'dac', source: 'https://dac.test' })]),
  'dataset grant, wrong dataset': as('bob', [visa({ type: 'ControlledAccessGrants', value: 'https://datasets.test/other', by: 'dac', source: 'https://dac.test' })]),
  'admin via visa': as('carol', [visa({ type: 'AffiliationAndRole', value: 'ops.admin@broker.test', by: 'so', source: 'https://broker.test' })]),
  'admin via local role': as('root'),
} satisfies Record<string, PolicySubject>;
type Scenario = keyof typeof scenarios;

const D = 'no_matching_visa';
const N = 'not_owner';
const A = 'not_admin';
/** Expected code per action, in the order of `scenarios`. */
const expected: Record<Action, Record<Scenario, DecisionCode>> = {
  'runs:submit': row(D, D, D, D, D, D, 'rule', D, D, 'admin', 'admin'),
  'credentials:manage_own': row(D, D, D, D, D, D, 'rule', D, D, 'admin', 'admin'),
  'notifications:manage_own': row(D, D, D, D, D, D, 'rule', D, D, 'admin', 'admin'),
  'runs:read': row(N, N, N, N, N, 'owner', N, 'dataset_grant', N, 'admin', 'admin'),
  'objects:read': row(N, N, N, N, N, 'owner', N, 'dataset_grant', N, 'admin', 'admin'),
  'runs:cancel': row(N, N, N, N, N, 'owner', N, N, N, 'admin', 'admin'),
  'backends:admin': row(A, A, A, A, A, A, A, A, A, 'admin', 'admin'),
  'results:delete': row(A, A, A, A, A, A, A, A, A, 'admin', 'admin'),
  'audit:read': row(A, A, A, A, A, A, A, A, A, 'admin', 'admin'),
};
function row(...codes: DecisionCode[]): Record<Scenario, DecisionCode> {
  const names = Object.keys(scenarios) as Scenario[];
  if (codes.length !== names.length) throw new Error('one code per scenario');
  return Object.fromEntries(names.map((n, i) => [n, codes[i]!])) as Record<Scenario, DecisionCode>;
}
const ALLOW: readonly DecisionCode[] = ['owner', 'dataset_grant', 'admin', 'rule'];

describe('decide: every action for every kind of caller', () => {
  const cases = ACTIONS.flatMap((action) => (Object.keys(scenarios) as Scenario[]).map((s) => [action, s, expected[action][s]] as const));
  it.each(cases)('%s, %s -> %s', (action, scenario, code) => {
    const d = decide(policy, scenarios[scenario], action, resourceFor(action));
    expect(d.code).toBe(code);
    expect(d.allow).toBe(ALLOW.includes(code));
    expect(d.reason.length).toBeGreaterThan(10);
    if (d.allow) expect(d.via?.rule).toBeTruthy();
    else expect(d.via).toBeUndefined();
  });
});

describe('decide: reasons a researcher can act on', () => {
  const reason = (s: Scenario, action: Action) => decide(policy, scenarios[s], action, resourceFor(action)).reason;

  it('says what would allow submitting, with the terms URL, and that no visas came', () => {
    const r = reason('no visas', 'runs:submit');
    expect(r).toContain('You may not submit runs.');
    expect(r).toContain(`a ResearcherStatus visa for Registered Access (${RA}), asserted by a signing official or a system of record (by: so, system), from https://trusted.test`);
    expect(r).toContain(`or to accept the terms at ${TERMS}`);
    expect(r).toContain('Your sign-in carried no GA4GH visas.');
  });

  it('names the wrong value', () => {
    expect(reason('right type, wrong value', 'runs:submit')).toContain(`Your ResearcherStatus visa is for "https://doi.org/10.0000/other", not "${RA}"`);
    expect(reason('right type, wrong value', 'runs:read')).toContain('Your ControlledAccessGrants visa is for "https://datasets.test/demo2", not "https://datasets.test/demo"');
    expect(reason('right type, wrong value', 'backends:admin')).toContain('Your AffiliationAndRole visa says "member@broker.test", which does not match "*.admin@broker.test"');
  });

  it('says a visa lacks "by", and that Passport requires it for terms and grants', () => {
    const r = reason('right visa, by missing', 'runs:submit');
    expect(r).toContain('Your ResearcherStatus visa for "' + RA + '" does not say who asserted it (it has no "by"), and this policy needs it asserted by a signing official or a system of record (by: so, system)');
    expect(r).toContain('your AcceptedTermsAndPolicies visa for "' + TERMS + '" does not say who asserted it');
    expect(reason('right visa, by missing', 'runs:read')).toContain('it has no "by"');
  });

  it('names the untrusted source and the trusted ones', () => {
    expect(reason('untrusted source', 'runs:submit')).toContain(
      `Your ResearcherStatus visa for "${RA}" comes from https://evil.test, which is not a source this policy trusts for it (trusted: https://trusted.test)`,
    );
    expect(reason('untrusted source', 'objects:read')).toContain('comes from https://evil.test');
  });

  it('on someone else\'s run, lists the datasets that would give access', () => {
    const r = reason('other user (may submit)', 'runs:read');
    expect(r).toContain('This run belongs to another user.');
    expect(r).toContain('"demo" (a ControlledAccessGrants visa for "https://datasets.test/demo", asserted by a data access committee (by: dac), from https://dac.test)');
  });

  it('a dataset grant reads but does not cancel, and says so', () => {
    expect(reason('dataset grant, right dataset', 'runs:cancel')).toBe(
      'Only the owner of this run or an administrator may cancel it; your access to the dataset "demo" lets you read it, not cancel it.',
    );
  });

  it('says only administrators may manage backends and how one becomes one', () => {
    const r = reason('other user (may submit)', 'backends:admin');
    expect(r).toContain('Only administrators may manage the backends.');
    expect(r).toContain('an AffiliationAndRole visa matching "*.admin@broker.test"');
    expect(r).toContain('the local role "admin"');
  });
});

describe('decide: how it allowed', () => {
  it('names the rule and the visa used', () => {
    const v = researcher();
    expect(decide(policy, as('bob', [v]), 'runs:submit')).toEqual({
      allow: true,
      code: 'rule',
      reason: `Allowed to submit runs: rules.submit_runs.any_of[0] asks for a ResearcherStatus visa for Registered Access (${RA}), asserted by a signing official or a system of record (by: so, system), from https://trusted.test.`,
      via: { rule: 'rules.submit_runs.any_of[0]', visaDigest: v.digest },
    });
  });

  it('names the dataset and its visa', () => {
    const v = visa({ type: 'ControlledAccessGrants', value: 'https://datasets.test/demo', by: 'dac', source: 'https://dac.test' });
    expect(decide(policy, as('bob', [v]), 'objects:read', object).via).toEqual({ rule: 'datasets.demo', visaDigest: v.digest });
  });

  it('names the local role rule, without a visa', () => {
    expect(decide(policy, as('root'), 'backends:admin').via).toEqual({ rule: 'rules.admin.any_of[1]' });
  });

  it('prefers ownership over a dataset grant or admin', () => {
    const d = decide(policy, as('alice', [visa({ type: 'ControlledAccessGrants', value: 'https://datasets.test/demo', by: 'dac', source: 'https://dac.test' })]), 'runs:read', run);
    expect(d.code).toBe('owner');
  });

  it('accepts the terms visa alone when the rule says so, only with by: self', () => {
    expect(decide(policy, as('bob', [visa({ type: 'AcceptedTermsAndPolicies', value: TERMS, by: 'self' })]), 'runs:submit').allow).toBe(true);
    expect(decide(policy, as('bob', [visa({ type: 'AcceptedTermsAndPolicies', value: TERMS, by: 'so' })]), 'runs:submit').reason).toContain(
      'was asserted by a signing official (by: so), but this policy needs yourself (by: self)',
    );
  });
});

describe('decide: deny by default', () => {
  it('refuses an unknown action, even for an administrator', () => {
    for (const action of ['runs:delete', 'RUNS:SUBMIT', '', 'backends:*']) {
      const d = decide(policy, as('root'), action as Action, run);
      expect(d).toEqual({ allow: false, code: 'unknown_action', reason: `The broker does not know the action ${JSON.stringify(action)}, so it is refused.` });
    }
  });

  it('refuses a per-run action without a run, except for administrators (every run)', () => {
    expect(decide(policy, as('alice'), 'runs:read').code).toBe('resource_required');
    expect(decide(policy, as('bob', [researcher()]), 'runs:cancel').code).toBe('resource_required');
    expect(decide(policy, as('bob'), 'objects:read').reason).toBe('Who may read an object is decided object by object; only administrators may read every object.');
    expect(decide(policy, as('root'), 'runs:read').code).toBe('admin');
  });

  it('refuses a run action on an object and the other way round, even for the owner', () => {
    expect(decide(policy, as('alice'), 'runs:cancel', object).code).toBe('wrong_resource');
    expect(decide(policy, as('alice'), 'objects:read', run)).toEqual({
      allow: false,
      code: 'wrong_resource',
      reason: '"read" on an object was asked about a run; the broker refuses rather than guess.',
    });
  });

  it('ownership needs the same issuer, not only the same subject', () => {
    const elsewhere: PolicySubject = { principal: { issuer: 'https://other-idp.test', subject: 'alice' }, visas: [] };
    expect(decide(policy, elsewhere, 'runs:read', run).code).toBe('not_owner');
  });

  it('local roles are per (issuer, subject)', () => {
    const elsewhere: PolicySubject = { principal: { issuer: 'https://other-idp.test', subject: 'root' }, visas: [] };
    expect(decide(policy, elsewhere, 'backends:admin').code).toBe('not_admin');
  });

  it('a resource with datasets the policy does not know is readable by its owner and admins only', () => {
    const d = decide(policy, as('bob', [researcher()]), 'runs:read', { ...run, datasets: ['unlisted'] });
    expect(d.code).toBe('not_owner');
    expect(d.reason).toContain('it is not part of any dataset this broker grants access to');
  });

  it('grants one dataset of several', () => {
    const v = visa({ type: 'ControlledAccessGrants', value: 'https://datasets.test/other', by: 'dac', source: 'https://elsewhere.test' });
    const d = decide(policy, as('bob', [v]), 'runs:read', { ...run, datasets: ['demo', 'other'] });
    expect(d).toMatchObject({ allow: true, code: 'dataset_grant', via: { rule: 'datasets.other' } });
  });

  it('values and patterns are case-sensitive full-string matches', () => {
    const admin = (value: string) => decide(policy, as('x', [visa({ type: 'AffiliationAndRole', value, by: 'so', source: 'https://broker.test' })]), 'backends:admin').allow;
    expect(admin('ops.admin@broker.test')).toBe(true);
    expect(admin('.admin@broker.test')).toBe(true);
    expect(admin('ops.admin@broker.test.evil')).toBe(false);
    expect(admin('ops.ADMIN@broker.test')).toBe(false);
    expect(admin('ops.admin@brokerXtest')).toBe(false);
    const researcherWith = (value: string) => decide(policy, as('x', [visa({ type: 'ResearcherStatus', value, by: 'so' })]), 'runs:submit').allow;
    expect(researcherWith(`${RA}/`)).toBe(false);
    expect(researcherWith(RA.toUpperCase())).toBe(false);
  });
});

describe('decide: optional rules', () => {
  const withRules = (extra: string) =>
    parsePolicy(
      `version: 1
rules:
  submit_runs: { any_of: [ { local_role: submitter } ] }
${extra}
  admin: { any_of: [ { local_role: admin } ] }
local_roles:
  - { issuer: ${IDP}, subject: sam, roles: [submitter] }
  - { issuer: ${IDP}, subject: ada, roles: [auditor, pipeline] }
`,
      'optional rules',
    );

  it('manage_credentials defaults to submit_runs, and can be set apart', () => {
    const base = withRules('  read_audit: { any_of: [ { local_role: auditor } ] }\n  manage_credentials: { any_of: [ { local_role: pipeline } ] }');
    expect(decide(base, as('sam'), 'credentials:manage_own').allow).toBe(false);
    expect(decide(base, as('ada'), 'credentials:manage_own').allow).toBe(true);
    const fallback = withRules('  read_audit: { any_of: [ { local_role: auditor }, { local_role: pipeline } ] }');
    expect(decide(fallback, as('sam'), 'credentials:manage_own')).toMatchObject({ allow: true, via: { rule: 'rules.submit_runs.any_of[0]' } });
  });

  it('read_audit lets auditors read the audit log and nothing else', () => {
    const p = withRules('  read_audit: { any_of: [ { local_role: auditor } ] }\n  manage_credentials: { any_of: [ { local_role: pipeline } ] }');
    expect(decide(p, as('ada'), 'audit:read')).toMatchObject({ allow: true, code: 'rule' });
    expect(decide(p, as('ada'), 'backends:admin').allow).toBe(false);
    expect(decide(p, as('sam'), 'audit:read')).toMatchObject({ allow: false, code: 'no_matching_visa' });
  });

  it('all_of needs every condition (Registered Access: status and terms)', () => {
    const p = parsePolicy(
      `version: 1
terms_url: ${TERMS}
rules:
  submit_runs:
    any_of:
      - all_of:
          - visa: { type: ResearcherStatus, value: "${RA}", by: so }
          - visa: { type: AcceptedTermsAndPolicies, value: "\${terms_url}", by: self }
`,
      'registered access',
    );
    const status = researcher();
    const terms = visa({ type: 'AcceptedTermsAndPolicies', value: TERMS, by: 'self' });
    expect(decide(p, as('bob', [status]), 'runs:submit').allow).toBe(false);
    expect(decide(p, as('bob', [terms]), 'runs:submit').allow).toBe(false);
    expect(decide(p, as('bob', [status, terms]), 'runs:submit')).toMatchObject({
      allow: true,
      via: { rule: 'rules.submit_runs.any_of[0]', visaDigest: status.digest, visaDigests: [status.digest, terms.digest] },
    });
    expect(decide(p, as('bob', [status]), 'runs:submit').reason).toContain('You need all of: a ResearcherStatus visa for Registered Access');
  });

  it('never accepts terms or grants without "by", even when the rule names no "by"', () => {
    const p = parsePolicy(
      `version: 1
terms_url: ${TERMS}
rules:
  submit_runs: { any_of: [ { visa: { type: AcceptedTermsAndPolicies, value: "\${terms_url}" } } ] }
datasets:
  demo: { grant: https://datasets.test/demo }
`,
      'no by',
    );
    expect(decide(p, as('bob', [visa({ type: 'AcceptedTermsAndPolicies', value: TERMS, by: null })]), 'runs:submit').reason).toContain(
      'GA4GH Passport requires "by" on AcceptedTermsAndPolicies visas',
    );
    expect(decide(p, as('bob', [visa({ type: 'AcceptedTermsAndPolicies', value: TERMS, by: 'peer' })]), 'runs:submit').allow).toBe(true);
    expect(decide(p, as('bob', [visa({ type: 'ControlledAccessGrants', value: 'https://datasets.test/demo', by: null })]), 'runs:read', run).allow).toBe(false);
    expect(decide(p, as('bob', [visa({ type: 'ControlledAccessGrants', value: 'https://datasets.test/demo', by: 'system' })]), 'runs:read', run).allow).toBe(true);
  });

  it('without an admin rule nobody is an administrator', () => {
    const p = parsePolicy(`version: 1\nrules:\n  submit_runs: { any_of: [ { visa: { type: ResearcherStatus, value: "${RA}" } } ] }\n`, 'no admin');
    expect(decide(p, as('root'), 'backends:admin')).toMatchObject({ allow: false, code: 'not_admin', reason: expect.stringContaining('This broker names no administrators.') });
    expect(decide(p, as('bob', [visa({ type: 'ResearcherStatus', value: RA, by: null })]), 'runs:submit').allow).toBe(true);
  });

  it('issuers restrict which visa issuer may sign', () => {
    const p = parsePolicy(
      `version: 1\nrules:\n  submit_runs: { any_of: [ { visa: { type: ResearcherStatus, value: "${RA}", issuers: [https://visas.test] } } ] }\n`,
      'issuers',
    );
    expect(decide(p, as('bob', [visa({ type: 'ResearcherStatus', value: RA })]), 'runs:submit').allow).toBe(true);
    const d = decide(p, as('bob', [visa({ type: 'ResearcherStatus', value: RA, issuer: 'https://rogue.test' })]), 'runs:submit');
    expect(d.reason).toContain('was signed by https://rogue.test, which this policy does not accept for it (accepted: https://visas.test)');
  });

  it('custom visa types (URLs) match like standard ones', () => {
    const p = parsePolicy(
      `version: 1\nrules:\n  submit_runs: { any_of: [ { visa: { type: "https://ras.nih.gov/visas/v1.1", value_pattern: "phs000???.v*" } } ] }\n`,
      'custom',
    );
    expect(decide(p, as('bob', [visa({ type: 'https://ras.nih.gov/visas/v1.1', value: 'phs000710.v1' })]), 'runs:submit').allow).toBe(true);
    expect(decide(p, as('bob', [visa({ type: 'https://ras.nih.gov/visas/v1.1', value: 'phs0007100.v1' })]), 'runs:submit').allow).toBe(false);
  });
});
