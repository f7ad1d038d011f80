/**
 * What authentication costs (issue 3, "Measured"): requests per second of an authenticated
 * `GET /ga4gh/wes/v1/runs/{id}` whose passport of 10 visas is cached, as a ratio to the same
 * route with no authentication at all, in the same run and the same process.
 *
 * How "the same route with no authentication" is had: the child (this file with
 * BENCH_AUTH_CHILD=1) starts the real broker (`startBroker`, embedded PostgreSQL, DEMO) and then
 * builds a second Hono app in the same process from the broker's own `deps` with `createApp`,
 * replacing only `authenticate` (a pass-through that sets a fixed principal, the owner of the
 * runs) and `access` (allows everything, no passport), the way `api/document.ts` stubs deps. Both
 * apps share the database pool, the run service and the handler code, so the difference between
 * the two phases is exactly: bearer JWT verification (RS256, jose), the passport cache lookup
 * (sha256 of the token) and the policy decision. No env flag changes the broker itself.
 *
 * The token: signed with the dev OP's key from DATA_DIR, `ga4gh_passport_v1` holding 10 visas
 * signed with the dev visa key (LinkedIdentities, ResearcherStatus, AcceptedTermsAndPolicies and
 * 7 ControlledAccessGrants), so the broker verifies 10 visas once (cache miss, timed separately)
 * and serves every later request from its cache keyed by the token's hash.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import type { MiddlewareHandler } from 'hono';
import { loadForgeKeys, nowSec, signAs, visaClaims } from '../src/auth/hostile-support';
import type { AccessControl } from '../src/auth/access';
import type { Decision } from '../src/auth/policy/index';
import type { Principal } from '../src/auth/principal';
import { ownerKey } from '../src/auth/principal';
import { REGISTERED_ACCESS_DOI } from '../src/dev/users';
import type { AppEnv } from '../src/http/context';
import { runLoad, type LoadResult } from './lib/load';
import { cpuMs, removeDir, ROOT, spawnJsonChild, stopChild, tempDir } from './lib/proc';

export type Measured = LoadResult & { serverCpuMsPerRequest: number | null };

export interface AuthResult {
  concurrency: number;
  durationS: number;
  visas: number;
  tokenBytes: number;
  /** The first authenticated request: JWT check plus 10 visas verified (visa JWKS fetched). */
  coldFirstRequestMs: number;
  /** The best round of each variant (highest req/s). */
  noAuth: Measured;
  authenticated: Measured;
  rounds: { noAuth: Measured; authenticated: Measured }[];
  ratio: { rps: number; p50: number; p99: number; cpu: number | null };
}

interface ChildInfo {
  url: string;
  openUrl: string;
  pid: number;
  issuer: string;
  audience: string;
  subject: string;
  visaIssuer: string;
  visaJwksUri: string;
  sources: { signingOfficial: string; dac: string; broker: string };
  termsUrl: string;
  ids: string[];
}

const SUBJECT = 'bench-researcher';

const num = (name: string, def: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};

/** The child: the real broker, plus its unauthenticated twin on a second port. */
async function child(): Promise<void> {
  const { loadConfig } = await import('../src/config');
  const { createLogger } = await import('../src/logging');
  const { startBroker } = await import('../src/server');
  const { createApp } = await import('../src/app');

  const config = loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1', DEMO: 'true', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
  const broker = await startBroker({ config, log: createLogger(config.logLevel) });
  await broker.deps.registry.refreshAll();
  const oidc = broker.devOidc;
  if (!oidc) throw new Error('auth bench: the dev OIDC provider did not start');

  const principal: Principal = { issuer: oidc.issuer, subject: SUBJECT, scopes: [], claims: {} };
  const open: MiddlewareHandler<AppEnv> = async (c, next) => {
    c.set('principal', principal);
    await next();
  };
  const allowed: Decision = { allow: true, code: 'owner', reason: 'benchmark: no authentication' };
  const allowAll: AccessControl = {
    policy: broker.deps.access.policy,
    passport: async () => ({ subject: { issuer: principal.issuer, subject: SUBJECT }, visas: [], refused: [], validUntil: null }),
    check: async () => allowed,
    require: async () => allowed,
    fromPassports: async () => ({ subject: { issuer: principal.issuer, subject: SUBJECT }, visas: [], refused: [], validUntil: null }),
    passportToken: async () => null,
  };
  const twin = createApp({ ...broker.deps, authenticate: open, access: allowAll });
  const server = createServer({ maxHeaderSize: 64 * 1024, requestTimeout: 0 }, getRequestListener(twin.fetch));
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const openUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Runs owned by the caller, as in the reads benchmark (terminal: no worker activity).
  const owner = { key: ownerKey(principal), issuer: principal.issuer, subject: SUBJECT };
  const n = num('BENCH_AUTH_RUNS', 2_000);
  await broker.deps.ds.query(
    `INSERT INTO runs (id, owner_key, owner_issuer, owner_subject, state, request, params, tags,
       requested_backend, backend_id, remote_id, remote_state, submit_intent_at, submitted_at,
       start_time, end_time, tasks, system_logs, errors, progress, password_enc, outputs_fetched,
       created_at, updated_at)
     SELECT gen_random_uuid(), $1, $2, $3, 'COMPLETE',
       '{"workflow_type":"NFL","workflow_type_version":"DSL2","workflow_url":"https://github.com/genepi/imputationserver2"}'::jsonb,
       '{"refpanel":"1000g-phase3-deep","population":"eur","build":"hg19"}'::jsonb,
       jsonb_build_object('project', 'bench', 'n', g::text),
       'auto', 'mis2-demo', 'job-' || g, 'success',
       now() - g * interval '1 minute', now() - g * interval '1 minute',
       now() - g * interval '1 minute', now() - g * interval '1 minute' + interval '45 minutes',
       '[{"id":"1","name":"Input Validation","state":"COMPLETE","messages":[]}]'::jsonb,
       '["routed to mis2-demo"]'::jsonb, '[]'::jsonb, 100,
       'bench-not-a-real-sealed-password', true, now() - g * interval '1 minute', now()
     FROM generate_series(1, $4::int) AS g`,
    [owner.key, owner.issuer, owner.subject, n],
  );
  await broker.deps.ds.query('ANALYZE runs');
  const ids = ((await broker.deps.ds.query('SELECT id FROM runs WHERE owner_key = $1 ORDER BY random() LIMIT 2000', [owner.key])) as { id: string }[]).map((r) => r.id);

  const stop = async () => {
    server.close();
    await broker.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  const info: ChildInfo = {
    url: broker.url,
    openUrl,
    pid: process.pid,
    issuer: oidc.issuer,
    audience: `${broker.url}/ga4gh/wes/v1`,
    subject: SUBJECT,
    visaIssuer: oidc.visaIssuer,
    visaJwksUri: oidc.visaJwksUri,
    sources: oidc.visaSources,
    termsUrl: `${broker.url}/terms/v1`,
    ids,
  };
  console.log(JSON.stringify(info));
}

/** An access token carrying a passport of 10 visas, all of which the broker accepts. */
async function passportToken(dataDir: string, info: ChildInfo): Promise<string> {
  const keys = await loadForgeKeys(dataDir);
  const sub = info.subject;
  const visa = (type: string, value: string, source: string, by: string) =>
    signAs(keys, 'visa', visaClaims({ iss: info.visaIssuer, sub, type, value, source, by }), { typ: 'vnd.ga4gh.visa+jwt', jku: info.visaJwksUri });
  const visas = [
    await visa('LinkedIdentities', `${encodeURIComponent(sub)},${encodeURIComponent(info.issuer)}`, info.sources.broker, 'system'),
    await visa('ResearcherStatus', REGISTERED_ACCESS_DOI, info.sources.signingOfficial, 'so'),
    await visa('AcceptedTermsAndPolicies', info.termsUrl, info.sources.broker, 'self'),
  ];
  for (let i = 1; visas.length < 10; i++) {
    visas.push(await visa('ControlledAccessGrants', `https://ega-archive.org/datasets/EGAD0000100000${i}`, info.sources.dac, 'dac'));
  }
  const now = nowSec();
  return signAs(
    keys,
    'op',
    { iss: info.issuer, sub, aud: info.audience, iat: now, exp: now + 3600, client_id: 'portal', scope: 'openid ga4gh_passport_v1 wes', ga4gh_passport_v1: visas },
    { typ: 'at+jwt' },
  );
}

export async function benchAuth(log: (s: string) => void): Promise<AuthResult> {
  const concurrency = num('BENCH_CONCURRENCY', 16);
  const durationMs = num('BENCH_DURATION_S', 10) * 1000;
  const warmupMs = num('BENCH_WARMUP_S', 2) * 1000;
  const maxRequests = num('BENCH_MAX_REQUESTS', 2_000_000);

  const dataDir = tempDir('broker');
  const { child: proc, info } = await spawnJsonChild<ChildInfo>(join(ROOT, 'broker/bench/auth.ts'), [], { DATA_DIR: dataDir, BENCH_AUTH_CHILD: '1' });
  try {
    const token = await passportToken(dataDir, info);
    const auth = { Authorization: `Bearer ${token}` };

    // The cache miss, once: the JWT, then 10 visas (and the visa JWKS fetched via the allow-listed jku).
    const t0 = performance.now();
    const me = await fetch(`${info.url}/api/v1/me`, { headers: auth });
    const coldFirstRequestMs = Math.round((performance.now() - t0) * 10) / 10;
    const body = (await me.json()) as { visas?: unknown[]; refused_visas?: unknown[] };
    if (me.status !== 200 || body.visas?.length !== 10 || body.refused_visas?.length !== 0) {
      throw new Error(`the 10-visa passport was not accepted: HTTP ${me.status} ${JSON.stringify(body).slice(0, 500)}`);
    }
    log(`  token ${token.length} bytes, 10 visas accepted; first request (cache miss) ${coldFirstRequestMs} ms`);

    const phase = async (name: string, base: string, headers: Record<string, string>): Promise<Measured> => {
      const url = (i: number) => `${base}/ga4gh/wes/v1/runs/${info.ids[i % info.ids.length]}`;
      await runLoad({ url, headers, concurrency, durationMs: warmupMs, maxRequests });
      const cpu0 = cpuMs(info.pid);
      const r = await runLoad({ url, headers, concurrency, durationMs, maxRequests });
      const cpu1 = cpuMs(info.pid);
      const perReq = cpu0 !== null && cpu1 !== null && r.requests ? Math.round(((cpu1 - cpu0) / r.requests) * 1000) / 1000 : null;
      log(`  ${name.padEnd(34)} ${String(r.rps).padStart(6)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  server CPU ${perReq} ms/req  errors ${r.errors}${r.firstError ? ` (${r.firstError})` : ''}`);
      if (r.errors) throw new Error(`${name}: ${r.errors} errors (${r.firstError})`);
      return { ...r, serverCpuMsPerRequest: perReq };
    };
    // Alternated, so that neither variant always runs first (JIT, autovacuum, a neighbour's load);
    // each variant's best round is kept, the others are in `rounds`.
    const rounds = num('BENCH_AUTH_ROUNDS', 3);
    const all: { noAuth: Measured; authenticated: Measured }[] = [];
    for (let i = 0; i < rounds; i++) {
      const first = i % 2 === 0;
      const a = first ? await phase('GET /runs/{id}, no authentication', info.openUrl, {}) : null;
      const b = await phase('GET /runs/{id}, 10-visa passport', info.url, auth);
      all.push({ noAuth: a ?? (await phase('GET /runs/{id}, no authentication', info.openUrl, {})), authenticated: b });
    }
    const best = (pick: (x: (typeof all)[number]) => Measured) => all.map(pick).reduce((x, y) => (y.rps > x.rps ? y : x));
    const noAuth = best((x) => x.noAuth);
    const authenticated = best((x) => x.authenticated);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    return {
      concurrency,
      durationS: durationMs / 1000,
      visas: 10,
      tokenBytes: token.length,
      coldFirstRequestMs,
      noAuth,
      authenticated,
      rounds: all,
      ratio: {
        rps: r2(authenticated.rps / noAuth.rps),
        p50: r2(authenticated.p50Ms / noAuth.p50Ms),
        p99: r2(authenticated.p99Ms / noAuth.p99Ms),
        cpu:
          authenticated.serverCpuMsPerRequest !== null && noAuth.serverCpuMsPerRequest
            ? r2(authenticated.serverCpuMsPerRequest / noAuth.serverCpuMsPerRequest)
            : null,
      },
    };
  } finally {
    await stopChild(proc);
    removeDir(dataDir);
  }
}

if (process.env.BENCH_AUTH_CHILD === '1') await child();
