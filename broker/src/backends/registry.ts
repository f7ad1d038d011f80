/**
 * The configured backends: their adapters, the panel catalog discovered from each (kept in
 * PostgreSQL so a backend that is down at start-up still has its last known catalog), and
 * their health as seen by every call the broker makes.
 */
import type { DataSource, Repository } from 'typeorm';
import type { Adapter, BackendError, Catalog } from '@ibroker/adapters/types';
import { TERMINAL_STATES } from '@ibroker/adapters/types';
import type { BackendConfig } from '../config';
import { BackendStateEntity, RunEntity, type BackendState } from '../db/entities';
import type { Logger } from '../logging';

export interface Backend {
  config: BackendConfig;
  /** The adapter with the broker's service token. */
  adapter: Adapter;
  /** An adapter acting with another token (a user's own), when the backend allows it. */
  withToken?: (token: string) => Adapter;
}

export interface BackendView {
  id: string;
  name: string;
  kind: string;
  healthy: boolean;
  catalog: Catalog | null;
  activeRuns: number;
  maxConcurrentJobs: number;
}

/** Failures in a row before a backend counts as unhealthy: one blip is not an outage. */
const UNHEALTHY_AFTER = 2;

export class BackendRegistry {
  private readonly byId = new Map<string, Backend>();
  private readonly states: Repository<BackendState>;
  private readonly catalogs = new Map<string, { catalog: Catalog; at: number }>();

  constructor(
    private readonly ds: DataSource,
    backends: Backend[],
    private readonly log: Logger,
  ) {
    for (const b of backends) this.byId.set(b.config.id, b);
    this.states = ds.getRepository(BackendStateEntity);
  }

  list(): Backend[] {
    return [...this.byId.values()];
  }

  get(id: string): Backend | undefined {
    return this.byId.get(id);
  }

  ids(): string[] {
    return [...this.byId.keys()];
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
      }
    );
  }

  /**
   * The last known catalog (memory, else the database). Never calls the backend: requests must
   * not wait on a service that may be down. `refreshAll` keeps it fresh in the background.
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

  async refreshCatalog(id: string): Promise<Catalog | null> {
    const backend = this.byId.get(id);
    if (!backend) return null;
    try {
      const catalog = await backend.adapter.discover();
      this.catalogs.set(id, { catalog, at: Date.now() });
      const state = await this.state(id);
      await this.states.save({ ...state, catalog, catalogAt: new Date() });
      await this.recordSuccess(id, null);
      return catalog;
    } catch (err) {
      await this.recordFailure(id, err);
      return null;
    }
  }

  async refreshAll(): Promise<void> {
    await Promise.all(this.ids().map((id) => this.refreshCatalog(id)));
  }

  /** Rediscovers every catalog (which also records health) on an interval, in the background. */
  startRefreshing(everyMs: number): () => void {
    const timer = setInterval(() => {
      void this.refreshAll().catch((err) => this.log.warn({ err }, 'catalog refresh failed'));
    }, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  async probe(id: string): Promise<void> {
    const backend = this.byId.get(id);
    if (!backend) return;
    const report = await backend.adapter.health();
    if (report.ok) await this.recordSuccess(id, report.latencyMs);
    else await this.recordFailure(id, new Error(report.detail));
  }

  async recordSuccess(id: string, latencyMs: number | null): Promise<void> {
    const state = await this.state(id);
    if (!state.healthy) this.log.info({ backend: id }, 'backend is reachable again');
    await this.states.save({
      ...state,
      healthy: true,
      consecutiveFailures: 0,
      lastCheckedAt: new Date(),
      lastOkAt: new Date(),
      latencyMs: latencyMs ?? state.latencyMs,
    });
  }

  async recordFailure(id: string, err: unknown): Promise<void> {
    const state = await this.state(id);
    const failures = state.consecutiveFailures + 1;
    const healthy = failures < UNHEALTHY_AFTER;
    const message = err instanceof Error ? err.message : String(err);
    if (state.healthy && !healthy) this.log.warn({ backend: id, err: message }, 'backend marked unhealthy');
    await this.states.save({
      ...state,
      healthy,
      consecutiveFailures: failures,
      lastCheckedAt: new Date(),
      lastError: message.slice(0, 500),
    });
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

  async views(): Promise<BackendView[]> {
    return Promise.all(
      this.list().map(async (b) => {
        const state = await this.state(b.config.id);
        return {
          id: b.config.id,
          name: b.config.name,
          kind: b.config.kind,
          healthy: state.healthy,
          catalog: await this.catalog(b.config.id),
          activeRuns: await this.activeRuns(b.config.id),
          maxConcurrentJobs: b.config.maxConcurrentJobs,
        };
      }),
    );
  }
}

export function isBackendError(err: unknown): err is BackendError {
  return err instanceof Error && err.name === 'BackendError';
}
