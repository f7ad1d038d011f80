/**
 * What the admin API does to the registry: create, change, disable, enable. Each change is one
 * write to the `backends` table (the version trigger tells every replica), a secret goes to the
 * vault as the backend's service-account credential, and this replica takes the new row in at
 * once. Errors are ApiErrors a person can act on; none contains a secret.
 */
import { decodeJwt } from 'jose';
import { ADMIN_REFUSED_KEYS, adminBackendSchema, type BackendConfig, type BackendKind } from '../config';
import { ApiError, badRequest, notFound } from '../http/errors';
import { fingerprintOf, type CredentialKind, type Vault } from '../vault/vault';
import { buildBackend } from './build';
import type { BackendRegistry } from './registry';
import { configOf, DuplicateBackendError, fieldsOf, type BackendFields, type BackendRow } from './store';

export interface AdminContext {
  registry: BackendRegistry;
  vault?: Vault;
  /** Who is acting, for `disabled_by` (`subject (issuer)`). */
  actor: string;
}

export interface ChangeResult {
  row: BackendRow;
  /** Names of the settings that changed (never their values). */
  changed: string[];
  secretChanged: boolean;
}

const SECRET_WORDS: Record<BackendKind, string> = {
  cloudgene: "the service's API token (created in its web profile)",
  wes: "the node's bearer token, if it needs one",
  dnastack: 'the OAuth2 client secret of clientId',
};
const CREDENTIAL_KIND: Record<BackendKind, CredentialKind> = { cloudgene: 'api_token', wes: 'api_token', dnastack: 'oauth_client' };
const MAX_SECRET = 16_384;

/** Every problem zod found, `field: what would be valid`, in one message. */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const lines = issues.slice(0, 10).map((i) => `${i.path.map(String).join('.') || 'body'}: ${i.message}`);
  return [...new Set(lines)].join('; ') + (issues.length > 10 ? `; and ${issues.length - 10} more` : '');
}

function refuseKeys(body: Record<string, unknown>): void {
  for (const key of ADMIN_REFUSED_KEYS) {
    if (!(key in body)) continue;
    throw badRequest(
      key === 'demo'
        ? 'demo: reserved for the built-in simulators; a backend created through the admin API is a real service'
        : `${key}: tokenEnv and tokenFile are for CONFIG_FILE only; give the secret itself as token (it is sealed in the credential vault and never shown again)`,
    );
  }
}

function checkSecret(token: unknown): string | undefined {
  if (token === undefined) return undefined;
  if (typeof token !== 'string' || !token.trim() || token.length > MAX_SECRET) {
    throw badRequest(`token: give the secret as a string of 1 to ${MAX_SECRET} characters`);
  }
  try {
    const { exp } = decodeJwt(token.trim());
    if (typeof exp === 'number' && exp * 1000 <= Date.now()) {
      throw badRequest(`token: this token expired on ${new Date(exp * 1000).toISOString()}; create a new one at the service`);
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // Not a JWT: nothing to read from it.
  }
  return token.trim();
}

function checkRules(config: BackendConfig, hasSecret: boolean): void {
  if (config.kind !== 'wes' && !hasSecret) throw badRequest(`token: required for a ${config.kind} backend: ${SECRET_WORDS[config.kind]}`);
  if (config.kind !== 'cloudgene' && (config.credentials ?? 'service') !== 'service') {
    throw badRequest(`credentials: "${config.credentials}" needs per-user API tokens, which only Cloudgene backends have; use "service"`);
  }
  // What the schema cannot see (a WES node's workflow), the adapter itself refuses: ask it now,
  // with a stand-in secret, rather than store a backend no replica can build.
  try {
    buildBackend({ ...config, ...(hasSecret ? { token: 'stand-in' } : {}) });
  } catch (err) {
    throw badRequest(`settings: ${(err as Error).message}`);
  }
}

async function storeSecret(ctx: AdminContext, id: string, kind: BackendKind, secret: string): Promise<void> {
  if (!ctx.vault) throw new ApiError(503, 'The credential vault is not enabled on this broker, so a backend secret cannot be stored.');
  await ctx.vault.put({ owner: null, backendId: id, kind: CREDENTIAL_KIND[kind], secret, label: `service account of backend ${id}` });
}

const known = (registry: BackendRegistry) => registry.ids().join(', ') || '(none)';

/** POST /api/v1/admin/backends. */
export async function createBackend(ctx: AdminContext, body: unknown): Promise<ChangeResult> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body: a JSON object describing the backend, as in CONFIG_FILE');
  refuseKeys(body as Record<string, unknown>);
  const parsed = adminBackendSchema.safeParse(body);
  if (!parsed.success) throw badRequest(describeIssues(parsed.error.issues));
  const { enabled, token: given, ...rest } = parsed.data;
  const secret = checkSecret(given);
  const config = { ...rest, demo: false } as BackendConfig;
  checkRules(config, secret !== undefined);
  let row: BackendRow;
  try {
    row = await ctx.registry.store.insertAdmin(fieldsOf(config), secret ? fingerprintOf(secret) : null, enabled ?? true, ctx.actor);
  } catch (err) {
    if (err instanceof DuplicateBackendError) throw new ApiError(409, `id: a backend "${config.id}" exists already; change it with PATCH /api/v1/admin/backends/${config.id} or choose another id`);
    throw err;
  }
  if (secret) {
    try {
      await storeSecret(ctx, config.id, config.kind, secret);
    } catch (err) {
      await ctx.registry.store.remove(config.id);
      throw err;
    }
  }
  await ctx.registry.apply(row);
  if (ctx.registry.usable(row.id)) void ctx.registry.refreshCatalog(row.id);
  return { row, changed: Object.keys(rest), secretChanged: secret !== undefined };
}

/** The row as a plain settings object (what PATCH merges into); the schema checks the result. */
function plainOf(row: BackendRow): Record<string, unknown> {
  const settings = Object.fromEntries(Object.entries(row.settings).filter(([k]) => !(ADMIN_REFUSED_KEYS as readonly string[]).includes(k)));
  return { ...settings, ...row.limits, id: row.id, kind: row.kind, name: row.name, url: row.url, ...(row.location !== null ? { location: row.location } : {}) };
}

/** PATCH /api/v1/admin/backends/{id}: JSON merge patch (RFC 7396) of an admin backend's settings. */
export async function updateBackend(ctx: AdminContext, id: string, body: unknown, expectedVersion: number | null): Promise<ChangeResult> {
  const row = await ctx.registry.store.get(id);
  if (!row) throw notFound(`No such backend on this broker. Backends: ${known(ctx.registry)}.`);
  if (row.source === 'config') {
    throw new ApiError(
      409,
      `Backend ${id} is defined in CONFIG_FILE: change it there (the file wins at every start). The admin API can only disable, enable and sync it.`,
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body: a JSON object with the settings to change (null removes an optional one)');
  const patch = body as Record<string, unknown>;
  refuseKeys(patch);
  if ('id' in patch && patch.id !== id) throw badRequest(`id: a backend's id cannot be changed; create a new backend instead`);
  if ('kind' in patch && patch.kind !== row.kind) throw badRequest(`kind: a backend's kind cannot be changed (it is ${row.kind}); create a new backend instead`);
  if ('enabled' in patch) throw badRequest(`enabled: use POST /api/v1/admin/backends/${id}/enable or /disable`);
  const { token: tokenPatch, ...settingsPatch } = patch;
  const secret = tokenPatch === null ? null : checkSecret(tokenPatch);

  const merged = plainOf(row);
  for (const [key, value] of Object.entries(settingsPatch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  const parsed = adminBackendSchema.safeParse(merged);
  if (!parsed.success) throw badRequest(describeIssues(parsed.error.issues));
  const { enabled: _enabled, token: _token, ...rest } = parsed.data;
  const config = { ...rest, demo: false } as BackendConfig;
  const fingerprint = secret === null ? null : secret !== undefined ? fingerprintOf(secret) : row.secretFingerprint;
  checkRules(config, fingerprint !== null);

  const fields: BackendFields = fieldsOf(config);
  const before = configOf(row);
  const updated = await ctx.registry.store.updateAdmin(fields, fingerprint, expectedVersion);
  if (!updated) {
    const now = await ctx.registry.store.get(id);
    if (!now) throw notFound(`No such backend on this broker (it was removed meanwhile).`);
    throw new ApiError(412, `Backend ${id} is at version ${now.version}, not ${expectedVersion}: someone changed it meanwhile. Read it again and repeat your change.`);
  }
  try {
    if (secret) await storeSecret(ctx, id, config.kind, secret);
    else if (secret === null && row.secretFingerprint !== null) await ctx.vault?.delete(null, id);
  } catch (err) {
    // Put the row back as it was, so no replica waits for a secret that never came.
    await ctx.registry.store.updateAdmin({ ...fieldsOf(before.ok ? before.config : config) }, row.secretFingerprint, null);
    throw err;
  }
  await ctx.registry.apply(updated);
  const old = plainOf(row);
  const now = plainOf(updated);
  const changed = [...new Set([...Object.keys(old), ...Object.keys(now)])].filter((k) => JSON.stringify(old[k]) !== JSON.stringify(now[k])).sort();
  if (ctx.registry.usable(id) && changed.length) void ctx.registry.refreshCatalog(id);
  return { row: updated, changed, secretChanged: secret !== undefined };
}

/** POST /api/v1/admin/backends/{id}/disable and /enable. */
export async function switchBackend(ctx: AdminContext, id: string, enabled: boolean, reason: string | null): Promise<ChangeResult> {
  const row = await ctx.registry.store.setEnabled(id, enabled, ctx.actor, reason);
  if (!row) throw notFound(`No such backend on this broker. Backends: ${known(ctx.registry)}.`);
  await ctx.registry.apply(row);
  if (enabled) void ctx.registry.refreshCatalog(id);
  return { row, changed: ['enabled'], secretChanged: false };
}
