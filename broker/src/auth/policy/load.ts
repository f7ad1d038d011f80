/**
 * Where the policy comes from: a YAML file (production), or, when none is configured, the
 * built-in demo policy that fits the embedded dev OIDC provider. Loaded once at start-up; any
 * problem stops the broker with every mistake listed (PolicyError).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { compilePolicy, PolicyError, type Policy, type PolicyFile } from './schema';

export interface LoadPolicyOptions {
  /** Base URL clients reach the broker at; the demo policy is built from it. */
  publicUrl: string;
}

/**
 * Load the policy file at `path`, or the built-in demo policy when `path` is undefined.
 * Throws PolicyError (never returns a half-valid policy).
 */
export function loadPolicy(path: string | undefined, options: LoadPolicyOptions): Policy {
  if (path === undefined) return demoPolicy(options.publicUrl);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'the file does not exist' : `the file cannot be read (${code ?? (err as Error).message})`;
    throw new PolicyError(path, [`${why}; give the path of a readable YAML policy file (see config/policy.example.yaml)`]);
  }
  return parsePolicy(text, path);
}

/** Parse and compile policy YAML (or JSON, which is YAML) text; `origin` names it in messages. */
export function parsePolicy(text: string, origin: string): Policy {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new PolicyError(origin, [`not valid YAML: ${(err as Error).message}`]);
  }
  return compilePolicy(raw, origin);
}

/** Registered Access (GA4GH Passport `ResearcherStatus` value). */
export const REGISTERED_ACCESS_DOI = 'https://doi.org/10.1038/s41431-018-0219-y';

/**
 * The identities and visa values the demo policy is built around. They mirror what the embedded
 * dev provider asserts (`broker/src/dev/users.ts`: assertion sources under the issuer, the demo
 * dataset URL, the admin affiliation, the terms URL); change both together.
 */
export function demoIdentities(publicUrl: string) {
  const base = publicUrl.replace(/\/+$/, '');
  const issuer = `${base}/oidc`;
  const sources = {
    /** The demo institution's signing official: vouches for researcher status. */
    signingOfficial: `${issuer}/sources/demo-so`,
    /** The demo data access committee: grants the dataset `demo`. */
    dac: `${issuer}/sources/demo-dac`,
    /** The broker itself: records accepted terms and the admin affiliation. */
    broker: `${issuer}/sources/demo-broker`,
  };
  const termsUrl = `${base}/terms/v1`;
  const demoDatasetGrant = 'https://datasets.imputation-broker.local/demo';
  return {
    /** The embedded dev OIDC provider (tokens' `iss`). */
    issuer,
    sources,
    termsUrl,
    /** `value` of the ControlledAccessGrants visa for the dataset `demo`. */
    demoDatasetGrant,
    /** `value` of the AffiliationAndRole visa of the demo administrator. */
    adminAffiliation: 'admin@imputation-broker.local',
    /** Client-credentials identities (subject = client id) allowed to submit by local role. */
    submitters: ['demo-cli', 'demo-cli-2'] as const,
    /** Administrator by local role (and by its AffiliationAndRole visa). */
    admin: 'admin',
    /** A researcher whose visas (`ga4gh_visa_v1` claims) let her submit and read runs of `demo`. */
    alice: {
      subject: 'alice',
      visas: [
        { type: 'ResearcherStatus', value: REGISTERED_ACCESS_DOI, source: sources.signingOfficial, by: 'so' },
        { type: 'AcceptedTermsAndPolicies', value: termsUrl, source: sources.broker, by: 'self' },
        { type: 'ControlledAccessGrants', value: demoDatasetGrant, source: sources.dac, by: 'dac' },
      ],
    },
  };
}

/** The demo policy as a document, exactly as it would be written in YAML (docs/policy.md shows it). */
export function demoPolicyDocument(publicUrl: string): PolicyFile {
  const d = demoIdentities(publicUrl);
  return {
    version: 1,
    terms_url: d.termsUrl,
    rules: {
      submit_runs: {
        any_of: [
          { visa: { type: 'ResearcherStatus', value: REGISTERED_ACCESS_DOI, by: ['so', 'system'], sources: [d.sources.signingOfficial] } },
          { visa: { type: 'AcceptedTermsAndPolicies', value: '${terms_url}', by: ['self'], sources: [d.sources.broker] } },
          { local_role: 'submitter' },
        ],
      },
      admin: {
        any_of: [
          { visa: { type: 'AffiliationAndRole', value: d.adminAffiliation, by: ['system'], sources: [d.sources.broker] } },
          { local_role: 'admin' },
        ],
      },
    },
    datasets: {
      demo: { grant: d.demoDatasetGrant, by: ['dac'], sources: [d.sources.dac] },
    },
    local_roles: [
      ...d.submitters.map((subject) => ({ issuer: d.issuer, subject, roles: ['submitter'] })),
      { issuer: d.issuer, subject: d.admin, roles: ['admin'] },
    ],
  };
}

/** The built-in demo policy (used when no policy file is configured). */
export function demoPolicy(publicUrl: string): Policy {
  return compilePolicy(demoPolicyDocument(publicUrl), 'built-in demo policy');
}
