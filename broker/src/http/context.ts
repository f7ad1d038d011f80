import type { Hono, MiddlewareHandler } from 'hono';
import type { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import type { BackendRegistry } from '../backends/registry';
import type { FsBlobStore } from '../blobs/store';
import type { Config } from '../config';
import type { Logger } from '../logging';
import type { Metrics } from '../metrics';
import type { RunService } from '../runs/service';
import type { Urls } from '../wes/views';

/** Everything a route may use, injected so tests build the app from real parts. */
export interface AppDeps {
  config: Config;
  ds: DataSource;
  runs: RunService;
  registry: BackendRegistry;
  blobs: FsBlobStore;
  metrics: Metrics;
  log: Logger;
  urls: Urls;
  /** Bearer-token middleware; sets `principal`. */
  authenticate: MiddlewareHandler<AppEnv>;
  /** May https inputs point at loopback/private addresses? Only tests and demos say yes. */
  allowPrivateInputUrls?: boolean;
}

export interface AppEnv {
  Variables: {
    principal: Principal;
    requestId: string;
  };
}

export type App = Hono<AppEnv>;
