/**
 * Assembles and starts the broker: database (external or embedded), queue, backends, identity,
 * HTTP. One code path for `npm start`, the tests, the conformance suites and the benchmarks.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { bearerAuth, createTokenVerifier } from './auth/bearer';
import { BackendRegistry, type Backend } from './backends/registry';
import { HealthMonitor, type HealthMonitorOptions } from './backends/health';
import { FsBlobStore } from './blobs/store';
import type { Config, HealthConfig } from './config';
import { buildBackends } from './backends/build';
import { loadOrCreateKeyRing } from './crypto/box';
import { createAuditLog } from './audit/log';
import { createVault } from './vault/vault';
import { cloudgeneTokenCheck } from './vault/cloudgene-check';
import { openDatabase } from './db/data-source';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded';
import { startDemoFederation, type DemoFederation } from './dev/demo';
import { createDevOidcProvider, PORTAL_SERVER_CLIENT, type DevOidc } from './dev/oidc';
import { createAccessControl, type PassportSource } from './auth/access';
import { createPortalLogin } from './auth/session/index';
import { loadPolicy } from './auth/policy/index';
import { createApp } from './app';
import { isBrokerPath, loadPortal, loopbackUrl, type PortalHandler } from './portal';
import type { AppDeps, AppEnv } from './http/context';
import { errorBody } from './http/errors';
import { createLogger, type Logger } from './logging';
import { createMetrics } from './metrics';
import { createRunQueue, type RunQueue } from './runs/queue';
import { RunService } from './runs/service';
import { ObjectService } from './drs/objects';
import { createLinkSigner } from './drs/links';
import { RunWorker } from './runs/worker';
import { startNotifications } from './notify/index';

export interface StartOptions {
  config: Config;
  log?: Logger;
  /** Adapters built by the caller (tests with fault-injecting simulators). */
  backends?: Backend[];
  /** Let https inputs point at loopback (tests, demos). */
  allowPrivateInputUrls?: boolean;
  /** Queue name; tests sharing one Redis use their own. */
  queueName?: string;
  workerConcurrency?: number;
  sweepEveryMs?: number;
  sweepGraceMs?: number;
  /** Serve the built portal at `/` beside the APIs when portal/build is there (`npm start`); a build directory, or true for the default one. */
  portal?: boolean | string;
  /** The health monitor's settings (default: the config's), clock and hooks; `autoStart: false` leaves it to the caller. */
  health?: Partial<HealthConfig> & Pick<HealthMonitorOptions, 'now' | 'tickMs' | 'onDeactivated' | 'probeTimeoutMs'> & { autoStart?: boolean };
}

export interface BrokerHandle {
  url: string;
  port: number;
  deps: AppDeps;
  worker: RunWorker | null;
  /** Probes the backends (worker processes only). */
  monitor: HealthMonitor | null;
  queue: RunQueue;
  devOidc: DevOidc | null;
  demo: DemoFederation | null;
  /** True when the portal is served at `/` by this listener. */
  portal: boolean;
  close(): Promise<void>;
}

export async function startBroker(options: StartOptions): Promise<BrokerHandle> {
  const config = options.config;
  const log = options.log ?? createLogger(config.logLevel);
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((err) => log.warn({ err }, 'shutdown step failed'));
  };

  try {
    // Listen first: with PORT=0 the public URL (and so the dev issuer) is only known now.
    let listener: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
    const server = createServer({ maxHeaderSize: 64 * 1024, requestTimeout: 0 }, (req, res) => {
      if (listener) return listener(req, res);
      res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '2' });
      res.end(JSON.stringify(errorBody(503, 'The broker is starting; try again in a moment.')));
    });
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(config.port, config.host, () => res());
    });
    closers.push(() => new Promise((res) => server.close(() => res(undefined))));
    const port = (server.address() as AddressInfo).port;
    const publicUrl = config.port === 0 ? `http://127.0.0.1:${port}` : config.publicUrl;

    let databaseUrl = config.databaseUrl;
    let embedded: EmbeddedDatabase | null = null;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres(config.dataDir);
      closers.push(() => embedded!.stop());
      databaseUrl = embedded.url;
    }
    // Every run step in flight holds a connection at times; the API and the monitors need theirs too.
    const ds = await openDatabase(databaseUrl, { poolSize: Math.max(20, (config.runWorker ? config.workerConcurrency : 0) + 12) });
    closers.push(() => ds.destroy());

    // A key ring: the first key seals, every key opens, so keys rotate without downtime.
    const box = loadOrCreateKeyRing(config.secretKey, join(resolve(config.dataDir), 'secret.key'));
    const blobs = new FsBlobStore(join(config.dataDir, 'blobs'));

    let demo: DemoFederation | null = null;
    let backendConfigs = config.backends;
    if (config.demo && !options.backends) {
      demo = await startDemoFederation(config.dataDir);
      closers.push(() => demo!.close());
      backendConfigs = [...demo.backends, ...config.backends];
    }
    const backends = options.backends ?? buildBackends(backendConfigs);

    let devOidc: DevOidc | null = null;
    let issuers = config.issuers;
    // The dev provider is for the offline demo only: never beside a real identity provider.
    let passportTrust = config.passportTrust;
    const passportSources: PassportSource[] = config.issuers.flatMap((i) => {
      const p = i.passport;
      if (!p) return [];
      const exchange = p.tokenExchange
        ? { tokenEndpoint: p.tokenExchange.tokenEndpoint, clientId: p.tokenExchange.clientId, clientSecret: process.env[p.tokenExchange.clientSecretEnv] ?? '' }
        : undefined;
      return [{ issuer: i.issuer, ...(exchange ? { exchange } : {}), ...(p.userinfoEndpoint ? { userinfoEndpoint: p.userinfoEndpoint } : {}) }];
    });
    if (config.demo && config.issuers.length === 0) {
      devOidc = await createDevOidcProvider({
        issuer: `${publicUrl}/oidc`,
        audience: `${publicUrl}/ga4gh/wes/v1`,
        publicUrl,
        portalRedirectUris: [`${publicUrl}/auth/callback`],
        keysFile: join(resolve(config.dataDir), 'dev-oidc-keys.json'),
      });
      issuers = [...issuers, { issuer: devOidc.issuer, audience: `${publicUrl}/ga4gh/wes/v1` }];
      // The dev provider is the demo's Passport broker and visa issuer: trust exactly it.
      passportTrust = {
        brokers: [{ issuer: devOidc.issuer, jwksUri: devOidc.jwksUri }],
        visaIssuers: [{ issuer: devOidc.visaIssuer, jku: [devOidc.visaJwksUri] }],
        sources: Object.values(devOidc.visaSources),
      };
      passportSources.push({
        issuer: devOidc.issuer,
        exchange: { tokenEndpoint: devOidc.tokenEndpoint, clientId: PORTAL_SERVER_CLIENT.clientId, clientSecret: PORTAL_SERVER_CLIENT.clientSecret ?? '' },
      });
    }
    const verifier = createTokenVerifier({
      issuers: issuers.map((i) => {
        const o = i.opaqueTokens;
        if (!o) return i;
        const introspection =
          o.introspectionEndpoint && o.clientId && o.clientSecretEnv
            ? { endpoint: o.introspectionEndpoint, clientId: o.clientId, clientSecret: process.env[o.clientSecretEnv] ?? '' }
            : undefined;
        return { ...i, opaque: { ...(introspection ? { introspection } : {}), ...(o.userinfoEndpoint ? { userinfoEndpoint: o.userinfoEndpoint } : {}) } };
      }),
    });
    const policy = loadPolicy(config.policyFile ?? undefined, { publicUrl });
    if (!config.policyFile && !config.demo) log.warn('no POLICY_FILE: the built-in demo policy trusts no real issuer, so every request will be denied');

    const queue = createRunQueue({
      databaseUrl,
      redisUrl: config.redisUrl,
      ...(options.queueName ? { name: options.queueName } : {}),
      onError: (err) => log.warn({ err: err.message }, 'queue error'),
    });
    closers.push(() => queue.close());

    const objects = new ObjectService(ds, blobs);
    const runs = new RunService(ds, queue, box, objects);
    const metrics = createMetrics(() => runs.stateCounts());
    const vault = createVault(ds, box);
    // Admin-defined backends keep their secrets in the vault; every replica builds them from there.
    const registry = new BackendRegistry(ds, backends, log, { vault });
    await registry.sync();
    const stopReloading = registry.startReloading(config.backendsReloadMs);
    closers.push(async () => stopReloading());
    const audit = createAuditLog(ds, log);
    const access = createAccessControl({
      policy,
      trust: passportTrust,
      sources: passportSources,
      log,
      audit,
      // The demo's visa JWKS is served over plain http on loopback; production keeps both off.
      ...(devOidc ? { verifier: { allowLoopbackHttpJku: true, allowPrivateJkuAddresses: true } } : {}),
    });
    const authenticate = bearerAuth<AppEnv>(verifier, {
      onRefused: (err, c) => {
        void audit.record({ action: 'auth.token_refused', outcome: 'denied', reason: err.reason, source: audit.source(c) });
      },
    });
    // The portal's login (auth code + PKCE, server-side sessions); for now against the dev provider.
    const portalLogin = devOidc
      ? createPortalLogin({
          ds,
          box,
          publicUrl,
          log,
          audit,
          oidc: {
            issuer: devOidc.issuer,
            clientId: PORTAL_SERVER_CLIENT.clientId,
            clientSecret: PORTAL_SERVER_CLIENT.clientSecret ?? '',
            redirectUri: `${publicUrl}/auth/callback`,
            // Sign out ends on the portal's public welcome page.
            postLogoutRedirectUri: `${publicUrl}/`,
            scopes: ['openid', 'ga4gh_passport_v1', 'wes'],
          },
        })
      : undefined;
    if (portalLogin) {
      const sweep = setInterval(() => void portalLogin.sessions.sweep().catch(() => {}), 10 * 60_000);
      sweep.unref();
      closers.push(async () => clearInterval(sweep));
    }
    const urls = { base: publicUrl, drsHost: config.port === 0 ? new URL(publicUrl).host : config.drs.hostname };
    // Run events (SSE in every process; webhooks and e-mail in worker processes).
    const notifications = await startNotifications({
      ds,
      databaseUrl,
      box,
      settings: config.notifications,
      log,
      objects,
      urls,
      backendName: (id) => registry.get(id)?.config.name ?? null,
      worker: config.runWorker,
      metrics: metrics.registry,
    });
    closers.push(() => notifications.close());
    const deps: AppDeps = {
      config,
      ds,
      runs,
      objects,
      links: createLinkSigner(box, urls, config.drs.signedUrlTtlSec),
      authorizationInfo: {
        passportIssuers: [...new Set((passportTrust.visaIssuers ?? []).map((v) => v.issuer))],
        bearerIssuers: [...new Set(issuers.map((i) => i.issuer))],
      },
      registry,
      blobs,
      metrics,
      log,
      urls,
      authenticate,
      ...(portalLogin ? { portalLogin } : {}),
      allowPrivateInputUrls: options.allowPrivateInputUrls ?? false,
      audit,
      access,
      authorizeAdmin: async (c) => {
        await access.require(c, 'audit:read');
      },
      vault,
      notifications,
    };

    let worker: RunWorker | null = null;
    if (config.runWorker) {
      worker = new RunWorker({
        ds,
        registry,
        queue,
        blobs,
        objects,
        box,
        log,
        metrics,
        vault: deps.vault,
        audit,
        sweepGraceMs: options.sweepGraceMs,
        maxMemberBytes: config.maxUploadBytes,
        links: deps.links,
        urls,
      });
      worker.start(options.workerConcurrency ?? config.workerConcurrency, options.sweepEveryMs);
      closers.push(async () => worker!.stop());
      // Uploads nobody used in time go, hourly (their bytes stay while a run uses them).
      const expire = () =>
        void objects
          .expireUploads(config.uploadRetentionMs)
          .then((n) => n && log.info({ uploads: n }, 'expired unused uploads'))
          .catch((err) => log.warn({ err: (err as Error).message }, 'upload expiry failed'));
      const expiry = setInterval(expire, 3600_000);
      expiry.unref();
      closers.push(async () => clearInterval(expiry));
    }
    // Catalogs are discovered in the background: a backend that is down must not block start-up.
    // Afterwards the health monitor rediscovers them, one replica per backend and interval.
    void registry.refreshAll();
    let monitor: HealthMonitor | null = null;
    if (config.runWorker) {
      const { autoStart, now, tickMs, onDeactivated, probeTimeoutMs, ...settings } = options.health ?? {};
      monitor = new HealthMonitor({
        ds,
        registry,
        log,
        audit,
        settings: { ...config.health, ...settings },
        ...(now ? { now } : {}),
        ...(tickMs ? { tickMs } : {}),
        async onDeactivated(event) {
          // The audit trail has it already; administrators with ADMIN_EMAILS get it in their mailbox.
          const name = registry.get(event.backend)?.config.name ?? event.backend;
          await notifications.notifyAdmins({
            subject: `Backend ${event.backend} deactivated after a long outage`,
            text: [
              `The broker at ${publicUrl} deactivated backend ${event.backend} (${name}) at ${event.at.toISOString()}.`,
              '',
              event.reason,
              '',
              'No new run is sent to it while it is deactivated; runs already there are followed as before.',
            ].join('\n'),
          });
          await onDeactivated?.(event);
        },
        ...(probeTimeoutMs ? { probeTimeoutMs } : {}),
      });
      if (autoStart !== false) monitor.start();
      closers.push(async () => monitor!.stop());
    }
    // Cloudgene API tokens last 30 days: check stored ones daily (token-verify route) so their
    // owners see `expiring_soon` in GET /api/v1/credentials before runs start failing.
    {
      const flag = () =>
        vault
          // Admin-defined backends come and go: the check covers those known at the time.
          .flagExpiring(cloudgeneTokenCheck(registry.list().map((b) => b.config)), 7)
          .then((flagged) => {
            for (const f of flagged) {
              void audit.record({ action: 'credential.expiring', outcome: 'ok', actor: f.owner ?? undefined, object: { kind: 'credential', id: f.backendId }, reason: f.reason });
            }
          })
          .catch((err) => log.warn({ err: (err as Error).message }, 'token expiry check failed'));
      void flag();
      const timer = setInterval(flag, 24 * 3600_000);
      timer.unref();
      closers.push(async () => clearInterval(timer));
    }

    const app = createApp(deps);
    const honoListener = getRequestListener(app.fetch);
    const portal: PortalHandler | null = options.portal
      ? await loadPortal({
          ...(typeof options.portal === 'string' ? { buildDir: options.portal } : {}),
          brokerUrl: loopbackUrl(config.host, port),
          publicUrl,
        })
      : null;
    listener = (req, res) => {
      if (devOidc && req.url && devOidc.matches(req.url)) return devOidc.handler(req, res);
      if (portal && req.url && !isBrokerPath(req.url)) return portal(req, res);
      void honoListener(req, res);
    };

    return { url: publicUrl, port, deps, worker, monitor, queue, devOidc, demo, portal: portal !== null, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export type { AppEnv };
