/** The policy: who may do what, from visas and local roles. See docs/policy.md. */
export { ACTIONS, decide, describeMatcher } from './decide';
export type { Action, AllowCode, Decision, DecisionCode, DenyCode, PolicyResource, PolicySubject } from './decide';
export { REGISTERED_ACCESS_DOI, demoIdentities, demoPolicy, demoPolicyDocument, loadPolicy, parsePolicy } from './load';
export type { LoadPolicyOptions } from './load';
export { PolicyError, RULE_NAMES, VISA_BY, compilePolicy, localRolesOf, matchesPattern, policyFileSchema } from './schema';
export type { Condition, DatasetPolicy, Policy, PolicyFile, Rule, RuleName, VisaBy, VisaMatcher } from './schema';
