/**
 * Configuration: environment variables plus an optional YAML file (`CONFIG_FILE`), validated
 * with zod once at start-up. Every mistake is reported with the setting's name and what would
 * be valid, and the process refuses to start, rather than failing later on a run.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { httpUrl, unknownKeys } from './http/settings';
import { passportTrustSchema, type PassportTrustInput } from './auth/passport/trust';
import { parseNotificationSettings, type NotificationSettings } from './notify/settings';

/** What every backend kind has: identity, where it is, its secret, limits and polling. */
const commonBackendShape = {
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'backend id must be lower-case letters, digits and dashes (e.g. "mis2")'),
  name: z.string().min(1, 'name must be 1 to 200 characters').max(200, 'name must be 1 to 200 characters'),
  url: httpUrl('backend url', 'https://imputationserver.sph.umich.edu'),
  /**
   * The backend's secret: a Cloudgene API token, a WES node's bearer token, DNAstack's OAuth2
   * client secret. Prefer `tokenFile` or `tokenEnv` so the secret is not in the config file.
   */
  token: z.string().min(1).optional(),
  tokenEnv: z.string().min(1).optional(),
  tokenFile: z.string().min(1).optional(),
  /** Jobs the broker lets run at once on this backend (Cloudgene default 2, TOPMed 3). */
  maxConcurrentJobs: z.number().int().min(1).max(100).default(2),
  /**
   * Calls the broker makes to this backend per minute, counted over every replica (PostgreSQL);
   * beyond it calls wait for the next minute. Unset: no limit but the backend's own 429s.
   */
  maxRequestsPerMinute: z.number().int().min(1).max(100_000).optional(),
  /** First poll delay; polling backs off from here up to `maxPollIntervalMs`. */
  pollIntervalMs: z.number().int().min(100).default(10_000),
  maxPollIntervalMs: z.number().int().min(100).default(300_000),
  /** Days the backend keeps results (Cloudgene: 7). Used to warn when fetching runs late. */
  retentionDays: z.number().int().min(1).default(7),
  location: z.string().max(200, 'location must be at most 200 characters').optional(),
  /** Who runs the service; shown in the GA4GH service registry (default: the backend's name and URL). */
  organization: z
    .strictObject(
      { name: z.string().min(1), url: httpUrl('organization.url', 'https://imputationserver.sph.umich.edu') },
      { error: unknownKeys(['name', 'url']) },
    )
    .optional(),
  demo: z.boolean().default(false),
  /**
   * Whose token submits runs: the broker's service account (the configured token), each user's
   * own token from the vault, or the user's with the service account as fallback. The service
   * token is always needed for panel discovery and health checks. Only Cloudgene has per-user
   * API tokens.
   */
  credentials: z.enum(['service', 'user', 'user_then_service']).default('service'),
};

/** A reference panel a WES node or a Workbench workflow offers (neither can say so itself). */
const panelShape = {
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, 'a panel id is letters, digits, ".", "_", "-" and "@"'),
  label: z.string().min(1).optional(),
  build: z.enum(['hg19', 'hg38'], { error: 'build must be hg19 or hg38' }),
  populations: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'a population id is letters, digits, "_" and "-"')).min(1),
  /** Haplotype donors in the panel, when the operator knows it (shown and used to rank panels; never guessed). */
  samples: z.number({ error: 'samples must be a whole number of samples, at least 1' }).int('samples must be a whole number of samples, at least 1').min(1, 'samples must be a whole number of samples, at least 1').optional(),
  /** Variant sites in the panel, when known. */
  variants: z.number({ error: 'variants must be a whole number of sites, at least 1' }).int('variants must be a whole number of sites, at least 1').min(1, 'variants must be a whole number of sites, at least 1').optional(),
};
const panelSchema = z.strictObject(panelShape, { error: unknownKeys(Object.keys(panelShape)) });
const catalogShape = {
  builds: z.array(z.string()).optional(),
  phasing: z.array(z.string()).optional(),
  r2Filter: z.array(z.string()).optional(),
  modes: z.array(z.string()).optional(),
};
const catalogSchema = z.strictObject(catalogShape, { error: unknownKeys(Object.keys(catalogShape)) });
/** A JSON template of the node's `workflow_params`, `${refpanel}`-style placeholders (adapters/src/wes/params.ts). */
const paramTemplateSchema = z.record(z.string(), z.unknown());

const cloudgeneShape = {
  ...commonBackendShape,
  kind: z.literal('cloudgene'),
  appId: z.string().default('imputationserver2'),
};
const wesShape = {
  ...commonBackendShape,
  kind: z.literal('wes'),
  /** `weskit` (eLwazi/ILIFU nodes), `standard` (WES 1.1, the GA4GH starter kit), `broker` (another copy of this broker). */
  flavor: z.enum(['weskit', 'standard', 'broker']).default('standard'),
  workflowUrl: z.string().min(1).optional(),
  workflowType: z.string().min(1).optional(),
  workflowTypeVersion: z.string().min(1).optional(),
  workflowEngine: z.string().min(1).optional(),
  workflowEngineVersion: z.string().min(1).optional(),
  workflowEngineParameters: z.record(z.string(), z.string()).optional(),
  /** Extra tags per run; `${runId}` is replaced (WESkit's `run_dir`). */
  tags: z.record(z.string(), z.string()).optional(),
  /** How inputs reach the node: uploaded, fetched by a signed https link, or by `drs://` URI. */
  inputMode: z.enum(['attachment', 'https', 'drs']).default('attachment'),
  paramTemplate: paramTemplateSchema.optional(),
  panels: z.array(panelSchema).optional(),
  catalog: catalogSchema.optional(),
};
const dnastackShape = {
  ...commonBackendShape,
  kind: z.literal('dnastack'),
  /** `url` is the Workbench host whose service registry is read; these override what it says. */
  ewesUrl: httpUrl('ewesUrl', 'https://workbench.example.org/services/ewes-service/').optional(),
  userServiceUrl: httpUrl('userServiceUrl', 'https://workbench.example.org/services/user-service/').optional(),
  workflowServiceUrl: httpUrl('workflowServiceUrl', 'https://workbench.example.org/services/workflow-service/').optional(),
  tokenUrl: httpUrl('tokenUrl', 'https://wallet.example.org/oauth/token').optional(),
  /** OAuth2 client credentials: the id here, the secret in token / tokenEnv / tokenFile. */
  clientId: z.string().min(1),
  resource: z.string().min(1).optional(),
  scope: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  /** The registered WDL workflow: `workflow_url = <workflowId>/<workflowVersionId>`. */
  workflowId: z.string().min(1),
  workflowVersionId: z.string().min(1),
  workflowTypeVersion: z.string().min(1).optional(),
  engineId: z.string().min(1).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  paramTemplate: paramTemplateSchema.optional(),
  panels: z.array(panelSchema).min(1, 'a DNAstack backend needs its panels: eWES cannot say which panels a workflow offers'),
  catalog: catalogSchema.optional(),
};
/**
 * One backend, as in CONFIG_FILE. The same schema validates what the admin API writes and what
 * the `backends` table holds (broker/src/backends/store.ts), so a backend means the same thing
 * wherever it was defined.
 */
const KIND_ERROR = 'kind must be one of "cloudgene" (MIS 2, TOPMed, AfriGen-D), "wes" (a GA4GH WES node) or "dnastack" (DNAstack Workbench)';
const strictShape = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape, { error: unknownKeys(Object.keys(shape)) });
export const backendSchema = z.discriminatedUnion('kind', [strictShape(cloudgeneShape), strictShape(wesShape), strictShape(dnastackShape)], {
  error: KIND_ERROR,
});

/**
 * What an administrator may set through the admin API: the same settings as CONFIG_FILE, except
 * `tokenEnv`/`tokenFile` (an administrator gives the secret itself as `token`; it is sealed in the
 * vault, and must not be a way to read the server's environment or files) and `demo` (reserved for
 * the built-in simulators), plus whether it starts `enabled`.
 */
export const ADMIN_REFUSED_KEYS = ['tokenEnv', 'tokenFile', 'demo'] as const;
const adminShape = <T extends z.ZodRawShape>(shape: T) => {
  const { tokenEnv: _e, tokenFile: _f, demo: _d, ...rest } = shape;
  return { ...rest, enabled: z.boolean({ error: 'enabled must be true or false' }).optional() };
};
export const adminBackendSchema = z.discriminatedUnion(
  'kind',
  [strictShape(adminShape(cloudgeneShape)), strictShape(adminShape(wesShape)), strictShape(adminShape(dnastackShape))],
  { error: KIND_ERROR },
);
export type AdminBackendInput = z.infer<typeof adminBackendSchema>;

export type CredentialsMode = 'service' | 'user' | 'user_then_service';
type Parsed<T extends z.ZodRawShape> = z.infer<z.ZodObject<T>>;
/** `credentials` may be left out where configs are built in code; it then means 'service'. */
type Loose<T> = Omit<T, 'credentials'> & { credentials?: CredentialsMode };
export type CloudgeneBackendConfig = Loose<Parsed<typeof cloudgeneShape>>;
export type WesBackendConfig = Loose<Parsed<typeof wesShape>>;
export type DnastackBackendConfig = Loose<Parsed<typeof dnastackShape>>;
export type BackendConfig = CloudgeneBackendConfig | WesBackendConfig | DnastackBackendConfig;
export type BackendKind = BackendConfig['kind'];
export type PanelConfig = z.infer<typeof panelSchema>;
export const BACKEND_KINDS = ['cloudgene', 'wes', 'dnastack'] as const;
/** Where a backend's secret comes from in CONFIG_FILE; never stored in the `backends` table. */
export const BACKEND_SECRET_KEYS = ['token', 'tokenEnv', 'tokenFile'] as const;
/** The per-backend limits, kept in their own column of the `backends` table. */
export const BACKEND_LIMIT_KEYS = ['maxConcurrentJobs', 'maxRequestsPerMinute', 'pollIntervalMs', 'maxPollIntervalMs', 'retentionDays'] as const;
/** Fields every kind has, kept in their own columns of the `backends` table. */
export const BACKEND_IDENTITY_KEYS = ['id', 'kind', 'name', 'url', 'location'] as const;

const passportSourceShape = {
  /** RFC 8693 token exchange at the issuer for a Passport (AAI 1.2); preferred over userinfo. */
  tokenExchange: z
    .strictObject({
      tokenEndpoint: httpUrl('tokenEndpoint', 'https://login.example.org/oidc/token'),
      clientId: z.string().min(1),
      clientSecretEnv: z.string().min(1),
    })
    .optional(),
  userinfoEndpoint: httpUrl('userinfoEndpoint', 'https://login.example.org/oidc/userinfo').optional(),
};
const opaqueShape = {
  /** RFC 7662 token introspection (preferred): needs the broker's client at the issuer. */
  introspectionEndpoint: httpUrl('introspectionEndpoint', 'https://login.example.org/oidc/introspect').optional(),
  clientId: z.string().min(1).optional(),
  clientSecretEnv: z.string().min(1).optional(),
  /** Or: a token is taken as valid when the issuer's UserInfo answers for it. */
  userinfoEndpoint: httpUrl('userinfoEndpoint', 'https://login.example.org/oidc/userinfo').optional(),
};
const issuerShape = {
  issuer: httpUrl('issuer', 'https://login.elixir-czech.org/oidc/'),
  audience: z.string().optional(),
  jwksUri: httpUrl('jwksUri', 'https://login.example.org/jwks').optional(),
  /** How this issuer hands out GA4GH passports, when it is a Passport broker. */
  passport: z.strictObject(passportSourceShape, { error: unknownKeys(Object.keys(passportSourceShape)) }).optional(),
  /** Accept opaque (non-JWT) access tokens from this issuer. */
  opaqueTokens: z
    .strictObject(opaqueShape, { error: unknownKeys(Object.keys(opaqueShape)) })
    .refine((o) => o.userinfoEndpoint || (o.introspectionEndpoint && o.clientId && o.clientSecretEnv), {
      error: 'opaqueTokens needs introspectionEndpoint with clientId and clientSecretEnv, or userinfoEndpoint',
    })
    .optional(),
};
const drsShape = {
  /**
   * Compact identifiers (`drs://prefix:accession`) this broker resolves without asking
   * identifiers.org: prefix -> URL pattern of the object's DRS endpoint, `{$id}` standing for the
   * percent-encoded accession (identifiers.org's own `urlPattern` form).
   */
  compactPrefixes: z
    .record(
      z.string(),
      z
        .string()
        .regex(/^https?:\/\/[^\s]+\{\$id\}[^\s]*$/, 'a compact DRS URL pattern is an http(s) URL with {$id} where the accession goes, e.g. https://drs.example.org/ga4gh/drs/v1/objects/{$id}'),
    )
    .superRefine((prefixes, ctx) => {
      // zod reports a bad record key only as "Invalid key in record": say what a prefix may be.
      for (const key of Object.keys(prefixes)) {
        if (!/^[A-Za-z0-9._]{1,64}(\/[A-Za-z0-9._]{1,64})?$/.test(key)) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'a compact DRS prefix is letters, digits, "." and "_", optionally "provider/namespace"' });
        }
      }
    })
    .optional(),
  /** Resolve other prefixes through identifiers.org's registry API at this base URL (cached 24 h). */
  identifiersOrgUrl: httpUrl('identifiersOrgUrl', 'https://registry.api.identifiers.org').optional(),
};
const fileShape = {
  publicUrl: httpUrl('publicUrl', 'https://imputation.example.org').optional(),
  backends: z.array(backendSchema).optional(),
  oidc: z
    .strictObject(
      { issuers: z.array(z.strictObject(issuerShape, { error: unknownKeys(Object.keys(issuerShape)) })) },
      { error: unknownKeys(['issuers']) },
    )
    .optional(),
  /** Trusted Passport brokers, visa issuers (with their jku allow-lists) and visa sources. */
  passports: passportTrustSchema.optional(),
  /** How `drs://` inputs on other servers are resolved. */
  drs: z.strictObject(drsShape, { error: unknownKeys(Object.keys(drsShape)) }).optional(),
};
const fileSchema = z.strictObject(fileShape, { error: unknownKeys(Object.keys(fileShape)) });

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `300`, `300s`, `5m`, `12h`, `30d` (a bare number is seconds) as milliseconds; null if not a duration. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) return null;
  const ms = Number(m[1]) * DURATION_UNITS[m[2] ?? 's']!;
  return Number.isFinite(ms) ? Math.round(ms) : null;
}

const human = (ms: number): string => {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
};

/** A duration setting with its bounds in the message, e.g. "HEALTH_CHECK_INTERVAL must be a duration from 10s to 1d such as 5m". */
const duration = (name: string, min: number, max: number, fallback: number) => {
  const message = `${name} must be a duration from ${human(min)} to ${human(max)}, such as ${human(fallback)} (units ms, s, m, h, d; a bare number is seconds)`;
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return fallback;
      const ms = parseDuration(v);
      if (ms === null || ms < min || ms > max) {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return ms;
    });
};

const flag = (name: string) =>
  z.enum(['true', 'false', '1', '0'], { error: `${name} must be one of true, false, 1, 0` });

const envSchema = z.object({
  PORT: z.coerce
    .number({ error: 'PORT must be a whole number from 0 to 65535' })
    .int('PORT must be a whole number from 0 to 65535')
    .min(0, 'PORT must be a whole number from 0 to 65535')
    .max(65535, 'PORT must be a whole number from 0 to 65535')
    .default(8080),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: httpUrl('PUBLIC_URL', 'https://imputation.example.org').optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// URL')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// or rediss:// URL')
    .optional(),
  OIDC_ISSUER: httpUrl('OIDC_ISSUER', 'https://login.elixir-czech.org/oidc/').optional(),
  OIDC_AUDIENCE: z.string().optional(),
  DATA_DIR: z.string().default('.data'),
  CONFIG_FILE: z.string().optional(),
  /** The access policy (YAML); the built-in demo policy when absent. */
  POLICY_FILE: z.string().optional(),
  /** 32-byte key (base64 or hex) that encrypts result passwords; generated into DATA_DIR when absent. */
  SECRET_KEY: z.string().optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  /** Largest accepted POST /runs body, bytes (default 20 GB). */
  MAX_UPLOAD_BYTES: z.coerce
    .number({ error: 'MAX_UPLOAD_BYTES must be a whole number of bytes, at least 1' })
    .int('MAX_UPLOAD_BYTES must be a whole number of bytes, at least 1')
    .min(1, 'MAX_UPLOAD_BYTES must be a whole number of bytes, at least 1')
    .default(20 * 1024 ** 3),
  /** Host of the broker's `drs://` URIs (default: the host of PUBLIC_URL). */
  DRS_HOSTNAME: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'DRS_HOSTNAME must be a host name, optionally with :port, such as drs.example.org')
    .optional(),
  /** Most ids one bulk DRS request may name (`maxBulkRequestLength`). */
  DRS_MAX_BULK_REQUEST_LENGTH: z.coerce
    .number({ error: 'DRS_MAX_BULK_REQUEST_LENGTH must be a whole number from 1 to 100000' })
    .int('DRS_MAX_BULK_REQUEST_LENGTH must be a whole number from 1 to 100000')
    .min(1, 'DRS_MAX_BULK_REQUEST_LENGTH must be a whole number from 1 to 100000')
    .max(100_000, 'DRS_MAX_BULK_REQUEST_LENGTH must be a whole number from 1 to 100000')
    .default(1000),
  /** Lifetime of the signed download links DRS `/access` gives out, seconds (default 15 minutes). */
  DRS_SIGNED_URL_TTL_SECONDS: z.coerce
    .number({ error: 'DRS_SIGNED_URL_TTL_SECONDS must be a whole number of seconds from 10 to 604800' })
    .int('DRS_SIGNED_URL_TTL_SECONDS must be a whole number of seconds from 10 to 604800')
    .min(10, 'DRS_SIGNED_URL_TTL_SECONDS must be a whole number of seconds from 10 to 604800')
    .max(604_800, 'DRS_SIGNED_URL_TTL_SECONDS must be a whole number of seconds from 10 to 604800')
    .default(900),
  /** Origins browsers may call the GA4GH APIs from (CORS), comma-separated, or `*` (default). */
  CORS_ORIGINS: z.string().default('*'),
  /** How long uploads (`POST /api/v1/uploads`) are kept, hours; runs keep their own inputs. */
  UPLOAD_RETENTION_HOURS: z.coerce
    .number({ error: 'UPLOAD_RETENTION_HOURS must be a whole number of hours from 1 to 8760' })
    .int('UPLOAD_RETENTION_HOURS must be a whole number of hours from 1 to 8760')
    .min(1, 'UPLOAD_RETENTION_HOURS must be a whole number of hours from 1 to 8760')
    .max(8760, 'UPLOAD_RETENTION_HOURS must be a whole number of hours from 1 to 8760')
    .default(168),
  /** Start the demo federation (simulators + dev OIDC). Defaults to on when nothing external is configured. */
  DEMO: flag('DEMO').optional(),
  WORKER: flag('WORKER').default('true'),
  /** Run steps (submit, poll, fetch results) one worker process takes at once; they wait mostly on backends. */
  WORKER_CONCURRENCY: z.coerce
    .number({ error: 'WORKER_CONCURRENCY must be a whole number from 1 to 200' })
    .int('WORKER_CONCURRENCY must be a whole number from 1 to 200')
    .min(1, 'WORKER_CONCURRENCY must be a whole number from 1 to 200')
    .max(200, 'WORKER_CONCURRENCY must be a whole number from 1 to 200')
    .default(16),
  /** How often each backend is probed (one replica per backend per interval). */
  HEALTH_CHECK_INTERVAL: duration('HEALTH_CHECK_INTERVAL', 1_000, 86_400_000, 5 * 60_000),
  /** A backend failing continuously this long is deactivated (no new runs) and the administrators are told. */
  HEALTH_DEACTIVATE_AFTER: duration('HEALTH_DEACTIVATE_AFTER', 60_000, 365 * 86_400_000, 30 * 86_400_000),
  /** A backend answering slower than this is shown as `slow`. */
  HEALTH_SLOW_THRESHOLD: duration('HEALTH_SLOW_THRESHOLD', 1, 600_000, 2_000),
  /** How long probe results are kept. */
  HEALTH_HISTORY_RETENTION: duration('HEALTH_HISTORY_RETENTION', 3_600_000, 3650 * 86_400_000, 30 * 86_400_000),
  /** How often every replica looks for backends changed by another one (admin API, health monitor). */
  BACKENDS_RELOAD_INTERVAL: duration('BACKENDS_RELOAD_INTERVAL', 100, 600_000, 5_000),
});

export interface OidcIssuerConfig {
  issuer: string;
  audience?: string;
  jwksUri?: string;
  passport?: {
    tokenExchange?: { tokenEndpoint: string; clientId: string; clientSecretEnv: string };
    userinfoEndpoint?: string;
  };
  opaqueTokens?: { introspectionEndpoint?: string; clientId?: string; clientSecretEnv?: string; userinfoEndpoint?: string };
}

export interface Config {
  port: number;
  host: string;
  /** Base URL clients reach the broker at, no trailing slash. */
  publicUrl: string;
  databaseUrl: string | null;
  redisUrl: string | null;
  dataDir: string;
  secretKey: string | null;
  logLevel: string;
  maxUploadBytes: number;
  /** How long uploads are kept, ms. */
  uploadRetentionMs: number;
  demo: boolean;
  runWorker: boolean;
  /** Run steps one worker process takes at once (WORKER_CONCURRENCY). */
  workerConcurrency: number;
  /** Trusted issuers; empty in demo mode until the dev provider is up. */
  issuers: OidcIssuerConfig[];
  backends: BackendConfig[];
  policyFile: string | null;
  passportTrust: PassportTrustInput;
  drs: DrsConfig;
  /** `*` or a list of origins. */
  corsOrigins: '*' | string[];
  /** Event stream, webhooks and e-mail (notify/settings.ts). */
  notifications: NotificationSettings;
  health: HealthConfig;
  /** How often the registry reloads backends changed elsewhere (ms). */
  backendsReloadMs: number;
}

/** The backend health monitor (broker/src/backends/health.ts), all in milliseconds. */
export interface HealthConfig {
  intervalMs: number;
  deactivateAfterMs: number;
  slowMs: number;
  historyRetentionMs: number;
}

export interface DrsConfig {
  /** Host (and port) of the broker's own `drs://` URIs. */
  hostname: string;
  maxBulkRequestLength: number;
  signedUrlTtlSec: number;
  compactPrefixes: Record<string, string>;
  identifiersOrgUrl: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function problemsOf(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length ? issue.path.join('.') : '(root)';
    return `${prefix}${where}: ${issue.message}`;
  });
}

const truthy = (v: string | undefined) => v === 'true' || v === '1';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (`PORT=` in an env file, `${VAR:-}` in compose) means unset, not "" (PORT=0).
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsedEnv = envSchema.safeParse(given);
  if (!parsedEnv.success) throw new ConfigError(problemsOf(parsedEnv.error, ''));
  const e = parsedEnv.data;

  let file: z.infer<typeof fileSchema> = {};
  if (e.CONFIG_FILE) {
    let text: string;
    try {
      text = readFileSync(e.CONFIG_FILE, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'the file does not exist' : `the file cannot be read (${code ?? (err as Error).message})`;
      throw new ConfigError([`CONFIG_FILE ${e.CONFIG_FILE}: ${why}; give the path of a readable YAML file`]);
    }
    let raw: unknown;
    try {
      raw = parseYaml(text);
    } catch (err) {
      throw new ConfigError([`CONFIG_FILE ${e.CONFIG_FILE}: not valid YAML: ${(err as Error).message}`]);
    }
    const parsedFile = fileSchema.safeParse(raw ?? {});
    if (!parsedFile.success) throw new ConfigError(problemsOf(parsedFile.error, `CONFIG_FILE ${e.CONFIG_FILE}: `));
    file = parsedFile.data;
  }

  const problems: string[] = [];
  const backends = file.backends ?? [];
  const ids = new Set<string>();
  for (const b of backends) {
    if (ids.has(b.id)) problems.push(`backends: the id "${b.id}" is used twice`);
    ids.add(b.id);
    const sources = [b.token, b.tokenEnv, b.tokenFile].filter(Boolean).length;
    // A WES node may be open (WESkit without OIDC); Cloudgene and DNAstack always need a secret.
    const secretOptional = b.kind === 'wes';
    if (!b.demo && (sources > 1 || (sources === 0 && !secretOptional))) {
      const what = b.kind === 'dnastack' ? "the OAuth2 client secret" : b.kind === 'wes' ? "the node's bearer token, if it needs one" : "the service's API token";
      problems.push(`backends.${b.id}: give ${secretOptional ? 'at most' : 'exactly'} one of token, tokenEnv or tokenFile (${what})`);
    }
    if (b.kind !== 'cloudgene' && b.credentials !== 'service') {
      problems.push(`backends.${b.id}: credentials "${b.credentials}" needs per-user API tokens, which only Cloudgene backends have; use "service"`);
    }
    if (b.tokenEnv && !env[b.tokenEnv]) problems.push(`backends.${b.id}: environment variable ${b.tokenEnv} is not set`);
    if (b.tokenFile) {
      try {
        accessSync(b.tokenFile, constants.R_OK);
        if (!readFileSync(b.tokenFile, 'utf8').trim()) problems.push(`backends.${b.id}: tokenFile ${b.tokenFile} is empty`);
      } catch {
        problems.push(`backends.${b.id}: tokenFile ${b.tokenFile} does not exist or cannot be read`);
      }
    }
  }

  const issuers: OidcIssuerConfig[] = [...(file.oidc?.issuers ?? [])];
  if (e.OIDC_ISSUER) issuers.push({ issuer: e.OIDC_ISSUER, ...(e.OIDC_AUDIENCE ? { audience: e.OIDC_AUDIENCE } : {}) });

  const demo = e.DEMO !== undefined ? truthy(e.DEMO) : issuers.length === 0 && backends.length === 0;
  if (!demo && issuers.length === 0) {
    problems.push('OIDC_ISSUER: set the issuer of your identity provider (or DEMO=true for the built-in dev provider)');
  }
  for (const i of issuers) {
    const secretEnv = i.passport?.tokenExchange?.clientSecretEnv;
    if (secretEnv && !env[secretEnv]) problems.push(`oidc.issuers ${i.issuer}: environment variable ${secretEnv} (token exchange client secret) is not set`);
    const introspectionEnv = i.opaqueTokens?.clientSecretEnv;
    if (introspectionEnv && !env[introspectionEnv]) problems.push(`oidc.issuers ${i.issuer}: environment variable ${introspectionEnv} (introspection client secret) is not set`);
  }
  if (!demo && backends.length === 0) {
    problems.push('backends: configure at least one backend in CONFIG_FILE (or DEMO=true for the demo simulators)');
  }
  const notifications = parseNotificationSettings(given as Record<string, string>);
  if ('problems' in notifications) problems.push(...notifications.problems);
  if (problems.length || 'problems' in notifications) throw new ConfigError(problems);

  const publicUrl = (e.PUBLIC_URL ?? file.publicUrl ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    databaseUrl: e.DATABASE_URL ?? null,
    redisUrl: e.REDIS_URL ?? null,
    dataDir: e.DATA_DIR,
    secretKey: e.SECRET_KEY ?? null,
    logLevel: e.LOG_LEVEL,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    uploadRetentionMs: e.UPLOAD_RETENTION_HOURS * 3600_000,
    demo,
    runWorker: truthy(e.WORKER),
    workerConcurrency: e.WORKER_CONCURRENCY,
    issuers,
    backends,
    policyFile: e.POLICY_FILE ?? null,
    passportTrust: file.passports ?? {},
    drs: {
      hostname: e.DRS_HOSTNAME ?? new URL(publicUrl).host,
      maxBulkRequestLength: e.DRS_MAX_BULK_REQUEST_LENGTH,
      signedUrlTtlSec: e.DRS_SIGNED_URL_TTL_SECONDS,
      compactPrefixes: file.drs?.compactPrefixes ?? {},
      identifiersOrgUrl: file.drs?.identifiersOrgUrl?.replace(/\/+$/, '') ?? null,
    },
    corsOrigins: e.CORS_ORIGINS.trim() === '*' ? '*' : e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
    notifications: notifications.settings,
    health: {
      intervalMs: e.HEALTH_CHECK_INTERVAL,
      deactivateAfterMs: e.HEALTH_DEACTIVATE_AFTER,
      slowMs: e.HEALTH_SLOW_THRESHOLD,
      historyRetentionMs: e.HEALTH_HISTORY_RETENTION,
    },
    backendsReloadMs: e.BACKENDS_RELOAD_INTERVAL,
  };
}

/** Resolves a backend's token from wherever the config says it lives. */
export function backendToken(b: BackendConfig, env: NodeJS.ProcessEnv = process.env): string | null {
  if (b.token) return b.token;
  if (b.tokenEnv) return env[b.tokenEnv] ?? null;
  if (b.tokenFile) return readFileSync(b.tokenFile, 'utf8').trim();
  return null;
}
