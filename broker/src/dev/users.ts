/**
 * The embedded demo's two people, and what the dev Passport broker asserts about them.
 *
 * Dev only: the passwords are the usernames, printed in the README, and exist so every flow
 * (login, UserInfo, token exchange, a run that needs a visa) can be tried offline on one machine.
 * They are still compared in constant time, so the login form is not a timing oracle for which
 * usernames exist or how much of a password was right.
 *
 * Visa assertions are data here; `visas.ts` signs them. `source` and `by` follow GA4GH Passport
 * 1.2: `source` is the organization that made the assertion (a URL, matched as an opaque string),
 * `by` who within it (`so` signing official, `dac` data access committee, `self`, `system`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Registered Access researcher standard (Dyke et al. 2018), the usual `ResearcherStatus` value. */
export const REGISTERED_ACCESS_DOI = 'https://doi.org/10.1038/s41431-018-0219-y';

/** The demo dataset and the URL `ControlledAccessGrants` visas name it by. */
export const DEMO_DATASET = 'demo';
export const DEMO_DATASET_URL = 'https://datasets.imputation-broker.local/demo';

/** `AffiliationAndRole` value that marks the demo administrator. */
export const DEMO_ADMIN_AFFILIATION = 'admin@imputation-broker.local';

export type DevRole = 'researcher' | 'admin';

export interface DevUser {
  /** Login name, and the `sub` of this user's tokens, visas and passports. */
  username: string;
  /** Display name (`name` claim). */
  name: string;
  roles: readonly DevRole[];
}

/** One `ga4gh_visa_v1` object before signing (`asserted` in seconds since the epoch). */
export interface VisaAssertion {
  type: 'AffiliationAndRole' | 'AcceptedTermsAndPolicies' | 'ResearcherStatus' | 'ControlledAccessGrants' | 'LinkedIdentities';
  asserted: number;
  value: string;
  source: string;
  by: 'self' | 'peer' | 'system' | 'so' | 'dac';
}

/** The assertion sources (organizations) the dev broker speaks for; all under its issuer. */
export interface DevVisaSources {
  /** The demo institution's signing official: vouches for researcher status. */
  signingOfficial: string;
  /** The demo data access committee: grants access to dataset `demo`. */
  dac: string;
  /** The broker itself: records accepted terms and the admin affiliation. */
  broker: string;
}

export function devVisaSources(issuer: string): DevVisaSources {
  const base = issuer.replace(/\/+$/, '');
  return {
    signingOfficial: `${base}/sources/demo-so`,
    dac: `${base}/sources/demo-dac`,
    broker: `${base}/sources/demo-broker`,
  };
}

/** The terms of use `AcceptedTermsAndPolicies` visas point at. */
export function demoTermsUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/terms/v1`;
}

interface StoredUser extends DevUser {
  /** sha256 of the password: fixed length, so the comparison below is constant time. */
  passwordDigest: Buffer;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

const STORED: readonly StoredUser[] = [
  { username: 'alice', name: 'Alice Researcher', roles: ['researcher'], passwordDigest: digest('alice') },
  { username: 'admin', name: 'Demo Administrator', roles: ['admin'], passwordDigest: digest('admin') },
  // An account with no visas: what a newly registered user looks like before any assertion.
  { username: 'bob', name: 'Bob Newcomer', roles: [], passwordDigest: digest('bob') },
];

/** The demo users, without their passwords. */
export const DEV_USERS: readonly DevUser[] = STORED.map(({ username, name, roles }) => ({ username, name, roles }));

export function findDevUser(username: string): DevUser | undefined {
  return DEV_USERS.find((u) => u.username === username);
}

/** Compared against when the username is unknown, so both paths cost the same. */
const NO_USER_DIGEST = createHash('sha256').update(randomBytes(32)).digest();

/**
 * The user when `username` and `password` match, else undefined. Every call hashes the password and
 * does one constant-time comparison, whether or not the username exists.
 */
export function authenticateDevUser(username: string, password: string): DevUser | undefined {
  const stored = STORED.find((u) => u.username === username);
  const ok = timingSafeEqual(digest(password), stored?.passwordDigest ?? NO_USER_DIGEST);
  return ok && stored !== undefined ? findDevUser(stored.username) : undefined;
}

export interface VisaContext {
  sources: DevVisaSources;
  /** URL of the terms of use, see `demoTermsUrl`. */
  termsUrl: string;
  /** When the assertions were made (seconds since the epoch). */
  asserted: number;
  /** The OP's issuer: the identity (sub, iss) the visas are linked to. */
  opIssuer: string;
}

/** What the broker asserts about `user`, in a stable order. */
export function visaAssertionsFor(user: DevUser, ctx: VisaContext): VisaAssertion[] {
  const { sources, termsUrl, asserted } = ctx;
  const researcher: VisaAssertion = { type: 'ResearcherStatus', asserted, value: REGISTERED_ACCESS_DOI, source: sources.signingOfficial, by: 'so' };
  // The visas come from their own issuer (own key), so they name another {iss, sub} than the
  // login: a LinkedIdentities visa says both are the same person (Passport 1.2).
  const link: VisaAssertion = {
    type: 'LinkedIdentities',
    asserted,
    value: `${encodeURIComponent(user.username)},${encodeURIComponent(ctx.opIssuer)}`,
    source: sources.broker,
    by: 'system',
  };
  switch (user.username) {
    case 'alice':
      return [
        link,
        researcher,
        { type: 'AcceptedTermsAndPolicies', asserted, value: termsUrl, source: sources.broker, by: 'self' },
        { type: 'ControlledAccessGrants', asserted, value: DEMO_DATASET_URL, source: sources.dac, by: 'dac' },
      ];
    case 'admin':
      return [link, { type: 'AffiliationAndRole', asserted, value: DEMO_ADMIN_AFFILIATION, source: sources.broker, by: 'system' }, researcher];
    default:
      return [];
  }
}
