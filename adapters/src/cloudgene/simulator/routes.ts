/** The Cloudgene 3 HTTP surface (CG3 `server/controller/*`), routes and error bodies as the real server. */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { Hono, type Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import type { AuthService, Caller } from './auth';
import type { JobEngine } from './jobs';
import { parseSubmitForm } from './form';
import { isoWithOffset, randomAlnum } from './format';
import { matchesApp, type Profile } from './profiles';
import { appResponse, jobResponse, profileResponse, serverResponse, type JobView } from './responses';
import type { DownloadRegistry } from './workspace';
import { JobState, type Faults, type Job } from './types';

export interface RouteDeps {
  profile: Profile;
  auth: AuthService;
  engine: JobEngine;
  registry: DownloadRegistry;
  workDir: string;
  maxRunningJobsPerUser: number;
  now: () => number;
  random: () => number;
  faults: () => Faults;
  maintenance: () => boolean;
}

export type SimulatorEnv = { Bindings: HttpBindings; Variables: { caller: Caller } };
type Ctx = Context<SimulatorEnv>;

const PAGE_SIZE = 15;

const error = (c: Ctx, status: 400 | 403 | 404 | 500 | 503, message: string): Response =>
  c.json({ message, success: false }, status);

async function formValue(c: Ctx, name: string): Promise<string | undefined> {
  const type = c.req.header('content-type') ?? '';
  if (type.includes('application/json')) {
    const body = (await c.req.json().catch(() => ({}))) as Record<string, unknown>;
    const v = body[name];
    return typeof v === 'string' ? v : undefined;
  }
  const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

export function createRoutes(d: RouteDeps): Hono<SimulatorEnv> {
  const app = new Hono<SimulatorEnv>();
  const view: JobView = { engine: d.engine, registry: d.registry, profile: d.profile };
  /** Submissions per user whose files are still being stored (see the per-user limit below). */
  const submitting = new Map<string, number>();

  // Fault injection first, so it hits every route including downloads.
  app.use('*', async (c, next) => {
    const f = d.faults();
    if (f.latencyMs > 0) await delay(f.latencyMs);
    if (f.dropRate > 0 && d.random() < f.dropRate && c.env?.incoming) {
      c.env.incoming.socket.destroy();
      return new Response(null, { status: 500 });
    }
    if (f.errorRate > 0 && d.random() < f.errorRate) return error(c, 500, 'Internal Server Error');
    await next();
  });

  const requireAuth = (loginOnly: boolean) =>
    async (c: Ctx, next: () => Promise<void>): Promise<Response | void> => {
      const result = await d.auth.authenticate(c.req.header('x-auth-token'));
      if (!result.ok) return result.status === 401 ? c.body(null, 401) : error(c, 403, 'Forbidden');
      if (loginOnly && result.caller.api) return error(c, 403, 'Forbidden');
      c.set('caller', result.caller);
      await next();
    };
  const blockInMaintenance = async (c: Ctx, next: () => Promise<void>): Promise<Response | void> => {
    if (d.maintenance() && !c.get('caller').user.admin) {
      return error(c, 503, 'This functionality is currently under maintenance.');
    }
    await next();
  };

  // ---- authentication
  app.post('/login', async (c) => {
    const username = (await formValue(c, 'username')) ?? '';
    const password = (await formValue(c, 'password')) ?? '';
    const result = await d.auth.login(username, password);
    return result.ok ? c.json(result.body) : c.json({ message: result.message }, 401);
  });

  app.post('/api/v2/tokens/verify', async (c) => {
    const token = await formValue(c, 'token');
    const verified = await d.auth.verifyApiToken(token);
    if (!verified) {
      return c.json({ valid: false, message: 'Invalid API Token.', username: null, name: null, mail: null, expire: isoWithOffset(d.now()) });
    }
    const u = verified.user;
    return c.json({
      valid: true,
      // Never formatted in ApiTokenController.verify.
      message: 'API Token was created by %s and is valid.',
      username: u.username,
      name: u.fullName,
      mail: u.mail,
      expire: verified.expire === null ? null : isoWithOffset(verified.expire),
    });
  });

  app.post('/api/v2/users/:username/api-token', requireAuth(true), async (c) => {
    const raw = c.req.query('expiration');
    const days = raw === undefined || raw === '' ? undefined : Number(raw);
    const token = await d.auth.createApiToken(c.get('caller').user.username, Number.isFinite(days) ? days : undefined);
    return c.json({ token, success: true, message: 'Creation successfull.', type: 0, time: 0 });
  });
  app.delete('/api/v2/users/:username/api-token', requireAuth(true), (c) => {
    d.auth.revokeApiToken(c.get('caller').user.username);
    return c.json({ success: true, message: 'Revocation successfull.', type: 0, time: 0 });
  });
  app.get('/api/v2/users/:username/profile', requireAuth(false), (c) => c.json(profileResponse(c.get('caller').user, d.now())));

  // ---- server and apps
  app.get('/api/v2/server', async (c) => {
    const token = c.req.header('x-auth-token');
    if (!token) return c.json(serverResponse(d.profile, null, d.maintenance()));
    const result = await d.auth.authenticate(token);
    if (!result.ok) return result.status === 401 ? c.body(null, 401) : error(c, 403, 'Forbidden');
    return c.json(serverResponse(d.profile, result.caller.user, d.maintenance()));
  });
  app.get('/api/v2/server/apps/:appId', requireAuth(false), (c) => {
    const appId = c.req.param('appId') ?? '';
    if (!matchesApp(d.profile, appId)) {
      return error(c, 404, `Application ${appId} not found or the request requires user authentication.`);
    }
    return c.json(appResponse(d.profile));
  });

  // ---- jobs
  app.use('/api/v2/jobs/*', requireAuth(false), blockInMaintenance);
  app.use('/api/v2/jobs', requireAuth(false), blockInMaintenance);

  app.post('/api/v2/jobs/submit/:app', async (c) => {
    const appId = c.req.param('app') ?? '';
    const caller = c.get('caller');
    if (!matchesApp(d.profile, appId)) return error(c, 404, `Application '${appId}' not found.`);
    const uploadDir = join(d.workDir, `upload-${randomAlnum(12)}`);
    const parsed = await parseSubmitForm(c.req.raw, uploadDir);
    if (!parsed.ok) return parsed.json ? error(c, 400, parsed.message) : c.text(parsed.message, 400);
    // Micronaut binds the multipart body before the controller counts the user's jobs; counting
    // the submissions still being stored too makes the check and the claim one step, as there.
    const user = caller.user.username;
    if (!caller.user.admin && d.engine.activeCount(user) + (submitting.get(user) ?? 0) >= d.maxRunningJobsPerUser) {
      await rm(uploadDir, { recursive: true, force: true });
      return error(c, 400, `Only ${d.maxRunningJobsPerUser} jobs per user can be executed simultaneously.`);
    }
    submitting.set(user, (submitting.get(user) ?? 0) + 1);
    const v = parsed.form.values;
    const job = await d.engine.submit({
      username: caller.user.username,
      applicationId: appId,
      userAgent: c.req.header('user-agent') ?? '',
      jobName: v.get('job-name') || null,
      uploadDir,
      files: parsed.form.files,
      params: {
        refpanel: v.get('refpanel') ?? null,
        population: v.get('population') ?? null,
        build: v.get('build') || 'hg19',
        r2Filter: v.get('r2Filter') || '0',
        phasing: v.get('phasing') || 'eagle',
        mode: v.get('mode') || 'imputation',
        // JobParameterParser: a checkbox part means "on", whatever it says.
        aesEncryption: v.has('aesEncryption'),
        meta: v.has('meta'),
        password: v.get('password') || null,
      },
    }).finally(() => submitting.set(user, (submitting.get(user) ?? 1) - 1));
    return c.json({ success: true, message: 'Your job was successfully added to the job queue.', id: job.id });
  });

  app.get('/api/v2/jobs', (c) => {
    const caller = c.get('caller');
    const all = [...d.engine.jobs.values()]
      .filter((j) => j.username === caller.user.username && j.state !== JobState.DELETED)
      .reverse();
    const rawPage = c.req.query('page');
    const count = all.length;
    const pageSize = rawPage === undefined ? count : PAGE_SIZE;
    const pageCount = count === 0 ? 0 : Math.ceil(count / Math.max(pageSize, 1));
    const page = count === 0 ? 0 : Math.min(Math.max(Number(rawPage ?? '1') || 1, 1), pageCount);
    const data = count === 0 ? [] : all.slice((page - 1) * pageSize, page * pageSize);
    return c.json({
      count,
      page,
      pageSize,
      prev: page > 1 ? page - 1 : null,
      next: page < pageCount ? page + 1 : null,
      pages: Array.from({ length: pageCount }, (_, i) => i + 1),
      data: data.map((j) => jobResponse(j, view, caller.user.admin, d.now(), false)),
    });
  });

  const findJob = (c: Ctx): Job | Response => {
    const id = c.req.param('id') ?? '';
    const job = d.engine.jobs.get(id);
    if (!job) return error(c, 404, `Job ${id} not found.`);
    const caller = c.get('caller');
    if (job.username !== caller.user.username && !caller.user.admin) return error(c, 403, 'Access denied.');
    return job;
  };
  const show = (c: Ctx, job: Job): Response => c.json(jobResponse(job, view, c.get('caller').user.admin, d.now()));

  app.get('/api/v2/jobs/:id', (c) => {
    const job = findJob(c);
    return job instanceof Response ? job : show(c, job);
  });
  app.get('/api/v2/jobs/:id/status', (c) => {
    const job = findJob(c);
    return job instanceof Response ? job : show(c, job);
  });
  app.get('/api/v2/jobs/:id/cancel', (c) => {
    const job = findJob(c);
    if (job instanceof Response) return job;
    d.engine.cancel(job);
    return show(c, job);
  });
  app.get('/api/v2/jobs/:id/restart', async (c) => {
    const job = findJob(c);
    if (job instanceof Response) return job;
    if (job.state !== JobState.DEAD) return error(c, 400, `Job ${job.id} is not pending.`);
    await d.engine.restart(job);
    return c.json({ success: true, message: 'Your job was successfully added to the job queue.', type: 0, time: 0 });
  });
  app.delete('/api/v2/jobs/:id', async (c) => {
    if (c.get('caller').api) return error(c, 403, 'Forbidden');
    const job = findJob(c);
    if (job instanceof Response) return job;
    await d.engine.delete(job);
    return show(c, job);
  });

  // ---- logs
  app.get('/logs/:id', requireAuth(false), (c) => {
    const job = findJob(c);
    if (job instanceof Response) return job;
    return c.text(`${job.log.join('\n')}\n`);
  });

  // ---- downloads: the hash is the capability, no token; every GET costs one download
  const serveDownload = async (c: Ctx, hash: string, jobId: string | null): Promise<Response> => {
    const dl = d.registry.get(hash);
    if (!dl || (jobId !== null && dl.jobId !== jobId)) return error(c, 404, 'download not found.');
    if (dl.count <= 0) return error(c, 400, 'number of max downloads exceeded.');
    let size: number;
    try {
      size = (await stat(dl.absPath)).size;
    } catch {
      return error(c, 404, 'File not found in workspace.');
    }
    dl.count--;
    const body = Readable.toWeb(createReadStream(dl.absPath)) as unknown as ReadableStream<Uint8Array>;
    return new Response(body, {
      status: 200,
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(size),
        'Content-Disposition': `attachment; filename="${dl.name.split('/').at(-1) ?? dl.name}"`,
      },
    });
  };
  app.get('/share/results/:hash/*', (c) => serveDownload(c, c.req.param('hash'), null));
  app.get('/downloads/:jobId/:hash/*', (c) => serveDownload(c, c.req.param('hash'), c.req.param('jobId')));
  app.get('/get/:paramHash', (c) => {
    const job = [...d.engine.jobs.values()].find((j) => j.outputParamHash === c.req.param('paramHash'));
    if (!job) return error(c, 404, 'download not found.');
    const base = new URL(c.req.url).origin;
    const lines = job.outputs.map((f) => `curl -L ${base}/share/results/${f.hash}/${f.name} -o ${f.name} --create-dirs`);
    return c.text(`${lines.join('\n')}\n`);
  });
  app.get('/browse/:paramHash/*', async (c) => {
    const job = [...d.engine.jobs.values()].find((j) => j.outputParamHash === c.req.param('paramHash'));
    const prefix = `/browse/${c.req.param('paramHash')}/`;
    const name = decodeURIComponent(new URL(c.req.url).pathname.slice(prefix.length));
    const file = job?.outputs.find((f) => f.name === name);
    if (!job || !file) return error(c, 404, 'download not found.');
    return serveDownload(c, file.hash, null);
  });

  app.notFound((c) => c.json({ message: 'Page Not Found', success: false }, 404));
  app.onError((err, c) => error(c, 500, err.message));
  return app;
}
