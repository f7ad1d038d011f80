/**
 * The `backends` table (migration 0007): what the broker knows about each backend, wherever it
 * was defined (CONFIG_FILE or the admin API), minus every secret. A row is turned back into a
 * configuration by the very zod schema that checks CONFIG_FILE, so a row the schema no longer
 * accepts is reported and skipped instead of being half-used.
 */
import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { BACKEND_IDENTITY_KEYS, BACKEND_LIMIT_KEYS, BACKEND_SECRET_KEYS, backendSchema, type BackendConfig, type BackendKind } from '../config';
import { returned } from '../db/returning';

export type BackendSource = 'config' | 'admin';

export interface BackendRow {
  id: string;
  kind: BackendKind;
  name: string;
  url: string;
  location: string | null;
  /** The kind's settings: everything of the configuration but identity, limits and secrets. */
  settings: Record<string, unknown>;
  limits: Record<string, unknown>;
  /** `sha256:` + 8 hex digits of the vault secret (admin backends); null for config ones. */
  secretFingerprint: string | null;
  enabled: boolean;
  disabledAt: Date | null;
  disabledBy: string | null;
  disabledReason: string | null;
  deactivatedAt: Date | null;
  deactivatedReason: string | null;
  source: BackendSource;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

interface SqlRow {
  id: string;
  kind: BackendKind;
  name: string;
  url: string;
  location: string | null;
  settings: Record<string, unknown>;
  limits: Record<string, unknown>;
  secret_fingerprint: string | null;
  enabled: boolean;
  disabled_at: Date | null;
  disabled_by: string | null;
  disabled_reason: string | null;
  deactivated_at: Date | null;
  deactivated_reason: string | null;
  source: BackendSource;
  created_at: Date;
  updated_at: Date;
  version: number;
}

const toRow = (r: SqlRow): BackendRow => ({
  id: r.id,
  kind: r.kind,
  name: r.name,
  url: r.url,
  location: r.location,
  settings: r.settings,
  limits: r.limits,
  secretFingerprint: r.secret_fingerprint,
  enabled: r.enabled,
  disabledAt: r.disabled_at,
  disabledBy: r.disabled_by,
  disabledReason: r.disabled_reason,
  deactivatedAt: r.deactivated_at,
  deactivatedReason: r.deactivated_reason,
  source: r.source,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  version: r.version,
});

/** The columns a configuration fills: identity, limits, the kind's settings. Secrets are dropped. */
export interface BackendFields {
  id: string;
  kind: BackendKind;
  name: string;
  url: string;
  location: string | null;
  settings: Record<string, unknown>;
  limits: Record<string, unknown>;
}

const SKIPPED = new Set<string>([...BACKEND_IDENTITY_KEYS, ...BACKEND_LIMIT_KEYS, ...BACKEND_SECRET_KEYS]);

export function fieldsOf(config: BackendConfig): BackendFields {
  const entries = Object.entries(config).filter(([, v]) => v !== undefined);
  return {
    id: config.id,
    kind: config.kind,
    name: config.name,
    url: config.url,
    location: config.location ?? null,
    settings: Object.fromEntries(entries.filter(([k]) => !SKIPPED.has(k))),
    limits: Object.fromEntries(entries.filter(([k]) => (BACKEND_LIMIT_KEYS as readonly string[]).includes(k))),
  };
}

/** The configuration a row stands for (without its secret), checked by the config file's schema. */
export function configOf(row: Pick<BackendRow, keyof BackendFields>): { ok: true; config: BackendConfig } | { ok: false; problems: string[] } {
  const parsed = backendSchema.safeParse({
    ...row.settings,
    ...row.limits,
    id: row.id,
    kind: row.kind,
    name: row.name,
    url: row.url,
    ...(row.location !== null ? { location: row.location } : {}),
  });
  if (parsed.success) return { ok: true, config: parsed.data };
  return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
}

/** What an adapter is built from; two rows with the same hash need no rebuild. */
export function buildHash(row: Pick<BackendRow, keyof BackendFields | 'secretFingerprint'>): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, canonical(x)]))
        : v;
  const { id, kind, name, url, location, settings, limits, secretFingerprint } = row;
  return createHash('sha256').update(JSON.stringify(canonical({ id, kind, name, url, location, settings, limits, secretFingerprint }))).digest('hex');
}

/** Raised when an admin create names an id that exists. */
export class DuplicateBackendError extends Error {
  constructor(readonly id: string) {
    super(`a backend with id "${id}" exists already`);
    this.name = 'DuplicateBackendError';
  }
}

const COLUMNS = `id, kind, name, url, location, settings, limits, secret_fingerprint, enabled, disabled_at, disabled_by, disabled_reason,
  deactivated_at, deactivated_reason, source, created_at, updated_at, version`;

/** Who disabled a backend that disappeared from CONFIG_FILE (so that putting it back enables it again). */
export const DISABLED_BY_CONFIG = 'config';

export class BackendStore {
  constructor(private readonly ds: DataSource) {}

  async list(ids?: readonly string[]): Promise<BackendRow[]> {
    const rows = (await this.ds.query(
      `SELECT ${COLUMNS} FROM backends WHERE $1::text[] IS NULL OR id = ANY($1::text[]) ORDER BY created_at, id`,
      [ids ? [...ids] : null],
    )) as SqlRow[];
    return rows.map(toRow);
  }

  async get(id: string): Promise<BackendRow | null> {
    return (await this.list([id]))[0] ?? null;
  }

  /** Every row's version: a replica compares them with what it holds and reloads the changed ones. */
  async versions(): Promise<Map<string, number>> {
    const rows = (await this.ds.query(`SELECT id, version FROM backends`)) as { id: string; version: number }[];
    return new Map(rows.map((r) => [r.id, r.version]));
  }

  /**
   * Writes the configured backends (`source = 'config'`). A row that does not change keeps its
   * version (the trigger compares), so replicas starting with the same file rebuild nothing. An
   * administrator's switch (`enabled`) survives; a backend no longer in the file is disabled,
   * and enabled again when it comes back. Answers the ids an admin had created that the file now
   * defines (the file wins).
   */
  async upsertConfigured(configs: readonly BackendConfig[]): Promise<string[]> {
    return this.ds.transaction(async (m) => {
      // One writer at a time: replicas starting together would otherwise disable each other's rows.
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('backends:config'))`);
      const taken: string[] = [];
      for (const config of configs) {
        const f = fieldsOf(config);
        const res = await m.query(
          `WITH before AS (SELECT source FROM backends WHERE id = $1)
           INSERT INTO backends (id, kind, name, url, location, settings, limits, source)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'config')
           ON CONFLICT (id) DO UPDATE SET
             kind = EXCLUDED.kind, name = EXCLUDED.name, url = EXCLUDED.url, location = EXCLUDED.location,
             settings = EXCLUDED.settings, limits = EXCLUDED.limits, source = 'config', secret_fingerprint = NULL,
             enabled = backends.enabled OR COALESCE(backends.disabled_by = $8, false),
             disabled_at = CASE WHEN backends.disabled_by = $8 THEN NULL ELSE backends.disabled_at END,
             disabled_reason = CASE WHEN backends.disabled_by = $8 THEN NULL ELSE backends.disabled_reason END,
             disabled_by = CASE WHEN backends.disabled_by = $8 THEN NULL ELSE backends.disabled_by END
           RETURNING (SELECT source FROM before) AS was`,
          [f.id, f.kind, f.name, f.url, f.location, JSON.stringify(f.settings), JSON.stringify(f.limits), DISABLED_BY_CONFIG],
        );
        if (returned<{ was: BackendSource | null }>(res)[0]?.was === 'admin') taken.push(f.id);
      }
      await m.query(
        `UPDATE backends SET enabled = false, disabled_at = now(), disabled_by = $2, disabled_reason = 'no longer in the configuration file'
          WHERE source = 'config' AND enabled AND NOT (id = ANY($1::text[]))`,
        [configs.map((c) => c.id), DISABLED_BY_CONFIG],
      );
      return taken;
    });
  }

  async insertAdmin(fields: BackendFields, secretFingerprint: string | null, enabled: boolean, actor: string): Promise<BackendRow> {
    try {
      const rows = (await this.ds.query(
        `INSERT INTO backends (id, kind, name, url, location, settings, limits, secret_fingerprint, source, enabled, disabled_at, disabled_by, disabled_reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'admin', $9,
                 CASE WHEN $9 THEN NULL ELSE now() END, CASE WHEN $9 THEN NULL ELSE $10 END, CASE WHEN $9 THEN NULL ELSE 'created disabled' END)
         RETURNING ${COLUMNS}`,
        [fields.id, fields.kind, fields.name, fields.url, fields.location, JSON.stringify(fields.settings), JSON.stringify(fields.limits), secretFingerprint, enabled, actor],
      )) as SqlRow[];
      return toRow(rows[0]!);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new DuplicateBackendError(fields.id);
      throw err;
    }
  }

  /** Replaces an admin backend's fields; null when `expectedVersion` is given and is not the row's. */
  async updateAdmin(fields: BackendFields, secretFingerprint: string | null, expectedVersion: number | null): Promise<BackendRow | null> {
    const res = await this.ds.query(
      `UPDATE backends SET kind = $2, name = $3, url = $4, location = $5, settings = $6, limits = $7, secret_fingerprint = $8
        WHERE id = $1 AND source = 'admin' AND ($9::int IS NULL OR version = $9)
        RETURNING ${COLUMNS}`,
      [fields.id, fields.kind, fields.name, fields.url, fields.location, JSON.stringify(fields.settings), JSON.stringify(fields.limits), secretFingerprint, expectedVersion],
    );
    const row = returned<SqlRow>(res)[0];
    return row ? toRow(row) : null;
  }

  async remove(id: string): Promise<void> {
    await this.ds.query(`DELETE FROM backends WHERE id = $1`, [id]);
  }

  /**
   * Disables (no new runs) or enables a backend. Enabling also lifts a deactivation and starts
   * the outage clock again, so the health monitor does not deactivate it on its next failure.
   */
  async setEnabled(id: string, enabled: boolean, actor: string, reason: string | null): Promise<BackendRow | null> {
    return this.ds.transaction(async (m) => {
      const res = await m.query(
        enabled
          ? `UPDATE backends SET enabled = true, disabled_at = NULL, disabled_by = NULL, disabled_reason = NULL,
               deactivated_at = NULL, deactivated_reason = NULL WHERE id = $1 RETURNING ${COLUMNS}`
          : `UPDATE backends SET enabled = false, disabled_at = CASE WHEN enabled THEN now() ELSE disabled_at END, disabled_by = $2, disabled_reason = $3
              WHERE id = $1 RETURNING ${COLUMNS}`,
        enabled ? [id] : [id, actor, reason],
      );
      const row = returned<SqlRow>(res)[0];
      if (row && enabled) {
        await m.query(`UPDATE backend_states SET failing_since = NULL, consecutive_failures = 0, healthy = true, next_check_at = NULL WHERE id = $1`, [id]);
      }
      return row ? toRow(row) : null;
    });
  }

  /** The health monitor's switch; true only for the one call that deactivated it. */
  async deactivate(id: string, reason: string, at: Date): Promise<boolean> {
    const res = await this.ds.query(
      `UPDATE backends SET deactivated_at = $2, deactivated_reason = $3 WHERE id = $1 AND enabled AND deactivated_at IS NULL RETURNING id`,
      [id, at, reason],
    );
    return returned(res).length === 1;
  }
}
