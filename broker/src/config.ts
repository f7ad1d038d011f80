/**
 * Configuration: environment variables plus an optional YAML file (`CONFIG_FILE`), validated
 * with zod once at start-up. Every mistake is reported with the setting's name and what would
 * be valid, and the process refuses to start, rather than failing later on a run.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const backendSchema = z.object({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'backend id must be lower-case letters, digits and dashes (e.g. "mis2")'),
  kind: z.enum(['cloudgene']),
  name: z.string().min(1),
  url: z.url({ message: 'backend url must be an absolute http(s) URL such as https://imputationserver.sph.umich.edu' }),
  /** API token. Prefer `tokenFile` or `tokenEnv` so the secret is not in the config file. */
  token: z.string().min(1).optional(),
  tokenEnv: z.string().min(1).optional(),
  tokenFile: z.string().min(1).optional(),
  appId: z.string().default('imputationserver2'),
  /** Jobs the broker lets run at once on this backend (Cloudgene default 2, TOPMed 3). */
  maxConcurrentJobs: z.number().int().min(1).max(100).default(2),
  /** First poll delay; polling backs off from here up to `maxPollIntervalMs`. */
  pollIntervalMs: z.number().int().min(100).default(10_000),
  maxPollIntervalMs: z.number().int().min(100).default(300_000),
  /** Days the backend keeps results (Cloudgene: 7). Used to warn when fetching runs late. */
  retentionDays: z.number().int().min(1).default(7),
  location: z.string().optional(),
  demo: z.boolean().default(false),
});

export type BackendConfig = z.infer<typeof backendSchema>;

const fileSchema = z
  .object({
    publicUrl: z.url().optional(),
    backends: z.array(backendSchema).optional(),
    oidc: z
      .object({
        issuers: z.array(z.object({ issuer: z.url(), audience: z.string().optional(), jwksUri: z.url().optional() })),
      })
      .optional(),
  })
  .strict();

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: z.url().optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// URL')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// or rediss:// URL')
    .optional(),
  OIDC_ISSUER: z.url().optional(),
  OIDC_AUDIENCE: z.string().optional(),
  DATA_DIR: z.string().default('.data'),
  CONFIG_FILE: z.string().optional(),
  /** 32-byte key (base64 or hex) that encrypts result passwords; generated into DATA_DIR when absent. */
  SECRET_KEY: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest accepted POST /runs body, bytes (default 20 GB). */
  MAX_UPLOAD_BYTES: z.coerce.number().int().min(1).default(20 * 1024 ** 3),
  /** Start the demo federation (simulators + dev OIDC). Defaults to on when nothing external is configured. */
  DEMO: z.enum(['true', 'false', '1', '0']).optional(),
  WORKER: z.enum(['true', 'false', '1', '0']).default('true'),
});

export interface OidcIssuerConfig {
  issuer: string;
  audience?: string;
  jwksUri?: string;
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
  demo: boolean;
  runWorker: boolean;
  /** Trusted issuers; empty in demo mode until the dev provider is up. */
  issuers: OidcIssuerConfig[];
  backends: BackendConfig[];
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
  const parsedEnv = envSchema.safeParse(env);
  if (!parsedEnv.success) throw new ConfigError(problemsOf(parsedEnv.error, ''));
  const e = parsedEnv.data;

  let file: z.infer<typeof fileSchema> = {};
  if (e.CONFIG_FILE) {
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(e.CONFIG_FILE, 'utf8'));
    } catch (err) {
      throw new ConfigError([`CONFIG_FILE ${e.CONFIG_FILE}: ${(err as Error).message}`]);
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
    if (!b.demo && sources !== 1) {
      problems.push(`backends.${b.id}: give exactly one of token, tokenEnv or tokenFile (the service's API token)`);
    }
    if (b.tokenEnv && !env[b.tokenEnv]) problems.push(`backends.${b.id}: environment variable ${b.tokenEnv} is not set`);
  }

  const issuers: OidcIssuerConfig[] = [...(file.oidc?.issuers ?? [])];
  if (e.OIDC_ISSUER) issuers.push({ issuer: e.OIDC_ISSUER, ...(e.OIDC_AUDIENCE ? { audience: e.OIDC_AUDIENCE } : {}) });

  const demo = e.DEMO !== undefined ? truthy(e.DEMO) : issuers.length === 0 && backends.length === 0;
  if (!demo && issuers.length === 0) {
    problems.push('OIDC_ISSUER: set the issuer of your identity provider (or DEMO=true for the built-in dev provider)');
  }
  if (!demo && backends.length === 0) {
    problems.push('backends: configure at least one backend in CONFIG_FILE (or DEMO=true for the demo simulators)');
  }
  if (problems.length) throw new ConfigError(problems);

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
    demo,
    runWorker: truthy(e.WORKER),
    issuers,
    backends,
  };
}

/** Resolves a backend's token from wherever the config says it lives. */
export function backendToken(b: BackendConfig, env: NodeJS.ProcessEnv = process.env): string | null {
  if (b.token) return b.token;
  if (b.tokenEnv) return env[b.tokenEnv] ?? null;
  if (b.tokenFile) return readFileSync(b.tokenFile, 'utf8').trim();
  return null;
}
