import { describe, expect, it } from 'vitest';
import { parsePolicy } from './load';
import { PolicyError, matchesPattern } from './schema';

const RA = 'https://doi.org/10.1038/s41431-018-0219-y';

/** The problems a policy text is refused with (fails the test if it is accepted). */
function problems(text: string): string[] {
  try {
    parsePolicy(text, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).message).toMatch(/^Invalid policy \(test\.yaml\):\n {2}- /);
    return (err as PolicyError).problems;
  }
  throw new Error('the policy was accepted');
}

const SUBMIT = `rules:\n  submit_runs:\n    any_of:\n      - local_role: submitter\n`;
/** A valid file with `extra` appended (indented YAML for top-level keys). */
const valid = (extra = '') => `version: 1\n${SUBMIT}${extra}`;
/** A file whose submit_runs rule has this one condition (YAML flow mapping). */
const withCondition = (condition: string, head = '') => `version: 1\n${head}rules:\n  submit_runs:\n    any_of:\n      - ${condition}\n`;

describe('the policy file: accepted shapes', () => {
  it('accepts a minimal policy', () => {
    const p = parsePolicy(withCondition(`visa: { type: ResearcherStatus, value: "${RA}" }`), 'min');
    expect(p.rules.submit_runs?.anyOf).toHaveLength(1);
    expect(p.rules.admin).toBeNull();
    expect(p.datasets.size).toBe(0);
    expect(p.origin).toBe('min');
  });

  it('accepts JSON, which is YAML', () => {
    const json = JSON.stringify({ version: 1, rules: { submit_runs: { any_of: [{ visa: { type: 'ResearcherStatus', value: RA } }] } } });
    expect(parsePolicy(json, 'json').version).toBe(1);
  });

  it('takes `by` as a single value or a list', () => {
    const one = parsePolicy(withCondition(`visa: { type: ResearcherStatus, value: "${RA}", by: so }`), 'one');
    const many = parsePolicy(withCondition(`visa: { type: ResearcherStatus, value: "${RA}", by: [so, system] }`), 'many');
    const by = (p: typeof one) => (p.rules.submit_runs?.anyOf[0]?.kind === 'visa' ? p.rules.submit_runs.anyOf[0].visa.by : undefined);
    expect(by(one)).toEqual(['so']);
    expect(by(many)).toEqual(['so', 'system']);
  });

  it('substitutes ${terms_url} in values, and treats it as literal text in patterns', () => {
    const p = parsePolicy(
      withCondition('visa: { type: AcceptedTermsAndPolicies, value_pattern: "${terms_url}*", by: self }', 'terms_url: https://b.test/terms?v=1\n'),
      'terms',
    );
    const c = p.rules.submit_runs?.anyOf[0];
    if (c?.kind !== 'visa') throw new Error('expected a visa condition');
    expect(c.visa.valuePattern).toBe('https://b.test/terms?v=1*');
    expect(c.visa.regex?.test('https://b.test/terms?v=1')).toBe(true);
    expect(c.visa.regex?.test('https://b.test/terms?v=12')).toBe(true);
    // The `?` of the URL is not a wildcard, nor is its `.`.
    expect(c.visa.regex?.test('https://b.test/termsXv=1')).toBe(false);
    expect(c.visa.regex?.test('https://bXtest/terms?v=1')).toBe(false);
  });

  it('matches patterns the way Passport `pattern:` does: ? one character, * any run, full string', () => {
    expect(matchesPattern('a?c', 'abc')).toBe(true);
    expect(matchesPattern('a?c', 'ac')).toBe(false);
    expect(matchesPattern('a*c', 'ac')).toBe(true);
    expect(matchesPattern('a*c', 'a\nc')).toBe(true);
    expect(matchesPattern('*.admin@x.org', 'ops.admin@x.org')).toBe(true);
    expect(matchesPattern('*.admin@x.org', 'ops.admin@x.org.evil')).toBe(false);
    expect(matchesPattern('a.c', 'abc')).toBe(false);
    expect(matchesPattern('(a)+[b]', '(a)+[b]')).toBe(true);
    expect(matchesPattern('a\\*', 'a\\anything')).toBe(true);
  });
});

describe('the policy file: every mistake refused with its place and what is valid', () => {
  it('text that is not YAML', () => {
    expect(problems('version: 1\nrules: [\n')[0]).toMatch(/^not valid YAML: /);
  });

  it('a key given twice (YAML would otherwise keep the last one silently)', () => {
    expect(problems(`version: 1\nversion: 1\n${SUBMIT}`)[0]).toMatch(/^not valid YAML: Map keys must be unique/);
  });

  it('an empty file', () => {
    expect(problems('')).toEqual([
      'version: version is required: write "version: 1" (the only policy format so far)',
      'rules: rules is required: a mapping with the settings submit_runs, manage_credentials, read_audit, admin',
    ]);
  });

  it('a file that is not a mapping', () => {
    expect(problems('- version: 1\n')).toEqual([
      '(top level): the policy file must be a mapping with the settings version, terms_url, rules, datasets, local_roles',
    ]);
  });

  it('another version', () => {
    expect(problems(`version: 2\n${SUBMIT}`)).toEqual(['version: version must be 1 (the only policy format so far), not 2']);
    expect(problems(`version: "1"\n${SUBMIT}`)).toEqual(['version: version must be 1 (the only policy format so far), not "1"']);
  });

  it('an unknown top-level key', () => {
    expect(problems(valid('local_role:\n  - admin\n'))).toEqual([
      '(top level): unknown setting "local_role" in the policy file (valid: version, terms_url, rules, datasets, local_roles)',
    ]);
  });

  it('terms_url that is not an http(s) URL', () => {
    expect(problems(valid('terms_url: ftp://b.test/terms\n'))).toEqual([
      'terms_url: terms_url must be an absolute http(s) URL such as https://imputation.example.org/terms/v1, not "ftp://b.test/terms"',
    ]);
    expect(problems(valid('terms_url: terms/v1\n'))[0]).toContain('terms_url must be an absolute http(s) URL');
  });

  it('no submit_runs rule', () => {
    expect(problems('version: 1\nrules:\n  admin: { any_of: [ { local_role: admin } ] }\n')).toEqual([
      'rules.submit_runs: the submit_runs rule is required: it says who may submit runs',
    ]);
  });

  it('an unknown rule name (and the missing submit_runs, at once)', () => {
    expect(problems('version: 1\nrules:\n  submit_run: { any_of: [ { local_role: a } ] }\n')).toEqual([
      'rules: unknown setting "submit_run" in rules (valid: submit_runs, manage_credentials, read_audit, admin)',
      'rules.submit_runs: the submit_runs rule is required: it says who may submit runs',
    ]);
  });

  it('a rule that is not { any_of }', () => {
    expect(problems('version: 1\nrules:\n  submit_runs:\n    - local_role: a\n')).toEqual([
      'rules.submit_runs: rule must be a mapping with the settings any_of',
    ]);
    expect(problems('version: 1\nrules:\n  submit_runs:\n    one_of: []\n')).toEqual([
      'rules.submit_runs.any_of: any_of is required: a list of conditions',
      'rules.submit_runs: unknown setting "one_of" in rule (valid: any_of)',
    ]);
  });

  it('an empty any_of', () => {
    expect(problems('version: 1\nrules:\n  submit_runs: { any_of: [] }\n')).toEqual([
      'rules.submit_runs.any_of: any_of needs at least one condition (to let nobody do this, leave the rule out)',
    ]);
  });

  it('a condition with no kind, or two', () => {
    expect(problems(withCondition('{}'))).toEqual(['rules.submit_runs.any_of[0]: a condition needs one of visa, local_role, all_of']);
    expect(problems(withCondition(`{ local_role: a, visa: { type: ResearcherStatus, value: "${RA}" } }`))).toEqual([
      'rules.submit_runs.any_of[0]: a condition has exactly one of visa, local_role, all_of, not visa and local_role',
    ]);
  });

  it('a misspelt condition kind', () => {
    expect(problems(withCondition('{ localrole: admin }'))).toEqual([
      'rules.submit_runs.any_of[0]: unknown setting "localrole" in condition (valid: visa, local_role, all_of)',
      'rules.submit_runs.any_of[0]: a condition needs one of visa, local_role, all_of',
    ]);
  });

  it('all_of with fewer than two conditions, or nested', () => {
    expect(problems(withCondition('{ all_of: [ { local_role: a } ] }'))).toEqual([
      'rules.submit_runs.any_of[0].all_of: all_of needs at least two conditions (for one, write the condition itself)',
    ]);
    expect(problems(withCondition('{ all_of: [ { local_role: a }, { all_of: [ { local_role: b }, { local_role: c } ] } ] }'))).toEqual([
      'rules.submit_runs.any_of[0].all_of[1]: unknown setting "all_of" in condition (valid: visa, local_role)',
      'rules.submit_runs.any_of[0].all_of[1]: a condition needs one of visa, local_role',
    ]);
  });

  it('an unknown visa type, a missing one, and LinkedIdentities', () => {
    expect(problems(withCondition(`visa: { type: ResearcherStatuss, value: "${RA}" }`))).toEqual([
      'rules.submit_runs.any_of[0].visa.type: "ResearcherStatuss" is not a visa type this policy can use (valid: AffiliationAndRole, AcceptedTermsAndPolicies, ResearcherStatus, ControlledAccessGrants, or a custom type URL such as https://ras.nih.gov/visas/v1.1)',
    ]);
    expect(problems(withCondition(`visa: { value: "${RA}" }`))).toEqual([
      'rules.submit_runs.any_of[0].visa.type: type is required (valid: AffiliationAndRole, AcceptedTermsAndPolicies, ResearcherStatus, ControlledAccessGrants, or a custom type URL)',
    ]);
    expect(problems(withCondition('visa: { type: LinkedIdentities, value_pattern: "*" }'))).toEqual([
      'rules.submit_runs.any_of[0].visa.type: type LinkedIdentities only links identities and grants nothing; the Passport clearinghouse uses it before the policy runs',
    ]);
  });

  it('both value and value_pattern, or neither', () => {
    expect(problems(withCondition(`visa: { type: ResearcherStatus, value: "${RA}", value_pattern: "*" }`))).toEqual([
      'rules.submit_runs.any_of[0].visa: give exactly one of value (exact match) or value_pattern (with * and ?)',
    ]);
    expect(problems(withCondition('visa: { type: ResearcherStatus }'))).toEqual([
      'rules.submit_runs.any_of[0].visa: give exactly one of value (exact match) or value_pattern (with * and ?)',
    ]);
    expect(problems(withCondition('visa: { type: ResearcherStatus, value: "" }'))).toEqual([
      'rules.submit_runs.any_of[0].visa.value: value must not be empty',
    ]);
  });

  it('a misspelt visa setting (source for sources)', () => {
    expect(problems(withCondition(`visa: { type: ResearcherStatus, value: "${RA}", source: https://a.test }`))).toEqual([
      'rules.submit_runs.any_of[0].visa: unknown setting "source" in visa (valid: type, value, value_pattern, by, sources, issuers)',
    ]);
  });

  it('a `by` that Passport does not know, and an empty by list', () => {
    expect(problems(withCondition(`visa: { type: ResearcherStatus, value: "${RA}", by: [so, sso, DAC] }`))).toEqual([
      'rules.submit_runs.any_of[0].visa.by[1]: "sso" is not a Passport "by" value (valid: self, peer, system, so, dac)',
      'rules.submit_runs.any_of[0].visa.by[2]: "DAC" is not a Passport "by" value (valid: self, peer, system, so, dac)',
    ]);
    expect(problems(withCondition(`visa: { type: ResearcherStatus, value: "${RA}", by: [] }`))).toEqual([
      'rules.submit_runs.any_of[0].visa.by: by must not be empty (leave it out to accept any)',
    ]);
    expect(problems(withCondition(`visa: { type: ResearcherStatus, value: "${RA}", by: { so: true } }`))).toEqual([
      'rules.submit_runs.any_of[0].visa.by: by must be a list of self, peer, system, so, dac',
    ]);
  });

  it('a source or issuer that is not an http(s) URL, and a sources that is not a list', () => {
    expect(problems(withCondition(`visa: { type: ResearcherStatus, value: "${RA}", sources: [dac.example.org] }`))).toEqual([
      'rules.submit_runs.any_of[0].visa.sources[0]: a source must be an absolute http(s) URL such as https://dac.example.org, not "dac.example.org"',
    ]);
    expect(problems(withCondition(`visa: { type: ResearcherStatus, value: "${RA}", sources: https://dac.example.org }`))).toEqual([
      'rules.submit_runs.any_of[0].visa.sources: sources must be a list, e.g. [a, b]',
    ]);
    expect(problems(withCondition(`visa: { type: ResearcherStatus, value: "${RA}", issuers: [mailto:x@y.z] }`))).toEqual([
      'rules.submit_runs.any_of[0].visa.issuers[0]: an issuer must be an absolute http(s) URL such as https://login.elixir-czech.org/oidc/, not "mailto:x@y.z"',
    ]);
  });

  it('${terms_url} without a terms_url, and an unknown placeholder', () => {
    expect(problems(withCondition('visa: { type: AcceptedTermsAndPolicies, value: "${terms_url}", by: self }'))).toEqual([
      'rules.submit_runs.any_of[0].visa.value: uses ${terms_url} but the policy has no terms_url',
    ]);
    expect(problems(withCondition('visa: { type: AcceptedTermsAndPolicies, value_pattern: "${terms}*", by: self }', 'terms_url: https://b.test/t\n'))).toEqual([
      'rules.submit_runs.any_of[0].visa.value_pattern: "${terms}" is not a known placeholder (valid: ${terms_url})',
    ]);
  });

  it('a badly named local role, in a rule or an assignment', () => {
    expect(problems(withCondition('local_role: Admin'))).toEqual([
      'rules.submit_runs.any_of[0].local_role: a local role is lower-case letters, digits, "_" and "-", starting with a letter (e.g. admin)',
    ]);
  });

  it('a role assigned that no rule uses (a typo would otherwise grant nothing, silently)', () => {
    expect(problems(valid('local_roles:\n  - { issuer: https://idp.test, subject: root, roles: [submiter] }\n'))).toEqual([
      'local_roles[0].roles: the role "submiter" is not used by any rule, so it would grant nothing (roles the rules use: submitter)',
    ]);
  });

  it('the same account listed twice', () => {
    const entry = '  - { issuer: https://idp.test, subject: root, roles: [submitter] }\n';
    expect(problems(valid(`local_roles:\n${entry}${entry}`))).toEqual([
      'local_roles[1]: subject "root" of https://idp.test is listed twice; give all its roles in one entry',
    ]);
  });

  it('an assignment with a missing or bad issuer, subject or roles', () => {
    expect(problems(valid('local_roles:\n  - { subject: "", roles: [] }\n  - { issuer: idp.test, subject: x, roles: submitter, role: [a] }\n'))).toEqual([
      'local_roles[0].issuer: issuer is required: an absolute http(s) URL such as https://login.elixir-czech.org/oidc/',
      'local_roles[0].subject: subject must not be empty',
      'local_roles[0].roles: roles must not be empty',
      'local_roles[1].issuer: issuer must be an absolute http(s) URL such as https://login.elixir-czech.org/oidc/, not "idp.test"',
      'local_roles[1].roles: roles must be a list, e.g. [admin]',
      'local_roles[1]: unknown setting "role" in local role assignment (valid: issuer, subject, roles)',
    ]);
    expect(problems(valid('local_roles:\n  issuer: https://idp.test\n'))).toEqual(['local_roles: local_roles must be a list of { issuer, subject, roles }']);
  });

  it('a bad dataset id, grant, or a misspelt dataset setting', () => {
    expect(problems(valid('datasets:\n  "my dataset": { grant: https://d.test/1 }\n'))).toEqual([
      'datasets["my dataset"]: a dataset id is letters, digits, ".", "_" and "-" (at most 128), as runs and objects are tagged with it',
    ]);
    expect(problems(valid('datasets:\n  demo: { grant: EGAD00001000001, source: [https://dac.test], by: dac }\n'))).toEqual([
      'datasets.demo.grant: grant must be an absolute http(s) URL such as https://ega-archive.org/datasets/EGAD00000000001, not "EGAD00001000001"',
      'datasets.demo: unknown setting "source" in dataset (valid: grant, sources, by, issuers)',
    ]);
    expect(problems(valid('datasets:\n  demo: { by: [dac] }\n'))).toEqual([
      'datasets.demo.grant: grant is required: an absolute http(s) URL such as https://ega-archive.org/datasets/EGAD00000000001',
    ]);
    expect(problems(valid('datasets:\n  - demo\n'))).toEqual(['datasets: datasets must be a mapping from dataset id to { grant, sources, by }']);
  });

  it('reports every mistake of a file at once', () => {
    const text = `version: 1
terms_url: https://b.test/terms
rules:
  submit_runs:
    any_of:
      - visa: { type: ResearcherStatus, value: "${RA}", by: [sso] }
      - visa: { type: AcceptedTermsAndPolicies, value: "\${terms_url}", value_pattern: "x", by: self }
  admin:
    any_of:
      - visa: { type: AffiliationAndRole, value_pattern: "*.admin@b.test", sources: [b.test] }
datasets:
  demo: { grant: nope }
`;
    expect(problems(text)).toEqual([
      'rules.submit_runs.any_of[0].visa.by[0]: "sso" is not a Passport "by" value (valid: self, peer, system, so, dac)',
      'rules.submit_runs.any_of[1].visa: give exactly one of value (exact match) or value_pattern (with * and ?)',
      'rules.admin.any_of[0].visa.sources[0]: a source must be an absolute http(s) URL such as https://dac.example.org, not "b.test"',
      'datasets.demo.grant: grant must be an absolute http(s) URL such as https://ega-archive.org/datasets/EGAD00000000001, not "nope"',
    ]);
  });
});
