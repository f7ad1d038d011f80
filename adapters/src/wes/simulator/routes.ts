/**
 * The HTTP surface of a WES node: GA4GH WES 1.0 as WESkit serves it (plus its `/weskit/v1`
 * extensions and pre-signed S3 results), or WES 1.1 with tasks, paging and served outputs.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Hono, type Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { faultMiddleware, type FaultState } from '../../sim/faults';
import { originOf } from '../../sim/server';
import type { SignedStore } from '../../sim/storage';
import type { RunEngine } from './engine';
import { parseRunForm } from './form';
import { pythonList, runLog, runSummary, serviceInfo, taskLogs, type ViewContext } from './views';
import type { SimRun, WesFlavorName } from './types';

export interface RouteDeps {
  flavor: WesFlavorName;
  engine: RunEngine;
  workDir: string;
  workflowTypes: Record<string, string[]>;
  workflows: string[];
  tokens: Record<string, string> | null;
  requireRunDir: boolean;
  s3Outputs: boolean;
  outputStyle: 'map' | 'broker';
  maxUploadBytes: number;
  presignTtlSeconds: number;
  store: SignedStore;
  faults: FaultState;
  now: () => number;
  random: () => number;
}

type Env = { Bindings: HttpBindings; Variables: { user: string } };
type Ctx = Context<Env>;

const UUID = /^[0-9a-zA-Z]{8}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{12}$/;
const ANONYMOUS = 'not-logged-in-user';
const DEFAULT_PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 100;

/** Flask's own pages, which WESkit answers for routes it does not have and for crashes. */
const FLASK_404 =
  '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n';
const FLASK_500 =
  '<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n';

function errorJson(c: Ctx, status: number, msg: string): Response {
  return c.json({ msg, status_code: status }, status as 400);
}

function parseObject(text: string | undefined): Record<string, unknown> | null | 'invalid' {
  if (text === undefined || text.trim() === '') return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : 'invalid';
  } catch {
    return 'invalid';
  }
}

function stringMap(value: Record<string, unknown> | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

const FORBIDDEN = /[;'"[\]{}()$]/;

/** WESkit's RunRequestValidator, with the eLwazi fork's `trs:` URLs. */
function weskitProblems(d: RouteDeps, f: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const field of ['workflow_params', 'workflow_type', 'workflow_type_version', 'workflow_url']) {
    if (f[field] === undefined) problems.push(`'${field}' is a required property`);
  }
  if (f.workflow_params !== undefined && parseObject(f.workflow_params) === 'invalid') problems.push("'workflow_params' is not a JSON object");
  for (const field of ['tags', 'workflow_engine_parameters']) {
    if (f[field] !== undefined && parseObject(f[field]) === 'invalid') problems.push(`'${field}' is not a JSON object`);
  }
  const type = f.workflow_type;
  const version = f.workflow_type_version;
  if (type !== undefined) {
    const known = d.workflowTypes[type];
    if (!known) problems.push(`Unknown workflow_type '${type}'. Know ${Object.keys(d.workflowTypes).join(', ')}`);
    else if (version !== undefined && !known.includes(version)) problems.push(`Unknown workflow_type_version '${version}'. Know ${known.join(', ')}`);
  }
  const url = f.workflow_url;
  if (url !== undefined) {
    if (url.startsWith('trs://')) {
      // resolved through the TRS registry at run time
    } else if (/^file:/.test(url) || !/^[a-z][a-z0-9+.-]*:/i.test(url)) {
      const path = url.replace(/^file:/, '');
      if (FORBIDDEN.test(path)) problems.push(`Forbidden characters: '${path}'`);
      if (path.startsWith('/')) problems.push(`Not a relative path: '${url}'`);
      else if (path.split('/').includes('..')) problems.push(`Normalized path points outside allowed root: '${path}'`);
    } else {
      problems.push(`Only 'file:' (relative) and 'trs:' are allowed in workflow URIs: '${url}'`);
    }
  }
  if (d.requireRunDir) {
    const tags = parseObject(f.tags);
    if (tags === null) problems.push("'run_dir' tag is required but tags field is missing");
    else if (tags !== 'invalid') {
      const runDir = tags.run_dir;
      if (typeof runDir !== 'string') problems.push("'run_dir' tag is required and missing");
      else if (/^[a-z][a-z0-9+.-]*:/i.test(runDir) && !runDir.startsWith('file:')) problems.push("'run_dir' tag must be relative file path");
      else if (FORBIDDEN.test(runDir)) problems.push(`Forbidden characters: '${runDir.replace(/^file:/, '')}'`);
    }
  }
  return problems;
}

/** A WES 1.1 node's checks, one clear message at a time. */
function standardProblem(d: RouteDeps, f: Record<string, string>, attachmentNames: string[]): string | null {
  for (const field of ['workflow_url', 'workflow_type', 'workflow_type_version']) {
    if (!f[field]) return `${field} is required`;
  }
  const type = f.workflow_type ?? '';
  const known = d.workflowTypes[type];
  if (!known) return `workflow_type '${type}' is not supported; this node runs ${Object.entries(d.workflowTypes).map(([t, v]) => `${t} ${v.join('/')}`).join(', ')}`;
  if (!known.includes(f.workflow_type_version ?? '')) return `workflow_type_version '${f.workflow_type_version}' is not supported for ${type}; supported: ${known.join(', ')}`;
  const url = f.workflow_url ?? '';
  if (!d.workflows.includes(url) && !attachmentNames.includes(url)) return `workflow_url '${url}' is not a workflow this node runs; it runs ${d.workflows.join(', ')}`;
  for (const field of ['workflow_params', 'tags', 'workflow_engine_parameters']) {
    if (parseObject(f[field]) === 'invalid') return `${field} must be a JSON object`;
  }
  if (parseObject(f.workflow_params) === null) return 'workflow_params is required';
  if (f.workflow_engine_version && !f.workflow_engine) return 'workflow_engine is required when workflow_engine_version is given';
  return null;
}

export function createRoutes(d: RouteDeps): Hono<Env> {
  const app = new Hono<Env>();
  const weskit = d.flavor === 'weskit';
  const view = (c: Ctx): ViewContext => ({
    flavor: d.flavor,
    origin: originOf(c.req.raw),
    store: d.store,
    presignTtlSeconds: d.presignTtlSeconds,
    outputStyle: d.outputStyle,
    s3Outputs: d.s3Outputs,
  });

  app.use(
    '*',
    faultMiddleware(
      d.faults,
      {
        // Flask answers an unhandled error with its HTML page, not with WES JSON.
        error: (c, status, message) => (weskit && status === 500 ? c.html(FLASK_500, 500) : errorJson(c as Ctx, status, message)),
        maintenanceMessage: 'The WES service is down for maintenance; please try again later.',
      },
      { now: d.now, random: d.random },
    ),
  );

  const authenticate = async (c: Ctx, next: () => Promise<void>): Promise<Response | void> => {
    if (d.tokens === null) {
      c.set('user', ANONYMOUS);
      return next();
    }
    const header = c.req.header('authorization');
    if (!header) return weskit ? c.json({ msg: 'Missing Authorization Header' }, 401) : errorJson(c, 401, 'A bearer token is required');
    const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? '';
    const user = d.tokens[token];
    if (user === undefined) {
      // flask-jwt-extended refuses a token it cannot verify with 422, not 401.
      return weskit ? c.json({ msg: 'Signature verification failed' }, 422) : errorJson(c, 401, 'The bearer token is not valid');
    }
    c.set('user', user);
    return next();
  };

  const findRun = (c: Ctx): SimRun | Response => {
    const id = c.req.param('id') ?? '';
    if (weskit && !UUID.test(id)) return errorJson(c, 500, `Syntactically invalid run ID: '${id}'`);
    const run = d.engine.runs.get(id);
    if (!run) return errorJson(c, 404, `Could not find '${id}'`);
    if (run.user !== c.get('user')) return errorJson(c, 403, `User '${c.get('user')}' not allowed to access '${id}'`);
    return run;
  };

  app.get('/ga4gh/wes/v1/service-info', (c) => c.json(serviceInfo(d.flavor, originOf(c.req.raw), d.workflowTypes, d.engine.runs.values())));

  app.use('/ga4gh/wes/v1/runs', authenticate);
  app.use('/ga4gh/wes/v1/runs/*', authenticate);
  app.use('/weskit/*', authenticate);

  app.post('/ga4gh/wes/v1/runs', async (c) => {
    const id = randomUUID();
    const dir = join(d.workDir, 'runs', id);
    const parsed = await parseRunForm(c.req.raw, dir, d.maxUploadBytes);
    if (!parsed.ok) return errorJson(c, parsed.status, parsed.message);
    const f = parsed.fields;
    if (weskit) {
      const problems = weskitProblems(d, f);
      if (problems.length > 0) {
        await rm(dir, { recursive: true, force: true });
        return errorJson(c, 400, `Malformed request: ${pythonList(problems)}`);
      }
    } else {
      const problem = standardProblem(d, f, parsed.attachments.map((a) => a.name));
      if (problem !== null) {
        await rm(dir, { recursive: true, force: true });
        return errorJson(c, 400, problem);
      }
    }
    const params = parseObject(f.workflow_params);
    const tags = parseObject(f.tags);
    const engineParams = parseObject(f.workflow_engine_parameters);
    const run = await d.engine.create({
      id,
      user: c.get('user'),
      fields: f,
      workflowParams: params === 'invalid' || params === null ? {} : params,
      tags: stringMap(tags === 'invalid' ? null : tags),
      engineParameters: stringMap(engineParams === 'invalid' ? null : engineParams),
      dir,
      attachments: parsed.attachments,
    });
    return c.json({ run_id: run.id });
  });

  app.get('/ga4gh/wes/v1/runs', (c) => {
    const mine = [...d.engine.runs.values()].filter((r) => r.user === c.get('user'));
    if (weskit) {
      // WESkit lists every run of the caller in insertion order, without paging or tags.
      return c.json({ runs: mine.map((r) => ({ run_id: r.id, state: r.state })), next_page_token: '' });
    }
    const newest = mine.reverse();
    const rawSize = Number(c.req.query('page_size') ?? DEFAULT_PAGE_SIZE);
    const size = Number.isInteger(rawSize) && rawSize > 0 ? Math.min(rawSize, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
    const token = c.req.query('page_token');
    let offset = 0;
    if (token) {
      const m = /^o:(\d{1,9})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
      if (!m) return errorJson(c, 400, 'page_token is not valid');
      offset = Number(m[1]);
    }
    const page = newest.slice(offset, offset + size);
    const more = offset + size < newest.length;
    return c.json({ runs: page.map(runSummary), next_page_token: more ? Buffer.from(`o:${offset + size}`).toString('base64url') : '' });
  });

  app.get('/ga4gh/wes/v1/runs/:id', (c) => {
    const run = findRun(c);
    return run instanceof Response ? run : c.json(runLog(run, view(c)));
  });

  app.get('/ga4gh/wes/v1/runs/:id/status', (c) => {
    const run = findRun(c);
    return run instanceof Response ? run : c.json({ run_id: run.id, state: run.state });
  });

  app.post('/ga4gh/wes/v1/runs/:id/cancel', (c) => {
    const run = findRun(c);
    if (run instanceof Response) return run;
    d.engine.cancel(run);
    return c.json({ run_id: run.id });
  });

  if (!weskit) {
    app.get('/ga4gh/wes/v1/runs/:id/tasks', (c) => {
      const run = findRun(c);
      if (run instanceof Response) return run;
      const all = taskLogs(run, view(c));
      const rawSize = Number(c.req.query('page_size') ?? DEFAULT_PAGE_SIZE);
      const size = Number.isInteger(rawSize) && rawSize > 0 ? Math.min(rawSize, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
      const token = c.req.query('page_token');
      const offset = token ? Number(/^t:(\d{1,6})$/.exec(Buffer.from(token, 'base64url').toString('utf8'))?.[1] ?? NaN) : 0;
      if (!Number.isInteger(offset)) return errorJson(c, 400, 'page_token is not valid');
      const more = offset + size < all.length;
      return c.json({ task_logs: all.slice(offset, offset + size), next_page_token: more ? Buffer.from(`t:${offset + size}`).toString('base64url') : '' });
    });

    app.get('/ga4gh/wes/v1/runs/:id/tasks/:taskId', (c) => {
      const run = findRun(c);
      if (run instanceof Response) return run;
      const task = taskLogs(run, view(c)).find((t) => t.id === c.req.param('taskId'));
      return task ? c.json(task) : errorJson(c, 404, `Run ${run.id} has no task '${c.req.param('taskId')}'`);
    });

    app.get('/ga4gh/wes/v1/runs/:id/logs/:which', (c) => {
      const run = findRun(c);
      if (run instanceof Response) return run;
      const which = c.req.param('which');
      if (which !== 'stdout' && which !== 'stderr') return errorJson(c, 404, `No log '${which}'`);
      return c.text(`${(which === 'stdout' ? run.stdout : run.stderr).join('\n')}\n`);
    });

    app.get('/ga4gh/wes/v1/runs/:id/outputs/*', async (c) => {
      const run = findRun(c);
      if (run instanceof Response) return run;
      const prefix = `/ga4gh/wes/v1/runs/${run.id}/outputs/`;
      const name = decodeURIComponent(new URL(c.req.url).pathname.slice(prefix.length));
      const file = run.outputs.find((o) => o.name === name || o.name === `results/${name}`);
      if (!file) return errorJson(c, 404, `Run ${run.id} has no output '${name.slice(0, 100)}'`);
      return streamFile(file.path);
    });
  }

  if (weskit) {
    app.get('/weskit/v1/runs', (c) =>
      c.json(
        [...d.engine.runs.values()]
          .filter((r) => r.user === c.get('user'))
          .map((r) => ({ run_id: r.id, state: r.state, start_time: r.startTime === null ? null : new Date(r.startTime).toISOString(), user_id: r.user })),
      ),
    );
    app.get('/weskit/v1/runs/:id/:which{stdout|stderr}', (c) => {
      const run = findRun(c);
      if (run instanceof Response) return run;
      // WESkit Helper.get_log_response: logs only for runs that completed.
      if (run.state !== 'COMPLETE') return errorJson(c, 409, `Run '${run.id}' is not in COMPLETED state`);
      return c.json({ content: (c.req.param('which') === 'stdout' ? run.stdout : run.stderr).join('\n') });
    });
    app.get('/s3/weskit-results/:runId/*', async (c) => {
      const path = new URL(c.req.url).pathname;
      const run = d.engine.runs.get(c.req.param('runId'));
      const name = decodeURIComponent(path.slice(`/s3/weskit-results/${c.req.param('runId')}/`.length));
      const file = run?.outputs.find((o) => o.name === name) ?? null;
      return d.store.serve(c.req.raw, path, file?.path ?? null);
    });
  }

  app.notFound((c) => (weskit ? c.html(FLASK_404, 404) : errorJson(c, 404, `No route ${c.req.method} ${new URL(c.req.url).pathname}`)));
  app.onError((err, c) => (weskit ? c.html(FLASK_500, 500) : errorJson(c, 500, err.message)));
  return app;
}

async function streamFile(path: string): Promise<Response> {
  const size = (await stat(path)).size;
  const body = Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>;
  return new Response(body, { status: 200, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) } });
}

