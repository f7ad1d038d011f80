import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { DataSource } from 'typeorm';
import type { AuditLog } from '../audit/log';
import type { AccessControl } from '../auth/access';
import type { PortalLogin } from '../auth/session/index';
import type { Principal } from '../auth/principal';
import type { BackendRegistry } from '../backends/registry';
import type { FsBlobStore } from '../blobs/store';
import type { Config } from '../config';
import type { Logger } from '../logging';
import type { Metrics } from '../metrics';
import type { RunService } from '../runs/service';
import type { Vault } from '../vault/vault';
import type { Urls } from '../wes/views';
import type { ObjectService } from '../drs/objects';
import type { LinkSigner } from '../drs/links';
import type { AuthorizationInfo } from '../drs/views';
import type { Notifications } from '../notify/index';

/** Everything a route may use, injected so tests build the app from real parts. */
export interface AppDeps {
  config: Config;
  ds: DataSource;
  runs: RunService;
  /** GA4GH DRS objects: every input and result. */
  objects: ObjectService;
  /** Signed, short-lived download links (DRS `/access`). */
  links: LinkSigner;
  /** Who may authorize DRS calls (OPTIONS, `authorizations` of access methods). */
  authorizationInfo: AuthorizationInfo;
  registry: BackendRegistry;
  blobs: FsBlobStore;
  metrics: Metrics;
  log: Logger;
  urls: Urls;
  /** Bearer-token middleware; sets `principal`. */
  authenticate: MiddlewareHandler<AppEnv>;
  /** May https inputs point at loopback/private addresses? Only tests and demos say yes. */
  allowPrivateInputUrls?: boolean;
  /** The caller's passport and the one policy function every route asks. */
  access: AccessControl;
  /** Portal login (auth/session); absent: no cookie sessions, no /auth routes. */
  portalLogin?: PortalLogin;
  /** The append-only audit trail (issue 3). */
  audit?: AuditLog;
  /** Resolves for an administrator; throws an ApiError (403) for anyone else. Absent: nobody is. */
  authorizeAdmin?: (c: Context<AppEnv>) => Promise<void>;
  /** Users' and service-account credentials per backend; the credential routes answer 503 without it. */
  vault?: Vault;
  /** Run events (SSE), webhooks and e-mail preferences (issue 5); those routes answer 503 without it. */
  notifications?: Notifications;
}

export interface AppEnv {
  Variables: {
    principal: Principal;
    requestId: string;
  };
}

export type App = Hono<AppEnv>;
