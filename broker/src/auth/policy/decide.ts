/**
 * The one policy decision every API asks: may this caller, holding these (already validated)
 * visas, do this action, on this run or object? Pure and synchronous: no I/O, no clock (the
 * clearinghouse already dropped expired visas), so every API decides the same way and tests can
 * enumerate the cases.
 *
 * Deny by default: only the paths below allow; anything else (an unknown action, a missing or
 * wrong resource) is refused with a code and a reason a researcher can act on.
 *
 * | action                  | allowed for                                                      |
 * |-------------------------|------------------------------------------------------------------|
 * | runs:submit             | rules.submit_runs, admins                                        |
 * | runs:read, objects:read | the owner, a dataset grant for a dataset it is tagged with, admins |
 * | runs:cancel             | the owner, admins (a dataset grant gives read only)              |
 * | credentials:manage_own  | rules.manage_credentials (default: rules.submit_runs), admins   |
 * | notifications:manage_own| rules.submit_runs, admins (webhooks, e-mail about one's runs)     |
 * | audit:read              | rules.read_audit, admins                                         |
 * | backends:admin          | admins (rules.admin)                                             |
 * | results:delete          | admins (rules.admin)                                             |
 */
import type { ValidVisa } from '../passport/types';
import type { Principal } from '../principal';
import { TYPES_REQUIRING_BY, localRolesOf, type Condition, type Policy, type Rule, type VisaBy, type VisaMatcher } from './schema';

export const ACTIONS = [
  'runs:submit',
  'runs:read',
  'runs:cancel',
  'objects:read',
  'credentials:manage_own',
  'notifications:manage_own',
  'backends:admin',
  'results:delete',
  'audit:read',
] as const;
export type Action = (typeof ACTIONS)[number];

/** What an action is done to: a run or a DRS object, with its owner and dataset tags. */
export interface PolicyResource {
  kind: 'run' | 'object';
  ownerIssuer: string;
  ownerSubject: string;
  /** Dataset ids (keys of the policy's `datasets`) the resource is tagged with. */
  datasets: readonly string[];
}

export interface PolicySubject {
  principal: Pick<Principal, 'issuer' | 'subject'>;
  /** Visas the Passport clearinghouse accepted for this caller (signature, trust, times checked). */
  visas: readonly ValidVisa[];
}

export type AllowCode =
  /** The caller owns the run or object. */
  | 'owner'
  /** A ControlledAccessGrants visa for a dataset the resource is tagged with. */
  | 'dataset_grant'
  /** rules.admin matched. */
  | 'admin'
  /** The action's own rule (submit_runs, manage_credentials, read_audit) matched. */
  | 'rule';
export type DenyCode =
  /** The action's rule exists, and none of its conditions held. */
  | 'no_matching_visa'
  /** Someone else's run or object, and no dataset grant (or one that gives read only). */
  | 'not_owner'
  /** Only administrators may do this. */
  | 'not_admin'
  /** A per-resource action asked without saying which run or object. */
  | 'resource_required'
  /** A run action on an object or the other way round. */
  | 'wrong_resource'
  | 'unknown_action';
export type DecisionCode = AllowCode | DenyCode;

export interface Decision {
  allow: boolean;
  code: DecisionCode;
  /** Plain words for the researcher (and the audit log). Never contains a token. */
  reason: string;
  /** What allowed it: the policy path (`rules.submit_runs.any_of[0]`, `datasets.demo`, `owner`) and the visa(s) used. */
  via?: { rule: string; visaDigest?: string; visaDigests?: string[] };
}

/**
 * Decide. `action` is typed, but checked at run time too: an action this function does not
 * know is refused (`unknown_action`), never allowed.
 */
export function decide(policy: Policy, subject: PolicySubject, action: Action, resource?: PolicyResource): Decision {
  const ctx: Ctx = { policy, subject, roles: localRolesOf(policy, subject.principal) };
  switch (action as string) {
    case 'runs:submit':
      return byRule(ctx, policy.rules.submit_runs, 'submit runs');
    case 'credentials:manage_own':
      return byRule(ctx, policy.rules.manage_credentials ?? policy.rules.submit_runs, 'store credentials for the services runs go to');
    case 'notifications:manage_own':
      // Webhooks and e-mails send traffic on the user's behalf: for those who may run things at all.
      return byRule(ctx, policy.rules.submit_runs, 'set up notifications (webhooks, e-mail) about your runs');
    case 'audit:read':
      return policy.rules.read_audit ? byRule(ctx, policy.rules.read_audit, 'read the audit log') : adminOnly(ctx, 'read the audit log');
    case 'backends:admin':
      return adminOnly(ctx, 'manage the backends');
    case 'results:delete':
      return adminOnly(ctx, "delete a run's results");
    case 'runs:read':
      return onResource(ctx, 'run', 'read', resource);
    case 'runs:cancel':
      return onResource(ctx, 'run', 'cancel', resource);
    case 'objects:read':
      return onResource(ctx, 'object', 'read', resource);
    default:
      return deny('unknown_action', `The broker does not know the action ${JSON.stringify(action)}, so it is refused.`);
  }
}

interface Ctx {
  policy: Policy;
  subject: PolicySubject;
  roles: ReadonlySet<string>;
}

type Match = { ok: true; visas: ValidVisa[] } | { ok: false; misses: string[] };

const deny = (code: DenyCode, reason: string): Decision => ({ allow: false, code, reason });

function allow(code: AllowCode, reason: string, rule: string, visas: readonly ValidVisa[] = []): Decision {
  const via: NonNullable<Decision['via']> = { rule };
  if (visas.length > 0) {
    via.visaDigest = visas[0]!.digest;
    if (visas.length > 1) via.visaDigests = visas.map((v) => v.digest);
  }
  return { allow: true, code, reason, via };
}

function byRule(ctx: Ctx, rule: Rule | null, doing: string): Decision {
  if (rule !== null) {
    const hit = matchRule(ctx, rule);
    if (hit.ok) return allow('rule', `Allowed to ${doing}: ${hit.path} asks for ${describeCondition(hit.condition)}.`, hit.path, hit.visas);
  }
  const admin = asAdmin(ctx);
  if (admin.allow) return admin;
  if (rule === null) return deny('not_admin', `Only administrators may ${doing}. ${needs(ctx.policy.rules.admin)}`);
  return deny('no_matching_visa', `You may not ${doing}. ${needs(rule)}${diagnosis(ctx, rule)}`);
}

function adminOnly(ctx: Ctx, doing: string): Decision {
  const admin = asAdmin(ctx);
  if (admin.allow) return admin;
  return deny('not_admin', `Only administrators may ${doing}. ${needs(ctx.policy.rules.admin)}${diagnosis(ctx, ctx.policy.rules.admin)}`);
}

function asAdmin(ctx: Ctx): Decision {
  const rule = ctx.policy.rules.admin;
  const hit = rule ? matchRule(ctx, rule) : null;
  if (hit?.ok) return allow('admin', `Allowed as an administrator (${hit.path}).`, hit.path, hit.visas);
  return deny('not_admin', 'Not an administrator.');
}

function onResource(ctx: Ctx, kind: PolicyResource['kind'], verb: 'read' | 'cancel', resource: PolicyResource | undefined): Decision {
  const noun = kind;
  if (resource === undefined) {
    const admin = asAdmin(ctx);
    if (admin.allow) return admin;
    return deny('resource_required', `Who may ${verb} ${article(noun)} ${noun} is decided ${noun} by ${noun}; only administrators may ${verb} every ${noun}.`);
  }
  if (resource.kind !== kind) {
    return deny('wrong_resource', `"${verb}" on ${article(noun)} ${noun} was asked about ${article(resource.kind)} ${resource.kind}; the broker refuses rather than guess.`);
  }
  const { principal } = ctx.subject;
  if (resource.ownerIssuer === principal.issuer && resource.ownerSubject === principal.subject) {
    return allow('owner', `You own this ${noun}.`, 'owner');
  }
  const grants = [...new Set(resource.datasets)].map((id) => ({ id, dataset: ctx.policy.datasets.get(id) }));
  const misses: string[] = [];
  let granted: { id: string; visa: ValidVisa } | null = null;
  for (const { id, dataset } of grants) {
    if (dataset === undefined) continue;
    const m = matchVisa(ctx, dataset.matcher);
    if (m.ok) {
      granted = { id, visa: m.visas[0]! };
      break;
    }
    misses.push(...m.misses);
  }
  if (granted !== null && verb === 'read') {
    return allow('dataset_grant', `You have been granted access to the dataset "${granted.id}" this ${noun} belongs to.`, `datasets.${granted.id}`, [granted.visa]);
  }
  const admin = asAdmin(ctx);
  if (admin.allow) return admin;

  if (granted !== null) {
    return deny(
      'not_owner',
      `Only the owner of this ${noun} or an administrator may cancel it; your access to the dataset "${granted.id}" lets you read it, not cancel it.`,
    );
  }
  const known = grants.flatMap(({ id, dataset }) => (dataset ? [`"${id}" (${describeMatcher(dataset.matcher)})`] : []));
  let reason = `This ${noun} belongs to another user. `;
  if (verb === 'cancel') {
    reason += `Only its owner or an administrator may cancel it.`;
  } else if (known.length === 0) {
    reason += `Only its owner or an administrator may read it; it is not part of any dataset this broker grants access to.`;
  } else {
    reason += `You may read it as its owner, as an administrator, or with access to one of its datasets: ${known.join('; or ')}.`;
    reason += explainMisses(ctx, misses);
  }
  return deny('not_owner', reason);
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

function matchRule(ctx: Ctx, rule: Rule): { ok: true; path: string; condition: Condition; visas: ValidVisa[] } | { ok: false; misses: string[] } {
  const misses: string[] = [];
  for (const c of rule.anyOf) {
    const m = matchCondition(ctx, c);
    if (m.ok) return { ok: true, path: c.path, condition: c, visas: m.visas };
    misses.push(...m.misses);
  }
  return { ok: false, misses };
}

function matchCondition(ctx: Ctx, c: Condition): Match {
  switch (c.kind) {
    case 'visa':
      return matchVisa(ctx, c.visa);
    case 'local_role':
      return ctx.roles.has(c.role) ? { ok: true, visas: [] } : { ok: false, misses: [] };
    case 'all_of': {
      const visas: ValidVisa[] = [];
      const misses: string[] = [];
      let ok = true;
      for (const sub of c.conditions) {
        const m = matchCondition(ctx, sub);
        if (m.ok) visas.push(...m.visas);
        else {
          ok = false;
          misses.push(...m.misses);
        }
      }
      return ok ? { ok: true, visas } : { ok: false, misses };
    }
  }
}

/**
 * How far a visa of the right type got before it failed; the furthest is the most useful thing to
 * tell the researcher ("your visa is right, but it was not asserted by a signing official").
 */
interface Miss {
  stage: number;
  text: string;
}

function matchVisa(ctx: Ctx, m: VisaMatcher): Match {
  let best: Miss[] = [];
  for (const visa of ctx.subject.visas) {
    if (visa.type !== m.type) continue;
    const miss = checkVisa(visa, m);
    if (miss === null) return { ok: true, visas: [visa] };
    if (best.length === 0 || miss.stage > best[0]!.stage) best = [miss];
    else if (miss.stage === best[0]!.stage && !best.some((b) => b.text === miss.text)) best.push(miss);
  }
  return { ok: false, misses: best.map((b) => b.text) };
}

function checkVisa(visa: ValidVisa, m: VisaMatcher): Miss | null {
  const your = `your ${visa.type} visa`;
  if (m.value !== null && visa.value !== m.value) {
    return { stage: 1, text: `${your} is for "${visa.value}", not "${m.value}"` };
  }
  if (m.regex !== null && !m.regex.test(visa.value)) {
    return { stage: 1, text: `${your} says "${visa.value}", which does not match "${m.valuePattern ?? ''}"` };
  }
  if (m.issuers !== null && !m.issuers.includes(visa.issuer)) {
    return { stage: 2, text: `${your} for "${visa.value}" was signed by ${visa.issuer}, which this policy does not accept for it (accepted: ${m.issuers.join(', ')})` };
  }
  if (m.sources !== null && !m.sources.includes(visa.source)) {
    return { stage: 3, text: `${your} for "${visa.value}" comes from ${visa.source}, which is not a source this policy trusts for it (trusted: ${m.sources.join(', ')})` };
  }
  if (visa.by === null && (m.by !== null || TYPES_REQUIRING_BY.includes(visa.type))) {
    const needed = m.by !== null ? `this policy needs it asserted by ${byWords(m.by)}` : `GA4GH Passport requires "by" on ${visa.type} visas`;
    return { stage: 4, text: `${your} for "${visa.value}" does not say who asserted it (it has no "by"), and ${needed}` };
  }
  if (m.by !== null && visa.by !== null && !(m.by as readonly string[]).includes(visa.by)) {
    return { stage: 4, text: `${your} for "${visa.value}" was asserted by ${BY_WORDS[visa.by as VisaBy] ?? `"${visa.by}"`} (by: ${visa.by}), but this policy needs ${byWords(m.by)}` };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Plain words
// ---------------------------------------------------------------------------------------------

const article = (word: string): string => (/^[aeiou]/i.test(word) ? 'an' : 'a');

const REGISTERED_ACCESS = 'https://doi.org/10.1038/s41431-018-0219-y';

const BY_WORDS: Record<VisaBy, string> = {
  self: 'yourself',
  peer: 'a peer',
  system: 'a system of record',
  so: 'a signing official',
  dac: 'a data access committee',
};

function byWords(by: readonly VisaBy[]): string {
  const words = by.map((b) => BY_WORDS[b]);
  const joined = words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
  return `${joined} (by: ${by.join(', ')})`;
}

function qualifiers(m: VisaMatcher): string {
  let out = '';
  if (m.by !== null) out += `, asserted by ${byWords(m.by)}`;
  if (m.sources !== null) out += `, from ${m.sources.join(' or ')}`;
  if (m.issuers !== null) out += `, signed by ${m.issuers.join(' or ')}`;
  return out;
}

export function describeMatcher(m: VisaMatcher): string {
  const what = m.value !== null ? `"${m.value}"` : `matching "${m.valuePattern ?? ''}"`;
  switch (m.type) {
    case 'AcceptedTermsAndPolicies':
      return m.value !== null
        ? `to accept the terms at ${m.value} (an AcceptedTermsAndPolicies visa${qualifiers(m)})`
        : `to accept terms ${what} (an AcceptedTermsAndPolicies visa${qualifiers(m)})`;
    case 'ResearcherStatus':
      return `a ResearcherStatus visa for ${m.value === REGISTERED_ACCESS ? `Registered Access (${m.value})` : what}${qualifiers(m)}`;
    case 'ControlledAccessGrants':
      return `a ControlledAccessGrants visa for ${what}${qualifiers(m)}`;
    default:
      return `${article(m.type)} ${m.type} visa ${what}${qualifiers(m)}`;
  }
}

function describeCondition(c: Condition): string {
  switch (c.kind) {
    case 'visa':
      return describeMatcher(c.visa);
    case 'local_role':
      return `the local role "${c.role}" (which the broker's operators assign to accounts)`;
    case 'all_of':
      return `all of: ${c.conditions.map(describeCondition).join(', and ')}`;
  }
}

function needs(rule: Rule | null): string {
  if (rule === null) return 'This broker names no administrators.';
  return `You need ${rule.anyOf.map(describeCondition).join('; or ')}.`;
}

function diagnosis(ctx: Ctx, rule: Rule | null): string {
  const misses = rule ? matchRule(ctx, rule) : null;
  return explainMisses(ctx, misses && !misses.ok ? misses.misses : []);
}

function explainMisses(ctx: Ctx, misses: readonly string[]): string {
  if (ctx.subject.visas.length === 0) return ' Your sign-in carried no GA4GH visas.';
  const unique = [...new Set(misses)];
  if (unique.length === 0) return '';
  const text = unique.join('; ');
  return ` ${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}
