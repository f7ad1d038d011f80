/**
 * The backends this replica can call: their adapters, the panel catalog discovered from each
 * (kept in PostgreSQL so a backend that is down at start-up still has its last known catalog),
 * their health as seen by every call the broker makes, and the switches in the `backends` table.
 *
 * The table is the shared truth of every replica. `sync()` writes the configured backends into
 * it and loads all of them; `reload()` (every BACKENDS_RELOAD_INTERVAL) compares each row's
 * `version` with what this replica holds and rebuilds only the adapters whose settings or
 * secret changed; a switch (enabled, deactivated) changes the row but not the adapter.
 *
 * Disabled and deactivated backends stay here (`get`, `list`): runs already on them are still
 * followed. Only `views()` says which ones take new runs.
 */
import type { DataSource, Repository } from 'typeorm';
import type { Adapter, BackendError, Catalog } from '@ibroker/adapters/types';
import { TERMINAL_STATES } from '@ibroker/adapters/types';
import type { BackendConfig } from '../config';
import { BackendStateEntity, RunEntity, type BackendState } from '../db/entities';
import { returned } from '../db/returning';
import type { Logger } from '../logging';
import { CredentialError, fingerprintOf, type Vault } from '../vault/vault';
import { buildBackend } from './build';
import { BackendStore, buildHash, configOf, type BackendRow, type BackendSource } from './store';

export interface Backend {
  config: BackendConfig;
  /** The adapter with the broker's service token. */
  adapter: Adapter;
  /** An adapter acting with another token (a user's own), when the backend allows it. */
  withToken?: (token: string) => Adapter;
}

/** A backend's row in the `backends` table, as far as anyone but the registry needs it. */
export interface BackendMeta {
  source: BackendSource;
  /** False when an administrator switched it off (or it left CONFIG_FILE): no new runs. */
  enabled: boolean;
  disabledAt: Date | null;
  disabledBy: string | null;
  disabledReason: string | null;
  /** Set when the health monitor took it out of service after a long outage. */
  deactivatedAt: Date | null;
  deactivatedReason: string | null;
  /** The row's version (0: not in the table, e.g. a registry never synced). */
  version: number;
  createdAt: Date | null;
  updatedAt: Date | null;
  /** Whether the backend has a secret (from CONFIG_FILE or the vault); never the secret. */
  secretConfigured: boolean;
}

export interface BackendView {
  id: string;
  name: string;
  kind: string;
  healthy: boolean;
  catalog: Catalog | null;
  activeRuns: number;
  /** Runs routed there that wait for a job slot (not yet submitted). */
  queuedRuns: number;
  maxConcurrentJobs: number;
  /** Failures in a row of calls and probes (0 after any success). */
  consecutiveFailures: number;
  /** Failed health probes in the last hour. */
  recentFailures: number;
  /** False: switched off by an administrator; never a candidate for new runs. */
  enabled: boolean;
  /** True: deactivated by the health monitor; never a candidate for new runs. */
  deactivated: boolean;
}

export interface RegistryOptions {
  /** Builds the adapter of a backend defined through the admin API (default: buildBackend). */
  build?: (config: BackendConfig) => Backend;
  /** Where admin backends' secrets are sealed (service-account credentials). */
  vault?: Vault;
}

interface Entry {
  backend: Backend;
  meta: BackendMeta;
  /** What the adapter was built from (admin rows); a changed hash means a rebuild. */
  hash: string | null;
}

/** Failures in a row before a backend counts as unhealthy: one blip is not an outage. */
const UNHEALTHY_AFTER = 2;

const DEFAULT_META: BackendMeta = {
  source: 'config',
  enabled: true,
  disabledAt: null,
  disabledBy: null,
  disabledReason: null,
  deactivatedAt: null,
  deactivatedReason: null,
  version: 0,
  createdAt: null,
  updatedAt: null,
  secretConfigured: false,
};

const hasConfiguredSecret = (c: BackendConfig) => Boolean(c.token || c.tokenEnv || c.tokenFile);

function metaOf(row: BackendRow, secretConfigured: boolean): BackendMeta {
  return {
    source: row.source,
    enabled: row.enabled,
    disabledAt: row.disabledAt,
    disabledBy: row.disabledBy,
    disabledReason: row.disabledReason,
    deactivatedAt: row.deactivatedAt,
    deactivatedReason: row.deactivatedReason,
    version: row.version,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    secretConfigured,
  };
}

export class BackendRegistry {
  readonly store: BackendStore;
  private readonly entries = new Map<string, Entry>();
  /** The backends of CONFIG_FILE (and the demo) with their adapters, as this replica was started. */
  private readonly configured = new Map<string, Backend>();
  private readonly states: Repository<BackendState>;
  private readonly catalogs = new Map<string, { catalog: Catalog; at: number }>();
  /** Rows that could not be built, by version: warned about once, tried again on every reload. */
  private readonly broken = new Map<string, number>();
  private synced = false;
  private reloading: Promise<void> | null = null;

  constructor(
    private readonly ds: DataSource,
    backends: Backend[],
    private readonly log: Logger,
    private readonly options: RegistryOptions = {},
  ) {
    for (const b of backends) {
      this.configured.set(b.config.id, b);
      this.entries.set(b.config.id, { backend: b, meta: { ...DEFAULT_META, secretConfigured: hasConfiguredSecret(b.config) }, hash: null });
    }
    this.states = ds.getRepository(BackendStateEntity);
    this.store = new BackendStore(ds);
  }

  /** Every backend this replica can call, disabled and deactivated ones included. */
  list(): Backend[] {
    return [...this.entries.values()].map((e) => e.backend);
  }

  get(id: string): Backend | undefined {
    return this.entries.get(id)?.backend;
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  meta(id: string): BackendMeta | undefined {
    const m = this.entries.get(id)?.meta;
    return m ? { ...m } : undefined;
  }

  /** May new runs go there? (Known, enabled, not deactivated.) */
  usable(id: string): boolean {
    const m = this.entries.get(id)?.meta;
    return m !== undefined && m.enabled && m.deactivatedAt === null;
  }

  /**
   * Writes the configured backends into the `backends` table and loads every row, admin-created
   * ones included. Called once at start-up; `reload` keeps up afterwards.
   */
  async sync(): Promise<void> {
    const taken = await this.store.upsertConfigured([...this.configured.values()].map((b) => b.config));
    for (const id of taken) this.log.warn({ backend: id }, 'CONFIG_FILE defines a backend an administrator had created; the file wins');
    this.synced = true;
    this.entries.clear();
    await this.reload();
  }

  /**
   * Picks up what other replicas (or this one) changed: rows whose version differs from the one
   * held here are read again; adapters are rebuilt only when what they are built from changed.
   * Catalogs another replica discovered replace the cached ones. Concurrent calls share one run.
   */
  reload(): Promise<void> {
    this.reloading ??= this.doReload().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async doReload(): Promise<void> {
    if (!this.synced) return;
    const versions = await this.store.versions();
    const changed = [...versions].filter(([id, v]) => this.entries.get(id)?.meta.version !== v).map(([id]) => id);
    const rows = changed.length ? await this.store.list(changed) : [];
    for (const row of rows) await this.load(row);
    for (const id of this.entries.keys()) if (!versions.has(id)) this.entries.delete(id);
    // Keep the configuration's order first (routing breaks ties by it), then admin backends by age.
    const order = [...this.configured.keys()];
    const sorted = [...this.entries].sort(([a, ea], [b, eb]) => {
      const ia = order.indexOf(a);
      const ib = order.indexOf(b);
      if (ia !== -1 || ib !== -1) return (ia === -1 ? Infinity : ia) - (ib === -1 ? Infinity : ib);
      return (ea.meta.createdAt?.getTime() ?? 0) - (eb.meta.createdAt?.getTime() ?? 0) || (a < b ? -1 : 1);
    });
    this.entries.clear();
    for (const [id, e] of sorted) this.entries.set(id, e);
    await this.reloadCatalogs();
  }

  private async load(row: BackendRow): Promise<void> {
    const existing = this.entries.get(row.id);
    if (row.source === 'config') {
      // A config backend's secret is in this replica's own CONFIG_FILE; without it, it cannot be called from here.
      const configured = this.configured.get(row.id);
      if (!configured) {
        if (this.broken.get(row.id) !== row.version) {
          this.log.warn({ backend: row.id }, 'a backend from another replica\'s CONFIG_FILE is not configured here; this replica does not use it');
          this.broken.set(row.id, row.version);
        }
        this.entries.delete(row.id);
        return;
      }
      this.entries.set(row.id, { backend: configured, meta: metaOf(row, hasConfiguredSecret(configured.config)), hash: null });
      return;
    }
    const hash = buildHash(row);
    const meta = metaOf(row, row.secretFingerprint !== null);
    if (existing && existing.hash === hash) {
      this.entries.set(row.id, { ...existing, meta });
      return;
    }
    const built = await this.build(row);
    if (built) {
      this.broken.delete(row.id);
      this.entries.set(row.id, { backend: built, meta, hash });
      if (existing) this.log.info({ backend: row.id, version: row.version }, 'backend settings changed; adapter rebuilt');
    } else if (existing) {
      // Keep following runs with the adapter that worked; the next reload tries again.
      this.entries.set(row.id, { ...existing, meta: { ...meta, version: existing.meta.version } });
    }
  }

  /** An admin backend's adapter, its secret opened from the vault; null (and one warning) when it cannot be built. */
  private async build(row: BackendRow): Promise<Backend | null> {
    const warn = (reason: string) => {
      if (this.broken.get(row.id) === row.version) return;
      this.broken.set(row.id, row.version);
      this.log.error({ backend: row.id, version: row.version, reason }, 'backend cannot be used on this replica');
    };
    const parsed = configOf(row);
    if (!parsed.ok) {
      warn(`its stored settings are not valid: ${parsed.problems.join('; ')}`);
      return null;
    }
    const config: BackendConfig = { ...parsed.config };
    if (row.secretFingerprint !== null) {
      if (!this.options.vault) {
        warn('its secret is in the credential vault, which this replica does not have');
        return null;
      }
      let secret: string;
      try {
        secret = (await this.options.vault.resolve(null, row.id, 'service')).secret.reveal();
      } catch (err) {
        // Written just after the row: another replica's change may be half-way through.
        if (err instanceof CredentialError && err.code === 'missing') return null;
        warn(err instanceof CredentialError ? err.message : `the credential vault failed: ${(err as Error).message}`);
        return null;
      }
      // The row names the secret it expects; until the vault has that one, keep what works.
      if (fingerprintOf(secret) !== row.secretFingerprint) return null;
      config.token = secret;
    }
    try {
      return (this.options.build ?? buildBackend)(config);
    } catch (err) {
      warn((err as Error).message);
      return null;
    }
  }

  private async reloadCatalogs(): Promise<void> {
    const rows = (await this.ds.query(`SELECT id, catalog_at FROM backend_states WHERE catalog_at IS NOT NULL`)) as { id: string; catalog_at: Date }[];
    for (const r of rows) {
      const cached = this.catalogs.get(r.id);
      if (cached && cached.at < r.catalog_at.getTime()) this.catalogs.delete(r.id);
    }
  }

  /** Reloads every `everyMs` in the background; returns the stop function. */
  startReloading(everyMs: number): () => void {
    const timer = setInterval(() => {
      void this.reload().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'backend reload failed'));
    }, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  async state(id: string): Promise<BackendState> {
    return (
      (await this.states.findOneBy({ id })) ?? {
        id,
        healthy: true,
        consecutiveFailures: 0,
        lastCheckedAt: null,
        lastOkAt: null,
        lastError: null,
        latencyMs: null,
        catalog: null,
        catalogAt: null,
        failingSince: null,
        nextCheckAt: null,
      }
    );
  }

  /**
   * The last known catalog (memory, else the database). Never calls the backend: requests must
   * not wait on a service that may be down. The health monitor keeps it fresh in the background.
   */
  async catalog(id: string): Promise<Catalog | null> {
    const cached = this.catalogs.get(id);
    if (cached) return cached.catalog;
    const stored = await this.state(id);
    if (!stored.catalog) return null;
    const catalog = stored.catalog as Catalog;
    this.catalogs.set(id, { catalog, at: stored.catalogAt?.getTime() ?? 0 });
    return catalog;
  }

  /**
   * Rediscovers a backend's catalog and stores it. `record: false` leaves health alone (the
   * monitor has just recorded its probe); `throwOnError` lets the admin sync route say why.
   */
  async refreshCatalog(id: string, o: { record?: boolean; throwOnError?: boolean } = {}): Promise<Catalog | null> {
    const backend = this.get(id);
    if (!backend) return null;
    const record = o.record ?? true;
    try {
      const catalog = await backend.adapter.discover();
      const at = new Date();
      this.catalogs.set(id, { catalog, at: at.getTime() });
      await this.ds.query(
        `INSERT INTO backend_states (id, catalog, catalog_at) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET catalog = EXCLUDED.catalog, catalog_at = EXCLUDED.catalog_at`,
        [id, JSON.stringify(catalog), at],
      );
      if (record) await this.recordSuccess(id, null);
      return catalog;
    } catch (err) {
      if (record) await this.recordFailure(id, err);
      else this.log.warn({ backend: id, err: (err as Error).message }, 'catalog discovery failed');
      if (o.throwOnError) throw err;
      return null;
    }
  }

  /** Rediscovers the catalog of every backend that takes runs (start-up). */
  async refreshAll(): Promise<void> {
    await Promise.all(this.ids().filter((id) => this.usable(id)).map((id) => this.refreshCatalog(id)));
  }

  /** A health probe outside the monitor's schedule (tests, tools). */
  async probe(id: string): Promise<void> {
    const backend = this.get(id);
    if (!backend) return;
    const report = await backend.adapter.health();
    if (report.ok) await this.recordSuccess(id, report.latencyMs);
    else await this.recordFailure(id, new Error(report.detail));
  }

  /** A call went through: the outage, if any, is over. One atomic statement, whichever replica. */
  async recordSuccess(id: string, latencyMs: number | null, at: Date = new Date()): Promise<void> {
    const res = await this.ds.query(
      `WITH before AS (SELECT healthy FROM backend_states WHERE id = $1)
       INSERT INTO backend_states (id, healthy, consecutive_failures, last_checked_at, last_ok_at, latency_ms, failing_since)
       VALUES ($1, true, 0, $2, $2, $3, NULL)
       ON CONFLICT (id) DO UPDATE SET healthy = true, consecutive_failures = 0, last_checked_at = $2, last_ok_at = $2,
         latency_ms = COALESCE($3, backend_states.latency_ms), failing_since = NULL
       RETURNING (SELECT healthy FROM before) AS was_healthy`,
      [id, at, latencyMs],
    );
    if (returned<{ was_healthy: boolean | null }>(res)[0]?.was_healthy === false) this.log.info({ backend: id }, 'backend is reachable again');
  }

  /** A call failed for the backend's sake: count it; the outage starts at the first failure. */
  async recordFailure(id: string, err: unknown, at: Date = new Date()): Promise<void> {
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 500);
    const res = await this.ds.query(
      `WITH before AS (SELECT healthy FROM backend_states WHERE id = $1)
       INSERT INTO backend_states (id, healthy, consecutive_failures, last_checked_at, last_error, failing_since)
       VALUES ($1, 1 < $4, 1, $2, $3, $2)
       ON CONFLICT (id) DO UPDATE SET consecutive_failures = backend_states.consecutive_failures + 1,
         healthy = backend_states.consecutive_failures + 1 < $4, last_checked_at = $2, last_error = $3,
         failing_since = COALESCE(backend_states.failing_since, $2)
       RETURNING healthy, (SELECT healthy FROM before) AS was_healthy`,
      [id, at, message, UNHEALTHY_AFTER],
    );
    const row = returned<{ healthy: boolean; was_healthy: boolean | null }>(res)[0];
    if (row && !row.healthy && row.was_healthy !== false) this.log.warn({ backend: id, err: message }, 'backend marked unhealthy');
  }

  /** Runs holding (or about to hold) one of the backend's job slots. */
  async activeRuns(id: string): Promise<number> {
    return this.ds
      .getRepository(RunEntity)
      .createQueryBuilder('r')
      .where('r.backend_id = :id', { id })
      .andWhere('r.submit_intent_at IS NOT NULL')
      .andWhere('r.state NOT IN (:...terminal)', { terminal: [...TERMINAL_STATES] })
      .getCount();
  }

  /** Every backend with what routing needs; `enabled`/`deactivated` say which may take new runs. */
  async views(): Promise<BackendView[]> {
    // One query each for the run counts and the probe history of all backends.
    const [counts, probes] = await Promise.all([
      this.ds.query(
        `SELECT backend_id, count(*) FILTER (WHERE submit_intent_at IS NOT NULL)::int AS active,
                count(*) FILTER (WHERE submit_intent_at IS NULL)::int AS queued
           FROM runs WHERE backend_id IS NOT NULL AND state <> ALL($1::text[]) GROUP BY backend_id`,
        [[...TERMINAL_STATES]],
      ) as Promise<{ backend_id: string; active: number; queued: number }[]>,
      this.ds.query(
        `SELECT backend_id, count(*)::int AS failed FROM backend_health
          WHERE NOT ok AND at > now() - interval '1 hour' GROUP BY backend_id`,
      ) as Promise<{ backend_id: string; failed: number }[]>,
    ]);
    const load = new Map(counts.map((r) => [r.backend_id, r]));
    const failed = new Map(probes.map((r) => [r.backend_id, r.failed]));
    return Promise.all(
      [...this.entries.values()].map(async ({ backend: b, meta }) => {
        const state = await this.state(b.config.id);
        return {
          id: b.config.id,
          name: b.config.name,
          kind: b.config.kind,
          healthy: state.healthy,
          catalog: await this.catalog(b.config.id),
          activeRuns: load.get(b.config.id)?.active ?? 0,
          queuedRuns: load.get(b.config.id)?.queued ?? 0,
          maxConcurrentJobs: b.config.maxConcurrentJobs,
          consecutiveFailures: state.consecutiveFailures,
          recentFailures: failed.get(b.config.id) ?? 0,
          enabled: meta.enabled,
          deactivated: meta.deactivatedAt !== null,
        };
      }),
    );
  }

  /** Takes in a row this replica just wrote (admin API), without waiting for the next reload. */
  async apply(row: BackendRow): Promise<void> {
    await this.load(row);
  }
}

export function isBackendError(err: unknown): err is BackendError {
  return err instanceof Error && err.name === 'BackendError';
}
