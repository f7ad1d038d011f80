/**
 * The policy file: which visas (and which locally assigned roles) grant which permissions.
 * Validated with zod once at start-up and compiled into `Policy`, the read-only form `decide`
 * evaluates. Every mistake is reported with its place in the file (`rules.admin.any_of[1].visa.by[0]`)
 * and what would be valid, and the broker refuses to start rather than deciding with a policy
 * nobody meant. The format is described in docs/policy.md; config/policy.example.yaml is a
 * commented example.
 */
import { z } from 'zod';
import { ownerKey, type Principal } from '../principal';

/** The `by` values of GA4GH Passport 1.2 (who asserted the visa). */
export const VISA_BY = ['self', 'peer', 'system', 'so', 'dac'] as const;
export type VisaBy = (typeof VISA_BY)[number];

/** Standard visa types that may appear in a rule. `LinkedIdentities` grants nothing by itself. */
export const RULE_VISA_TYPES = ['AffiliationAndRole', 'AcceptedTermsAndPolicies', 'ResearcherStatus', 'ControlledAccessGrants'] as const;

/**
 * Passport 1.2: these two types MUST carry `by`. A visa of one of them without `by` is
 * non-conformant and never satisfies a rule, even a rule that names no `by`.
 */
export const TYPES_REQUIRING_BY: readonly string[] = ['AcceptedTermsAndPolicies', 'ControlledAccessGrants'];

/** The named rules of a policy file; each grants one permission (see docs/policy.md). */
export const RULE_NAMES = ['submit_runs', 'manage_credentials', 'read_audit', 'admin'] as const;
export type RuleName = (typeof RULE_NAMES)[number];

/** The one placeholder a `value`/`value_pattern` may contain. */
const TERMS_PLACEHOLDER = '${terms_url}';

// ---------------------------------------------------------------------------------------------
// The file, as zod validates it
// ---------------------------------------------------------------------------------------------

const unknownKeys =
  (what: string, valid: readonly string[]) =>
  (issue: { code?: string; keys?: string[]; input?: unknown }): string | undefined => {
    if (issue.code === 'unrecognized_keys') {
      return `unknown setting ${(issue.keys ?? []).map((k) => `"${k}"`).join(', ')} in ${what} (valid: ${valid.join(', ')})`;
    }
    if (issue.code === 'invalid_type') {
      return issue.input === undefined
        ? `${what} is required: a mapping with the settings ${valid.join(', ')}`
        : `${what} must be a mapping with the settings ${valid.join(', ')}`;
    }
    return undefined;
  };

const strict = <T extends z.ZodRawShape>(what: string, shape: T) =>
  z.strictObject(shape, { error: unknownKeys(what, Object.keys(shape)) });

const shown = (input: unknown): string => (typeof input === 'string' ? `"${input}"` : JSON.stringify(input) ?? String(input));

const httpUrl = (what: string, example: string) =>
  z.url({
    protocol: /^https?$/,
    error: (iss) =>
      iss.input === undefined
        ? `${what} is required: an absolute http(s) URL such as ${example}`
        : `${what} must be an absolute http(s) URL such as ${example}, not ${shown(iss.input)}`,
  });

const nonEmpty = (what: string) =>
  z.string({ error: (iss) => (iss.input === undefined ? `${what} is required` : `${what} must be a text, not ${shown(iss.input)}`) }).min(1, `${what} must not be empty`).max(1024, `${what} is longer than 1024 characters`);

const list = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item, { error: `${what} must be a list, e.g. [a, b]` }).min(1, `${what} must not be empty (leave it out to accept any)`);

const byList = z
  .union([z.string(), z.array(z.unknown())], { error: `by must be a list of ${VISA_BY.join(', ')}` })
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .pipe(
    list(
      z.enum(VISA_BY, { error: (iss) => `${shown(iss.input)} is not a Passport "by" value (valid: ${VISA_BY.join(', ')})` }),
      'by',
    ),
  );

const sourceList = list(httpUrl('a source', 'https://dac.example.org'), 'sources');
const issuerList = list(httpUrl('an issuer', 'https://login.elixir-czech.org/oidc/'), 'issuers');

const visaType = z.string({ error: (iss) => (iss.input === undefined ? `type is required (valid: ${RULE_VISA_TYPES.join(', ')}, or a custom type URL)` : 'type must be a text') }).refine(
  (t) => (RULE_VISA_TYPES as readonly string[]).includes(t) || /^https?:\/\/\S+$/.test(t),
  {
    error: (iss) =>
      iss.input === 'LinkedIdentities'
        ? 'type LinkedIdentities only links identities and grants nothing; the Passport clearinghouse uses it before the policy runs'
        : `${shown(iss.input)} is not a visa type this policy can use (valid: ${RULE_VISA_TYPES.join(', ')}, or a custom type URL such as https://ras.nih.gov/visas/v1.1)`,
  },
);

const visaMatcherShape = {
  type: visaType,
  /** Exact, case-sensitive, full-string match (Passport 1.2). */
  value: nonEmpty('value').optional(),
  /** `*` any run of characters, `?` one character, full-string, no escapes (as Passport `pattern:`). */
  value_pattern: nonEmpty('value_pattern').optional(),
  /** Accept only visas asserted by one of these; a visa without `by` never matches a `by` list. */
  by: byList.optional(),
  /** Accept only visas whose `source` (the asserting organisation) is one of these URLs. */
  sources: sourceList.optional(),
  /** Accept only visas signed by one of these visa issuers (`iss` of the visa JWT). */
  issuers: issuerList.optional(),
};
/**
 * Cross-key checks also run when a sibling key has its own problem (zod skips them by default),
 * so one start-up attempt lists every mistake.
 */
const onAnyMapping = { when: (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value) };

const visaMatcherSchema = strict('visa', visaMatcherShape).superRefine((v, ctx) => {
  if ((v.value === undefined) === (v.value_pattern === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'give exactly one of value (exact match) or value_pattern (with * and ?)' });
  }
}, onAnyMapping);

const roleName = z
  .string({ error: 'a local role must be a text such as admin' })
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'a local role is lower-case letters, digits, "_" and "-", starting with a letter (e.g. admin)');

const simpleConditionShape = { visa: visaMatcherSchema.optional(), local_role: roleName.optional() };
const exactlyOne =
  (keys: readonly string[]) =>
  (v: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    const given = keys.filter((k) => v[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: given.length === 0 ? `a condition needs one of ${keys.join(', ')}` : `a condition has exactly one of ${keys.join(', ')}, not ${given.join(' and ')}`,
      });
    }
  };
const simpleConditionSchema = strict('condition', simpleConditionShape).superRefine(exactlyOne(Object.keys(simpleConditionShape)), onAnyMapping);

const conditionShape = {
  ...simpleConditionShape,
  /** Every listed condition must hold (e.g. Registered Access: ResearcherStatus and accepted terms). */
  all_of: z
    .array(simpleConditionSchema, { error: 'all_of must be a list of conditions' })
    .min(2, 'all_of needs at least two conditions (for one, write the condition itself)')
    .optional(),
};
const conditionSchema = strict('condition', conditionShape).superRefine(exactlyOne(Object.keys(conditionShape)), onAnyMapping);

const ruleSchema = strict('rule', {
  any_of: z
    .array(conditionSchema, { error: (iss) => (iss.input === undefined ? 'any_of is required: a list of conditions' : 'any_of must be a list of conditions') })
    .min(1, 'any_of needs at least one condition (to let nobody do this, leave the rule out)'),
});

const datasetShape = {
  /** The `value` of the ControlledAccessGrants visa for this dataset (its URL). */
  grant: httpUrl('grant', 'https://ega-archive.org/datasets/EGAD00000000001'),
  sources: sourceList.optional(),
  by: byList.optional(),
  issuers: issuerList.optional(),
};
const datasetSchema = strict('dataset', datasetShape);

const localRoleShape = {
  issuer: httpUrl('issuer', 'https://login.elixir-czech.org/oidc/'),
  subject: nonEmpty('subject'),
  roles: z.array(roleName, { error: 'roles must be a list, e.g. [admin]' }).min(1, 'roles must not be empty'),
};
const localRoleSchema = strict('local role assignment', localRoleShape);

const rulesShape = Object.fromEntries(RULE_NAMES.map((n) => [n, ruleSchema.optional()])) as Record<RuleName, z.ZodOptional<typeof ruleSchema>>;

const DATASET_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const fileShape = {
  version: z.literal(1, {
    error: (iss) =>
      iss.input === undefined ? 'version is required: write "version: 1" (the only policy format so far)' : `version must be 1 (the only policy format so far), not ${shown(iss.input)}`,
  }),
  /** The broker's own terms of use; `${terms_url}` in a value refers to it. */
  terms_url: httpUrl('terms_url', 'https://imputation.example.org/terms/v1').optional(),
  rules: strict('rules', rulesShape).superRefine((r, ctx) => {
    if (r.submit_runs === undefined) {
      ctx.addIssue({ code: 'custom', path: ['submit_runs'], message: 'the submit_runs rule is required: it says who may submit runs' });
    }
  }, onAnyMapping),
  datasets: z
    .record(
      z.string().regex(DATASET_ID, 'a dataset id is letters, digits, ".", "_" and "-" (at most 128), as runs and objects are tagged with it'),
      datasetSchema,
      { error: 'datasets must be a mapping from dataset id to { grant, sources, by }' },
    )
    .optional(),
  local_roles: z.array(localRoleSchema, { error: 'local_roles must be a list of { issuer, subject, roles }' }).optional(),
};
export const policyFileSchema = strict('the policy file', fileShape);

/** The policy file exactly as written (after `by: dac` was normalised to `by: [dac]`). */
export type PolicyFile = z.infer<typeof policyFileSchema>;
type ConditionFile = z.infer<typeof conditionSchema>;
type SimpleConditionFile = z.infer<typeof simpleConditionSchema>;
type VisaMatcherFile = z.infer<typeof visaMatcherSchema>;

// ---------------------------------------------------------------------------------------------
// The compiled form decide() evaluates
// ---------------------------------------------------------------------------------------------

export interface VisaMatcher {
  readonly type: string;
  /** Exact value, or null when `pattern` is used. `${terms_url}` already substituted. */
  readonly value: string | null;
  /** The pattern as written (substituted), for messages; `regex` is what is matched. */
  readonly valuePattern: string | null;
  readonly regex: RegExp | null;
  /** null: any `by` (but see TYPES_REQUIRING_BY). */
  readonly by: readonly VisaBy[] | null;
  /** null: any source the Passport clearinghouse trusts. */
  readonly sources: readonly string[] | null;
  readonly issuers: readonly string[] | null;
}

export type Condition =
  | { readonly kind: 'visa'; readonly path: string; readonly visa: VisaMatcher }
  | { readonly kind: 'local_role'; readonly path: string; readonly role: string }
  | { readonly kind: 'all_of'; readonly path: string; readonly conditions: readonly Condition[] };

export interface Rule {
  readonly name: RuleName;
  readonly anyOf: readonly Condition[];
}

export interface DatasetPolicy {
  /** The tag runs and objects carry (`resource.datasets`). */
  readonly id: string;
  readonly matcher: VisaMatcher;
}

export interface Policy {
  readonly version: 1;
  /** Where the policy came from (a file path or "built-in demo policy"), for messages. */
  readonly origin: string;
  readonly termsUrl: string | null;
  readonly rules: { readonly [K in RuleName]: Rule | null };
  readonly datasets: ReadonlyMap<string, DatasetPolicy>;
  /** ownerKey(issuer, subject) -> roles. */
  readonly localRoles: ReadonlyMap<string, ReadonlySet<string>>;
}

export class PolicyError extends Error {
  constructor(
    readonly origin: string,
    readonly problems: string[],
  ) {
    super(`Invalid policy (${origin}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PolicyError';
  }
}

/** `rules.admin.any_of[1].visa` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && !/^[A-Za-z0-9_-]+$/.test(part)) out += `[${JSON.stringify(part)}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    // A refused record key: zod nests the key's own message one level down.
    const nested = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
    return `${formatPath(issue.path)}: ${nested ?? issue.message}`;
  });
}

/**
 * Validate a parsed YAML/JSON document and compile it. Throws PolicyError listing every problem
 * (schema problems first; the cross-checks below only run on a well-formed file).
 */
export function compilePolicy(raw: unknown, origin: string): Policy {
  const parsed = policyFileSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new PolicyError(origin, problemsOf(parsed.error));
  const file = parsed.data;
  const problems: string[] = [];
  const termsUrl = file.terms_url ?? null;

  const substitute = (text: string, path: string): string[] | null => {
    // Split around the placeholder, so a pattern treats the terms URL as literal text.
    const parts = text.split(TERMS_PLACEHOLDER);
    if (parts.length > 1 && termsUrl === null) {
      problems.push(`${path}: uses ${TERMS_PLACEHOLDER} but the policy has no terms_url`);
      return null;
    }
    const other = parts.find((p) => /\$\{[^}]*\}/.test(p));
    if (other !== undefined) {
      problems.push(`${path}: ${shown(other.match(/\$\{[^}]*\}/)?.[0])} is not a known placeholder (valid: ${TERMS_PLACEHOLDER})`);
      return null;
    }
    return parts;
  };

  const matcher = (v: VisaMatcherFile, path: string): VisaMatcher => {
    let value: string | null = null;
    let valuePattern: string | null = null;
    let regex: RegExp | null = null;
    if (v.value !== undefined) {
      value = substitute(v.value, `${path}.value`)?.join(termsUrl ?? '') ?? v.value;
    } else if (v.value_pattern !== undefined) {
      const parts = substitute(v.value_pattern, `${path}.value_pattern`) ?? [v.value_pattern];
      valuePattern = parts.join(termsUrl ?? '');
      regex = new RegExp(`^${parts.map(patternSource).join(escapeRegex(termsUrl ?? ''))}$`, 'su');
    }
    return {
      type: v.type,
      value,
      valuePattern,
      regex,
      by: v.by ?? null,
      sources: v.sources ?? null,
      issuers: v.issuers ?? null,
    };
  };

  const referencedRoles = new Set<string>();
  const condition = (c: ConditionFile | SimpleConditionFile, path: string): Condition => {
    if (c.visa !== undefined) return { kind: 'visa', path, visa: matcher(c.visa, `${path}.visa`) };
    if (c.local_role !== undefined) {
      referencedRoles.add(c.local_role);
      return { kind: 'local_role', path, role: c.local_role };
    }
    const all = (c as ConditionFile).all_of ?? [];
    return { kind: 'all_of', path, conditions: all.map((s, i) => condition(s, `${path}.all_of[${i}]`)) };
  };

  const rules = Object.fromEntries(
    RULE_NAMES.map((name): [RuleName, Rule | null] => {
      const r = file.rules[name];
      if (r === undefined) return [name, null];
      return [name, { name, anyOf: r.any_of.map((c, i) => condition(c, `rules.${name}.any_of[${i}]`)) }];
    }),
  ) as { [K in RuleName]: Rule | null };

  const datasets = new Map<string, DatasetPolicy>();
  for (const [id, d] of Object.entries(file.datasets ?? {})) {
    datasets.set(id, {
      id,
      matcher: {
        type: 'ControlledAccessGrants',
        value: d.grant,
        valuePattern: null,
        regex: null,
        by: d.by ?? null,
        sources: d.sources ?? null,
        issuers: d.issuers ?? null,
      },
    });
  }

  const localRoles = new Map<string, Set<string>>();
  (file.local_roles ?? []).forEach((a, i) => {
    const key = ownerKey(a);
    if (localRoles.has(key)) {
      problems.push(`local_roles[${i}]: subject "${a.subject}" of ${a.issuer} is listed twice; give all its roles in one entry`);
      return;
    }
    localRoles.set(key, new Set(a.roles));
    for (const role of a.roles) {
      if (!referencedRoles.has(role)) {
        const used = [...referencedRoles].sort();
        problems.push(
          `local_roles[${i}].roles: the role "${role}" is not used by any rule, so it would grant nothing` +
            (used.length ? ` (roles the rules use: ${used.join(', ')})` : ' (add `- local_role: ' + role + '` to a rule)'),
        );
      }
    }
  });

  if (problems.length) throw new PolicyError(origin, problems);
  return Object.freeze({ version: 1, origin, termsUrl, rules, datasets, localRoles });
}

/** The roles the policy assigns to this caller by (issuer, subject). */
export function localRolesOf(policy: Policy, principal: Pick<Principal, 'issuer' | 'subject'>): ReadonlySet<string> {
  return policy.localRoles.get(ownerKey(principal)) ?? new Set<string>();
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Passport `pattern:` semantics: `?` one character, `*` any run, everything else literal. */
function patternSource(pattern: string): string {
  return [...pattern].map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : escapeRegex(ch))).join('');
}

/** Full-string match with Passport `pattern:` semantics (exported for tests and other callers). */
export function matchesPattern(pattern: string, text: string): boolean {
  return new RegExp(`^${patternSource(pattern)}$`, 'su').test(text);
}
