/**
 * Visa `conditions` (Passport 1.2): disjunctive normal form. The outer list is OR, each inner list
 * is AND of condition clauses; a clause names a visa `type` and matches claims of ONE other visa of
 * the same passport, which must be valid, accepted and itself unconditional (no condition chains,
 * no loops). Clause values are `const:`, `pattern:` or `split_pattern:`; an unknown prefix makes
 * that clause fail. A shape this code does not understand makes the whole visa unusable instead
 * (`conditions_unsupported`): guessing what a condition meant could grant access it did not.
 */
import type { ValidVisa } from './types';

/** The visa object claims a clause may test besides `type` (string claims only; no timestamps). */
export const CLAUSE_CLAIMS = ['value', 'source', 'by'] as const;
export type ClauseClaim = (typeof CLAUSE_CLAIMS)[number];

export type ClaimMatcher =
  | { kind: 'const' | 'pattern' | 'split_pattern'; operand: string }
  /** A prefix this code does not implement: the clause can never match. */
  | { kind: 'unknown'; prefix: string };

export interface ConditionClause {
  type: string;
  claims: ReadonlyArray<{ claim: ClauseClaim; matcher: ClaimMatcher }>;
}

/** Outer array: alternatives (OR); inner array: clauses that must all hold (AND). */
export type VisaConditions = ReadonlyArray<ReadonlyArray<ConditionClause>>;

/** Bounds that keep evaluation cheap whatever a visa says. */
const MAX_ALTERNATIVES = 16;
const MAX_CLAUSES = 32;
const MAX_OPERAND = 512;

export type ParsedConditions = { ok: true; conditions: VisaConditions | null } | { ok: false; problem: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks the shape of a `conditions` claim. Absent, null and `[]` mean "no conditions" (only a
 * non-empty claim restricts a visa). Problems are described without quoting the values.
 */
export function parseConditions(raw: unknown): ParsedConditions {
  if (raw === undefined || raw === null) return { ok: true, conditions: null };
  if (!Array.isArray(raw)) return { ok: false, problem: '"conditions" is not a list of lists' };
  if (raw.length === 0) return { ok: true, conditions: null };
  if (raw.length > MAX_ALTERNATIVES) return { ok: false, problem: `"conditions" has more than ${MAX_ALTERNATIVES} alternatives` };
  let total = 0;
  const alternatives: ConditionClause[][] = [];
  for (const group of raw as unknown[]) {
    if (!Array.isArray(group) || group.length === 0) return { ok: false, problem: 'each entry of "conditions" must be a non-empty list of clauses' };
    const clauses: ConditionClause[] = [];
    for (const clause of group as unknown[]) {
      if (++total > MAX_CLAUSES) return { ok: false, problem: `"conditions" has more than ${MAX_CLAUSES} clauses` };
      const parsed = parseClause(clause);
      if (typeof parsed === 'string') return { ok: false, problem: parsed };
      clauses.push(parsed);
    }
    alternatives.push(clauses);
  }
  return { ok: true, conditions: alternatives };
}

function parseClause(raw: unknown): ConditionClause | string {
  if (!isRecord(raw)) return 'a condition clause is not an object';
  const { type, ...rest } = raw;
  if (typeof type !== 'string' || type.length === 0) return 'a condition clause has no "type"';
  const claims: Array<{ claim: ClauseClaim; matcher: ClaimMatcher }> = [];
  for (const [name, value] of Object.entries(rest)) {
    if (!(CLAUSE_CLAIMS as readonly string[]).includes(name)) {
      return name === 'conditions' || name === 'asserted'
        ? `a condition clause may not test "${name}"`
        : 'a condition clause tests a claim other than "value", "source" or "by"';
    }
    if (typeof value !== 'string') return 'a condition clause value is not a string';
    const colon = value.indexOf(':');
    if (colon <= 0) return 'a condition clause value has no "<match-type>:" prefix';
    const prefix = value.slice(0, colon);
    const operand = value.slice(colon + 1);
    if (operand.length > MAX_OPERAND) return `a condition clause value is longer than ${MAX_OPERAND} characters`;
    const matcher: ClaimMatcher =
      prefix === 'const' || prefix === 'pattern' || prefix === 'split_pattern' ? { kind: prefix, operand } : { kind: 'unknown', prefix };
    claims.push({ claim: name as ClauseClaim, matcher });
  }
  if (claims.length === 0) return 'a condition clause tests nothing besides "type"';
  return { type, claims };
}

/**
 * Full-string, case-sensitive wildcard match: `?` is one character, `*` any run (possibly empty);
 * there is no escape. Linear in practice, O(pattern x input) at worst (inputs are bounded).
 */
export function matchesPattern(pattern: string, input: string): boolean {
  const p = Array.from(pattern);
  const s = Array.from(input);
  let pi = 0;
  let si = 0;
  let star = -1;
  let resume = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === s[si]))) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      resume = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++resume;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

function matchesClaim(matcher: ClaimMatcher, value: string | null): boolean {
  // An absent claim (e.g. `by` missing, "unknown") matches nothing, not even `pattern:*`.
  if (value === null) return false;
  switch (matcher.kind) {
    case 'const':
      return value === matcher.operand;
    case 'pattern':
      return matchesPattern(matcher.operand, value);
    case 'split_pattern':
      return value.split(';').some((part) => matchesPattern(matcher.operand, part));
    case 'unknown':
      return false;
  }
}

/** One visa satisfies all claims of the clause. */
export function clauseMatches(clause: ConditionClause, visa: ValidVisa): boolean {
  return visa.type === clause.type && clause.claims.every(({ claim, matcher }) => matchesClaim(matcher, visa[claim]));
}

/**
 * True when some alternative has every clause matched by a visa among `candidates` (which must
 * already be the passport's accepted, unconditional visas).
 */
export function conditionsMet(conditions: VisaConditions, candidates: readonly ValidVisa[]): boolean {
  return conditions.some((clauses) => clauses.every((clause) => candidates.some((visa) => clauseMatches(clause, visa))));
}
