/**
 * The HTTP surface of a DNAstack Workbench on one origin: the GA4GH service registry, the wallet's
 * token endpoint, the user service (`users/me`), the workflow service, eWES under
 * `/services/ewes-service/<namespace>/ga4gh/wes/v1`, its engines, and a storage bucket that serves
 * results by signed URL.
 */
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { faultMiddleware, type FaultState } from '../../sim/faults';
import { originOf } from '../../sim/server';
import type { SignedStore } from '../../sim/storage';
import type { DnaEngine } from './engine';
import { BUCKET, engineView, extendedRun, objectPath, runStatus, serviceInfo, taskLog, workbenchError } from './views';
import type { Wallet } from './wallet';
import type { DnaRun, SimClient, SimEngine, SimWorkflow } from './types';

export interface RouteDeps {
  engine: DnaEngine;
  wallet: Wallet;
  workflows: SimWorkflow[];
  engines: SimEngine[];
  registryPath: string;
  userService: boolean;
  gsOutputs: () => boolean;
  store: SignedStore;
  presignTtlSeconds: number;
  defaultPageSize: number;
  faults: FaultState;
  now: () => number;
  random: () => number;
}

type Env = { Bindings: HttpBindings; Variables: { client: SimClient } };
type Ctx = Context<Env>;

const EWES = '/services/ewes-service';
const USERS = '/services/user-service';
const WORKFLOWS = '/services/workflow-service';
const MAX_PAGE_SIZE = 100;

export function serviceUrls(origin: string): { ewes: string; users: string; workflows: string } {
  return { ewes: `${origin}${EWES}/`, users: `${origin}${USERS}/`, workflows: `${origin}${WORKFLOWS}/` };
}

export function createRoutes(d: RouteDeps): Hono<Env> {
  const app = new Hono<Env>();
  const fail = (c: Ctx, status: number, msg: string): Response => c.json(workbenchError(status, msg, d.now()), status as 400);

  app.use(
    '*',
    faultMiddleware(
      d.faults,
      {
        error: (c, status, message) => c.json(workbenchError(status, message, d.now()), status),
        maintenanceMessage: 'Workbench is undergoing scheduled maintenance',
      },
      { now: d.now, random: d.random },
    ),
  );

  // ---- GA4GH service registry (DNA `service_registry/models.py`: Service + `authentication`)
  app.get(`/${d.registryPath}services`, (c) => {
    const origin = originOf(c.req.raw);
    const urls = serviceUrls(origin);
    const auth = (resource: string) => [
      { accessTokenUrl: `${origin}/wallet/oauth/token`, clientId: null, clientSecret: null, grantType: 'client_credentials', resource, scope: null },
    ];
    const entry = (id: string, artifact: string, url: string) => ({
      id,
      name: artifact,
      type: { group: 'com.dnastack.workbench', artifact, version: '1.0.0' },
      url,
      organization: { name: 'DNAstack Workbench (simulator)', url: origin },
      version: '1.0.0',
      authentication: auth(url),
    });
    const services = [entry('ewes-service', 'ewes-service', urls.ewes), entry('workflow-service', 'workflow-service', urls.workflows)];
    if (d.userService) services.push(entry('workbench-user-service', 'workbench-user-service', urls.users));
    // The client library accepts the listing only with exactly this Content-Type.
    return new Response(JSON.stringify(services), { status: 200, headers: { 'Content-Type': 'application/json' } });
  });

  // ---- wallet
  app.post('/wallet/oauth/token', async (c) => {
    const form = new URLSearchParams(await c.req.text());
    const basic = /^Basic\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? null;
    const origin = originOf(c.req.raw);
    const urls = serviceUrls(origin);
    const result = await d.wallet.token(form, basic, `${origin}/wallet`, [urls.ewes, urls.users, urls.workflows]);
    c.header('Cache-Control', 'no-store');
    return c.json(result.body, result.ok ? 200 : result.status);
  });

  /** Spring Security resource server: 401 with an empty body and the reason in WWW-Authenticate. */
  const bearer = (service: 'ewes' | 'users' | 'workflows') => async (c: Ctx, next: () => Promise<void>): Promise<Response | void> => {
    const verdict = await d.wallet.verify(c.req.header('authorization'), serviceUrls(originOf(c.req.raw))[service]);
    if ('refused' in verdict) {
      return c.body(null, 401, { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${verdict.refused}"` });
    }
    c.set('client', verdict.client);
    await next();
  };
  const inNamespace = async (c: Ctx, next: () => Promise<void>): Promise<Response | void> => {
    if (c.req.param('ns') !== c.get('client').namespace) return fail(c, 403, 'Access denied: you are not a member of this namespace');
    await next();
  };

  // ---- user service
  app.get(`${USERS}/users/me`, bearer('users'), (c) => {
    if (!d.userService) return fail(c, 404, 'Not Found');
    const client = c.get('client');
    return c.json({ email: client.email ?? `${client.clientId}@service-accounts.local`, full_name: client.clientId, default_namespace: client.namespace });
  });

  // ---- workflow service
  const findWorkflow = (c: Ctx): SimWorkflow | undefined => d.workflows.find((w) => w.id === c.req.param('wf'));
  app.use(`${WORKFLOWS}/:ns/*`, bearer('workflows'), inNamespace);
  app.get(`${WORKFLOWS}/:ns/workflows`, (c) =>
    c.json({
      workflows: d.workflows.map((w) => ({ internalId: w.id, name: w.name, latestVersion: w.versionId, source: 'CUSTOM' })),
      pagination: { next_page_url: null, total_elements: d.workflows.length },
    }),
  );
  app.get(`${WORKFLOWS}/:ns/workflows/:wf/versions`, (c) => {
    const wf = findWorkflow(c);
    if (!wf) return fail(c, 404, `Workflow ${c.req.param('wf')} not found`);
    return c.json({ versions: [{ id: wf.versionId, versionName: wf.versionName, descriptorType: 'WDL' }], pagination: { next_page_url: null, total_elements: 1 } });
  });
  app.get(`${WORKFLOWS}/:ns/workflows/:wf/versions/:v`, (c) => {
    const wf = findWorkflow(c);
    if (!wf || wf.versionId !== c.req.param('v')) return fail(c, 404, `Workflow ${c.req.param('wf')}/${c.req.param('v')} not found`);
    return c.json({ id: wf.versionId, versionName: wf.versionName, workflowName: wf.name, descriptorType: 'WDL', languageVersions: wf.typeVersions });
  });

  // ---- eWES
  app.use(`${EWES}/:ns/*`, bearer('ewes'), inNamespace);
  const wesBase = (c: Ctx): string => `${originOf(c.req.raw)}${EWES}/${c.req.param('ns')}/ga4gh/wes/v1`;
  const outputs = (c: Ctx) => ({ origin: originOf(c.req.raw), store: d.store, ttlSeconds: d.presignTtlSeconds, gs: d.gsOutputs() });

  app.get(`${EWES}/:ns/ga4gh/wes/v1/service-info`, (c) => {
    const counts: Record<string, number> = {};
    for (const r of d.engine.runs.values()) if (r.namespace === c.req.param('ns')) counts[r.state] = (counts[r.state] ?? 0) + 1;
    return c.json(serviceInfo(originOf(c.req.raw), counts));
  });

  app.get(`${EWES}/:ns/engines`, (c) => c.json({ engines: d.engines.map(engineView), pagination: { next_page_url: null, total_elements: d.engines.length } }));
  app.get(`${EWES}/:ns/engines/:id`, (c) => {
    const e = d.engines.find((x) => x.id === c.req.param('id'));
    return e ? c.json(engineView(e)) : fail(c, 404, `Engine ${c.req.param('id')} not found`);
  });

  app.post(`${EWES}/:ns/ga4gh/wes/v1/runs`, async (c) => {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/json/i.test(type)) return fail(c, 415, `Content-Type '${type.slice(0, 80)}' is not supported`);
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = await c.req.json();
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      return fail(c, 400, 'Malformed JSON request');
    }
    const url = typeof body.workflow_url === 'string' ? body.workflow_url : '';
    const wf = d.workflows.find((w) => `${w.id}/${w.versionId}` === url);
    if (!wf) return fail(c, 404, `Workflow ${url || '(none)'} not found`);
    if (body.workflow_type !== undefined && body.workflow_type !== null && body.workflow_type !== 'WDL') {
      return fail(c, 400, `Unsupported workflow_type '${String(body.workflow_type)}': Workbench runs WDL`);
    }
    const version = typeof body.workflow_type_version === 'string' ? body.workflow_type_version : null;
    if (version !== null && !wf.typeVersions.includes(version)) {
      return fail(c, 400, `Workflow ${url} is WDL ${wf.typeVersions.join('/')}, not ${version}`);
    }
    const engineParams = (typeof body.workflow_engine_parameters === 'object' && body.workflow_engine_parameters !== null ? body.workflow_engine_parameters : {}) as Record<string, unknown>;
    const engineId = typeof engineParams.engine_id === 'string' ? engineParams.engine_id : typeof body.engine_id === 'string' ? body.engine_id : null;
    const engine = engineId === null ? d.engines.find((e) => e.default) : d.engines.find((e) => e.id === engineId);
    if (!engine) return fail(c, 400, engineId === null ? 'The namespace has no default engine' : `Engine ${engineId} not found`);
    const params = (typeof body.workflow_params === 'object' && body.workflow_params !== null && !Array.isArray(body.workflow_params) ? body.workflow_params : {}) as Record<string, unknown>;
    const known = new Set(Object.values(wf.inputs));
    const unknown = Object.keys(params).filter((k) => !known.has(k));
    if (unknown.length > 0) return fail(c, 400, `Unknown input(s) for ${wf.name}: ${unknown.join(', ')}`);
    const tags: Record<string, string> = {};
    if (typeof body.tags === 'object' && body.tags !== null) {
      for (const [k, v] of Object.entries(body.tags)) if (typeof v === 'string') tags[k] = v;
    }
    const client = c.get('client');
    const submittedBy = client.email ?? `${client.clientId}@service-accounts.local`;
    const run = await d.engine.create({
      id: randomUUID(),
      namespace: client.namespace,
      clientId: client.clientId,
      submittedBy,
      workflow: wf,
      engine,
      request: {
        workflow_url: url,
        workflow_type: 'WDL',
        workflow_type_version: version ?? wf.typeVersions[0] ?? null,
        workflow_params: params,
        workflow_engine_parameters: { engine_id: engine.id },
        tags,
        workflow_id: wf.id,
        workflow_version_id: wf.versionId,
        workflow_name: wf.name,
        workflow_version: wf.versionName,
        submitted_by: submittedBy,
      },
      workflowParams: params,
      tags,
    });
    return c.json({ run_id: run.id, state: run.state, msg: null, error_code: null, timestamp: null, trace_id: null });
  });

  app.get(`${EWES}/:ns/ga4gh/wes/v1/runs`, (c) => {
    const all = [...d.engine.runs.values()].filter((r) => r.namespace === c.req.param('ns')).reverse();
    const raw = Number(c.req.query('page_size') ?? d.defaultPageSize);
    const size = Number.isInteger(raw) && raw > 0 ? Math.min(raw, MAX_PAGE_SIZE) : d.defaultPageSize;
    const token = c.req.query('page_token');
    let offset = 0;
    if (token) {
      const m = /^p:(\d{1,9})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
      if (!m) return fail(c, 400, 'Invalid page_token');
      offset = Number(m[1]);
    }
    const page = all.slice(offset, offset + size);
    const nextToken = offset + size < all.length ? Buffer.from(`p:${offset + size}`).toString('base64url') : null;
    const next = nextToken === null ? null : `${wesBase(c)}/runs?${new URLSearchParams({ page_token: nextToken, page_size: String(size) }).toString()}`;
    return c.json({ runs: page.map(runStatus), pagination: { next_page_url: next, total_elements: all.length }, next_page_token: nextToken });
  });

  const findRun = (c: Ctx): DnaRun | Response => {
    const run = d.engine.runs.get(c.req.param('id') ?? '');
    if (!run || run.namespace !== c.req.param('ns')) return fail(c, 404, 'Run not found');
    return run;
  };

  app.get(`${EWES}/:ns/ga4gh/wes/v1/runs/:id`, (c) => {
    const run = findRun(c);
    if (run instanceof Response) return run;
    return c.json(extendedRun(run, wesBase(c), outputs(c), c.req.query('exclude_tasks') !== 'true'));
  });
  app.get(`${EWES}/:ns/ga4gh/wes/v1/runs/:id/status`, (c) => {
    const run = findRun(c);
    return run instanceof Response ? run : c.json({ run_id: run.id, state: run.state });
  });
  app.post(`${EWES}/:ns/ga4gh/wes/v1/runs/:id/cancel`, (c) => {
    const run = findRun(c);
    if (run instanceof Response) return run;
    if (!d.engine.cancel(run)) return fail(c, 409, `Run ${run.id} is already in a terminal state (${run.state}) and cannot be canceled`);
    return c.json({ run_id: run.id, state: run.state });
  });
  app.get(`${EWES}/:ns/ga4gh/wes/v1/runs/:id/tasks`, (c) => {
    const run = findRun(c);
    if (run instanceof Response) return run;
    const all = run.steps.map((s) => taskLog(run, s));
    const raw = Number(c.req.query('page_size') ?? 20);
    const size = Number.isInteger(raw) && raw > 0 ? Math.min(raw, MAX_PAGE_SIZE) : 20;
    const offset = Number(c.req.query('page') ?? 0) * size;
    const more = offset + size < all.length;
    const next = more ? `${wesBase(c)}/runs/${run.id}/tasks?page=${offset / size + 1}&page_size=${size}` : null;
    return c.json({ tasks: all.slice(offset, offset + size), pagination: { next_page_url: next, total_elements: all.length } });
  });
  app.get(`${EWES}/:ns/ga4gh/wes/v1/runs/:id/logs/:which{stdout|stderr}`, (c) => {
    const run = findRun(c);
    if (run instanceof Response) return run;
    return c.text(`${(c.req.param('which') === 'stdout' ? run.stdout : run.stderr).join('\n')}\n`);
  });

  // ---- the namespace's bucket, readable by signed URL only
  app.get(`/storage/${BUCKET}/:ns/:runId/*`, (c) => {
    const run = d.engine.runs.get(c.req.param('runId'));
    const path = new URL(c.req.url).pathname;
    const name = run ? decodeURIComponent(path.slice(objectPath(run, '').length)) : '';
    const file = run && run.namespace === c.req.param('ns') ? run.outputs.find((o) => o.name === name) : undefined;
    return d.store.serve(c.req.raw, path, file?.path ?? null);
  });

  app.notFound((c) => fail(c, 404, 'Not Found'));
  app.onError((err, c) => fail(c, 500, err.message));
  return app;
}

