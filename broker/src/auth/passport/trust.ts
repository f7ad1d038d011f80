/**
 * Whom the clearinghouse trusts (Passport 1.2, "Passport Clearinghouse" obligations): a visa is
 * counted only when the passport broker, the visa issuer (`iss`) and the assertion source
 * (`source`) are all trusted. Each trusted issuer names where its keys are: a configured
 * `jwksUri` (out-of-band) and/or an explicit `jku` allow-list. A `jku` in a token header is only
 * ever fetched when it is on the list of that very issuer (AAI 1.2, FAQ "Use jku"): never a URL of
 * the token's choosing.
 *
 * In the policy YAML:
 *
 *   passport:
 *     brokers:
 *       - issuer: https://login.elixir-czech.org/oidc/
 *         jwksUri: https://login.elixir-czech.org/oidc/jwk
 *     visaIssuers:
 *       - issuer: https://login.elixir-czech.org/oidc/
 *         jwksUri: https://login.elixir-czech.org/oidc/jwk
 *         jku: [https://login.elixir-czech.org/oidc/jwk]
 *       - issuer: urn:example.com:dac-visa-issuer
 *         jku: ["https://keys.example.com/ga4gh/*"]      # trailing * = URL prefix
 *     sources: [https://ega-archive.org/dacs/EGAC00001000205]
 */
import { z } from 'zod';
import { httpUrl, unknownKeys } from '../../http/settings';

/** An entry of a `jku` allow-list, compiled: an exact URL, or a URL prefix ending in `/`. */
export type JkuRule = { kind: 'exact'; url: string } | { kind: 'prefix'; prefix: string };

const urlOrNull = (value: string): URL | null => {
  try {
    return new URL(value);
  } catch {
    return null;
  }
};

/**
 * A usable key URL: http(s), no credentials, no fragment. Whether plain http is acceptable is
 * decided when it is used (only loopback, only when the verifier is told so).
 */
const isKeyUrl = (url: URL | null): url is URL =>
  url !== null && (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '' && url.hash === '';

/**
 * `https://host/path` (exact) or `https://host/dir/*` (any URL under `https://host/dir/`). The
 * prefix must end at a path boundary: `https://keys.example.org*` would also cover
 * `https://keys.example.org.evil.test/`.
 */
export function compileJkuRule(entry: string): JkuRule | null {
  if (entry.endsWith('*')) {
    const base = entry.slice(0, -1);
    const url = urlOrNull(base);
    if (!isKeyUrl(url) || url.search !== '' || !base.endsWith('/') || !url.href.endsWith('/')) return null;
    return { kind: 'prefix', prefix: url.href };
  }
  const url = urlOrNull(entry);
  return isKeyUrl(url) ? { kind: 'exact', url: url.href } : null;
}

/** Compared after WHATWG normalisation, which is also what the fetch will use. */
export function jkuAllowed(rules: readonly JkuRule[], jku: URL): boolean {
  const href = jku.href;
  return rules.some((rule) => (rule.kind === 'exact' ? rule.url === href : href.startsWith(rule.prefix)));
}

/** Parses a `jku` header value into a URL the allow-list can be checked against, or null. */
export function parseJku(value: string): URL | null {
  const url = urlOrNull(value);
  return isKeyUrl(url) ? url : null;
}

/** Only http(s): `z.url()` alone also accepts `ftp:`, `mailto:` or `javascript:`. */
const jkuEntry = z.string().refine((entry) => compileJkuRule(entry) !== null, {
  error: 'jku entries must be an http(s) URL without credentials or fragment (exact match), or a URL ending in "/*" (any URL under that path), e.g. https://keys.example.org/ga4gh/*',
});

const brokerShape = {
  /** Exactly the `iss` of the Passport JWTs (compared byte for byte). */
  issuer: httpUrl('broker issuer', 'https://login.elixir-czech.org/oidc/'),
  /** The broker's signing keys (its OIDC `jwks_uri`). */
  jwksUri: httpUrl('broker jwksUri', 'https://login.elixir-czech.org/oidc/jwk'),
  /** `jku` header values this broker may use. Usually empty: brokers publish a `jwks_uri`. */
  jku: z.array(jkuEntry).default([]),
  /** Required `aud` of Passport JWTs (any one of them), when the broker sets one. */
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
};

const visaIssuerShape = {
  /** Exactly the visas' `iss`. Need not be a URL (e.g. `urn:example.com:dac-visa-issuer`). */
  issuer: z.string().min(1).max(255),
  /** Keys obtained out of band. Without it, only allow-listed `jku` headers can provide keys. */
  jwksUri: httpUrl('visa issuer jwksUri', 'https://visas.example.org/jwks').optional(),
  /** The `jku` header values this issuer may use: exact URLs, or prefixes ending in `/*`. */
  jku: z.array(jkuEntry).default([]),
};

const brokerSchema = z.strictObject(brokerShape, { error: unknownKeys(Object.keys(brokerShape)) });
const visaIssuerSchema = z
  .strictObject(visaIssuerShape, { error: unknownKeys(Object.keys(visaIssuerShape)) })
  .refine((v) => v.jwksUri !== undefined || v.jku.length > 0, {
    error: 'a visa issuer needs a jwksUri or at least one jku entry, otherwise its visas can never be checked',
  });

const trustShape = {
  brokers: z.array(brokerSchema).default([]),
  visaIssuers: z.array(visaIssuerSchema).default([]),
  /** Visa assertion sources (`ga4gh_visa_v1.source`), compared as exact, case-sensitive strings. */
  sources: z.array(z.string().min(1).max(255)).default([]),
};

const noDuplicates = (list: readonly { issuer: string }[]): string | null => {
  const seen = new Set<string>();
  for (const { issuer } of list) {
    if (seen.has(issuer)) return issuer;
    seen.add(issuer);
  }
  return null;
};

export const passportTrustSchema = z
  .strictObject(trustShape, { error: unknownKeys(Object.keys(trustShape)) })
  .superRefine((trust, ctx) => {
    const broker = noDuplicates(trust.brokers);
    if (broker !== null) ctx.addIssue({ code: 'custom', path: ['brokers'], message: `broker ${broker} is listed twice` });
    const issuer = noDuplicates(trust.visaIssuers);
    if (issuer !== null) ctx.addIssue({ code: 'custom', path: ['visaIssuers'], message: `visa issuer ${issuer} is listed twice` });
  });

/** The trust configuration as written (input) and as validated (defaults applied). */
export type PassportTrustInput = z.input<typeof passportTrustSchema>;
export type PassportTrust = z.output<typeof passportTrustSchema>;
export type TrustedBroker = PassportTrust['brokers'][number];
export type TrustedVisaIssuer = PassportTrust['visaIssuers'][number];

/** Validates the `passport` section of the policy file; throws a readable TypeError. */
export function parsePassportTrust(input: unknown): PassportTrust {
  const parsed = passportTrustSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `passport.${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new TypeError(`Invalid passport trust configuration:\n  ${problems.join('\n  ')}`);
}

/** A trusted issuer (broker or visa issuer), ready for lookups. */
export interface KeySourceTrust {
  issuer: string;
  jwksUri: string | undefined;
  jku: readonly JkuRule[];
  audience?: string | string[] | undefined;
}

/** The configuration compiled for lookups; built once, shared by all verifications. */
export interface TrustIndex {
  broker(issuer: string): KeySourceTrust | undefined;
  visaIssuer(issuer: string): KeySourceTrust | undefined;
  sourceTrusted(source: string): boolean;
  readonly brokers: readonly string[];
  readonly visaIssuers: readonly string[];
}

const compileRules = (entries: readonly string[]): JkuRule[] =>
  entries.map((entry) => {
    const rule = compileJkuRule(entry);
    if (rule === null) throw new TypeError(`passport trust: jku entry "${entry}" is not a valid URL or URL prefix`);
    return rule;
  });

export function isTrustIndex(value: PassportTrust | PassportTrustInput | TrustIndex): value is TrustIndex {
  return typeof (value as Partial<TrustIndex>).visaIssuer === 'function';
}

/** Accepts the raw or parsed configuration (validated again) or an index already built. */
export function compileTrust(config: PassportTrust | PassportTrustInput | TrustIndex): TrustIndex {
  if (isTrustIndex(config)) return config;
  const trust = parsePassportTrust(config);
  const brokers = new Map<string, KeySourceTrust>(
    trust.brokers.map((b) => [b.issuer, { issuer: b.issuer, jwksUri: b.jwksUri, jku: compileRules(b.jku), audience: b.audience }]),
  );
  const issuers = new Map<string, KeySourceTrust>(
    trust.visaIssuers.map((v) => [v.issuer, { issuer: v.issuer, jwksUri: v.jwksUri, jku: compileRules(v.jku) }]),
  );
  const sources = new Set(trust.sources);
  return {
    broker: (issuer) => brokers.get(issuer),
    visaIssuer: (issuer) => issuers.get(issuer),
    sourceTrusted: (source) => sources.has(source),
    brokers: [...brokers.keys()],
    visaIssuers: [...issuers.keys()],
  };
}
