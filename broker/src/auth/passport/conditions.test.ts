/** Passport 1.2 condition clauses and pattern matching, as pure functions. */
import { describe, expect, it } from 'vitest';
import { clauseMatches, conditionsMet, matchesPattern, parseConditions, type VisaConditions } from './conditions';
import type { ValidVisa } from './types';

const visa = (over: Partial<ValidVisa>): ValidVisa => ({
  type: 'AffiliationAndRole',
  value: 'faculty@uni-heidelberg.de',
  source: 'https://visas.elixir.org',
  by: 'so',
  asserted: 1,
  issuer: 'https://issuer.example',
  subject: 'alice',
  expiresAt: 2,
  digest: '0'.repeat(64),
  ...over,
});

const parse = (raw: unknown): VisaConditions => {
  const parsed = parseConditions(raw);
  if (!parsed.ok || parsed.conditions === null) throw new Error(`unexpected: ${JSON.stringify(parsed)}`);
  return parsed.conditions;
};

describe('matchesPattern', () => {
  it.each([
    ['faculty@*', 'faculty@uni-heidelberg.de', true],
    ['faculty@*', 'student@uni-heidelberg.de', false],
    ['*', '', true],
    ['', '', true],
    ['?', '', false],
    ['?', 'a', true],
    ['?', 'ab', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbYcZ', false],
    ['*@uni-*.de', 'faculty@uni-heidelberg.de', true],
    ['https://example?.org', 'https://example1.org', true],
    ['https://example?.org', 'https://example.org', false],
    // Case-sensitive, full string, no escapes: `\*` is a backslash followed by a wildcard.
    ['Faculty@*', 'faculty@x', false],
    ['faculty', 'faculty@x', false],
    ['a\\*', 'a\\anything', true],
    ['a\\*', 'a*', false],
    ['**?**', 'x', true],
    ['ü?', 'üß', true],
  ])('%s ~ %s is %s', (pattern, input, expected) => {
    expect(matchesPattern(pattern, input)).toBe(expected);
  });

  it('stays fast on adversarial patterns', () => {
    const started = performance.now();
    expect(matchesPattern(`${'*a'.repeat(200)}b`, 'a'.repeat(16_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('conditions', () => {
  const heidelberg = visa({});
  const researcher = visa({ type: 'ResearcherStatus', value: 'https://doi.org/10.1038/s41431-018-0219-y', by: 'system', source: 'https://elixir-europe.org' });
  const linked = visa({ type: 'LinkedIdentities', value: '001,https:%2F%2Fexample1.org;123,https:%2F%2Fexample2.org;456,https:%2F%2Fexample3.org', by: null });

  it('const: matches exactly, case-sensitively', () => {
    expect(conditionsMet(parse([[{ type: 'AffiliationAndRole', value: 'const:faculty@uni-heidelberg.de' }]]), [heidelberg])).toBe(true);
    expect(conditionsMet(parse([[{ type: 'AffiliationAndRole', value: 'const:Faculty@uni-heidelberg.de' }]]), [heidelberg])).toBe(false);
    expect(conditionsMet(parse([[{ type: 'AffiliationAndRole', value: 'const:faculty@uni-heidelberg' }]]), [heidelberg])).toBe(false);
  });

  it('type is compared as a constant and must match too', () => {
    expect(conditionsMet(parse([[{ type: 'ResearcherStatus', value: 'const:faculty@uni-heidelberg.de' }]]), [heidelberg])).toBe(false);
  });

  it('pattern: matches and mismatches', () => {
    expect(conditionsMet(parse([[{ type: 'AffiliationAndRole', value: 'pattern:faculty@*' }]]), [heidelberg])).toBe(true);
    expect(conditionsMet(parse([[{ type: 'AffiliationAndRole', value: 'pattern:student@*' }]]), [heidelberg])).toBe(false);
  });

  it('split_pattern: any ";"-separated part matches (the spec\'s own example)', () => {
    expect(conditionsMet(parse([[{ type: 'LinkedIdentities', value: 'split_pattern:123,https:%2F%2Fexample?.org' }]]), [linked])).toBe(true);
    expect(conditionsMet(parse([[{ type: 'LinkedIdentities', value: 'split_pattern:789,https:%2F%2Fexample?.org' }]]), [linked])).toBe(false);
    // Without splitting, the whole value does not match.
    expect(conditionsMet(parse([[{ type: 'LinkedIdentities', value: 'pattern:123,https:%2F%2Fexample?.org' }]]), [linked])).toBe(false);
  });

  it('an unknown match type makes the clause fail (but is not a shape error)', () => {
    const conditions = parse([[{ type: 'AffiliationAndRole', value: 'regex:faculty@.*' }]]);
    expect(conditionsMet(conditions, [heidelberg])).toBe(false);
  });

  it('an absent "by" is "unknown" and matches no policy, not even pattern:*', () => {
    const noBy = visa({ by: null });
    expect(conditionsMet(parse([[{ type: 'AffiliationAndRole', by: 'pattern:*' }]]), [noBy])).toBe(false);
    expect(conditionsMet(parse([[{ type: 'AffiliationAndRole', by: 'const:so' }]]), [heidelberg])).toBe(true);
  });

  it('all claims of one clause must match the same visa', () => {
    const a = visa({ value: 'faculty@uni-heidelberg.de', by: 'peer' });
    const b = visa({ value: 'student@uni-heidelberg.de', by: 'so' });
    const clause = parse([[{ type: 'AffiliationAndRole', value: 'const:faculty@uni-heidelberg.de', by: 'const:so' }]]);
    expect(conditionsMet(clause, [a, b])).toBe(false);
    expect(conditionsMet(clause, [a, b, heidelberg])).toBe(true);
  });

  it('inner lists are AND, the outer list is OR (the spec\'s example)', () => {
    const conditions = parse([
      [
        { type: 'AffiliationAndRole', value: 'const:faculty@uni-heidelberg.de', by: 'const:so' },
        { type: 'ResearcherStatus', value: 'const:https://doi.org/10.1038/s41431-018-0219-y' },
      ],
      [{ type: 'AffiliationAndRole', value: 'pattern:faculty@*', source: 'const:https://visas.elixir.org', by: 'const:system' }],
    ]);
    expect(conditionsMet(conditions, [heidelberg])).toBe(false);
    expect(conditionsMet(conditions, [heidelberg, researcher])).toBe(true);
    expect(conditionsMet(conditions, [visa({ value: 'faculty@cam.ac.uk', by: 'system' })])).toBe(true);
    expect(conditionsMet(conditions, [visa({ value: 'faculty@cam.ac.uk', by: 'so' })])).toBe(false);
  });

  it('clauseMatches checks one clause against one visa', () => {
    const [[clause]] = parse([[{ type: 'AffiliationAndRole', source: 'const:https://visas.elixir.org' }]]) as [[Parameters<typeof clauseMatches>[0]]];
    expect(clauseMatches(clause, heidelberg)).toBe(true);
    expect(clauseMatches(clause, visa({ source: 'https://visas.elixir.org/' }))).toBe(false);
  });

  it('parses absent, null and [] as no conditions', () => {
    for (const raw of [undefined, null, []]) expect(parseConditions(raw)).toEqual({ ok: true, conditions: null });
  });

  it('refuses shapes it does not understand, and oversized ones', () => {
    for (const raw of ['x', {}, [{}], [[]], [['x']], [[{ type: 'A' }]], [[{ type: 'A', value: 'nocolon' }]], [[{ type: 'A', value: ':empty-prefix' }]], [[{ type: 'A', by: null }]]]) {
      expect(parseConditions(raw).ok).toBe(false);
    }
    expect(parseConditions([[{ type: 'A', value: `pattern:${'x'.repeat(600)}` }]]).ok).toBe(false);
    expect(parseConditions(Array.from({ length: 17 }, () => [{ type: 'A', value: 'const:x' }])).ok).toBe(false);
    expect(parseConditions([Array.from({ length: 33 }, () => ({ type: 'A', value: 'const:x' }))]).ok).toBe(false);
  });
});
