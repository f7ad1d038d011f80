/**
 * The adapter against a scripted HTTP server on loopback: what goes on the wire (headers, form
 * parts, methods, number of GETs) and how each answer is classified. The behaviour of a whole
 * Cloudgene server is covered by integration.test.ts against the simulator.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text as streamText } from 'node:stream/consumers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackendError, type SubmitRequest } from '../types';
import { createCloudgeneAdapter } from './index';
import { fixture, fixturesAvailable } from './fixtures.test-helper';

const TOKEN = 'eyJ.test-token.sig';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Handler = (req: Seen, res: ServerResponse) => void | Promise<void>;

class ScriptedServer {
  readonly seen: Seen[] = [];
  handler: Handler = (_req, res) => json(res, 404, { message: 'not scripted' });
  #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
        this.seen.push(seen);
        void Promise.resolve(this.handler(seen, res)).catch((e: unknown) => {
          res.destroy(e instanceof Error ? e : undefined);
        });
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function rejection(promise: Promise<unknown>): Promise<BackendError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BackendError) return error;
    throw error;
  }
  throw new Error('expected a BackendError');
}

const server = new ScriptedServer();
const other = new ScriptedServer();
let base = '';
let otherBase = '';
let dir = '';

beforeAll(async () => {
  base = await server.start();
  otherBase = await other.start();
  dir = await mkdtemp(join(tmpdir(), 'cg-adapter-'));
});

afterAll(async () => {
  await server.close();
  await other.close();
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  server.seen.length = 0;
  other.seen.length = 0;
});

const adapter = (timeoutMs = 2000) =>
  createCloudgeneAdapter({ baseUrl: `${base}/`, token: TOKEN, timeoutMs, userAgent: 'broker-test/1' });

describe('authentication header', () => {
  it('sends X-Auth-Token without Bearer, and no Authorization header', async () => {
    server.handler = (_req, res) => json(res, 200, { name: 'Sim', maintenace: false, loggedIn: true, apps: [{ id: 'imputationserver2@2.0.12' }] });
    await adapter().health();
    const [req] = server.seen;
    expect(req?.headers['x-auth-token']).toBe(TOKEN);
    expect(req?.headers.authorization).toBeUndefined();
    expect(req?.headers['user-agent']).toBe('broker-test/1');
    expect(req?.url).toBe('/api/v2/server');
  });
});

describe('submit', () => {
  async function request(overrides: Partial<SubmitRequest['params']> = {}): Promise<SubmitRequest> {
    const a = join(dir, 'a.bin');
    const b = join(dir, 'b.bin');
    await writeFile(a, 'first file bytes');
    await writeFile(b, Buffer.alloc(70_000, 7));
    return {
      runId: 'run-0001',
      password: 'k7RqM2xT9vBn4',
      params: { refpanel: 'apps@hapmap-2@2.0.0', population: 'eur', build: 'hg19', phasing: 'eagle', r2Filter: '0', mode: 'imputation', ...overrides },
      files: [
        { name: 'chr20.vcf.gz', path: a, size: 16 },
        { name: 'chr21.vcf.gz', path: b, size: 70_000 },
      ],
    };
  }

  async function parts(seen: Seen | undefined): Promise<FormData> {
    if (!seen) throw new Error('no request');
    return new Response(new Uint8Array(seen.body), { headers: { 'content-type': String(seen.headers['content-type']) } }).formData();
  }

  it('posts only known multipart fields, files with their names, job-name = run id', async () => {
    server.handler = (_req, res) => json(res, 200, { success: true, message: 'Your job was successfully added to the job queue.', id: 'job-20251016-224029-866' });
    const id = await adapter().submit(await request());
    expect(id).toBe('job-20251016-224029-866');
    const [req] = server.seen;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/api/v2/jobs/submit/imputationserver2');
    expect(req?.headers['x-auth-token']).toBe(TOKEN);
    const form = await parts(req);
    expect([...new Set(form.keys())].sort()).toEqual(
      ['build', 'files', 'job-name', 'mode', 'password', 'phasing', 'population', 'r2Filter', 'refpanel'].sort(),
    );
    expect(form.get('job-name')).toBe('run-0001');
    expect(form.get('refpanel')).toBe('apps@hapmap-2@2.0.0');
    expect(form.get('population')).toBe('eur');
    expect(form.get('password')).toBe('k7RqM2xT9vBn4');
    const files = form.getAll('files').filter((f): f is File => typeof f !== 'string');
    expect(files.map((f) => f.name)).toEqual(['chr20.vcf.gz', 'chr21.vcf.gz']);
    expect(await files[0]?.text()).toBe('first file bytes');
    expect(files[1]?.size).toBe(70_000);
  });

  it('streams the files: memory stays flat however large the upload', async () => {
    const big = join(dir, 'big.bin');
    const size = 192 * 1024 * 1024;
    await writeFile(big, '');
    await truncate(big, size); // sparse: costs no disk
    const sink = createServer((req, res) => {
      let received = 0;
      req.on('data', (c: Buffer) => (received += c.length));
      req.on('end', () => json(res, 200, { success: true, id: `job-${received}` }));
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 2);
    try {
      const base = await request();
      const id = await createCloudgeneAdapter({ baseUrl: url, token: TOKEN }).submit({
        ...base,
        files: [{ name: 'chr1.vcf.gz', path: big, size }],
      });
      expect(Number(id.slice(4))).toBeGreaterThan(size);
    } finally {
      clearInterval(sampler);
      sink.closeAllConnections();
      await new Promise<void>((resolve) => sink.close(() => resolve()));
      await rm(big, { force: true });
    }
    // A teed request body (undici clones requests unless redirect is 'error') would hold it all.
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  });

  it('sends a checkbox only when it is on, because presence means on', async () => {
    server.handler = (_req, res) => json(res, 200, { success: true, id: 'job-1' });
    await adapter().submit(await request({ aesEncryption: false, meta: true }));
    const form = await parts(server.seen[0]);
    expect(form.has('aesEncryption')).toBe(false);
    expect(form.get('meta')).toBe('true');
  });

  it('refuses before uploading what Cloudgene would drop or mangle', async () => {
    const bad = await request();
    await expect(adapter().submit({ ...bad, password: 'pa$$word' })).rejects.toMatchObject({ kind: 'rejected' });
    await expect(adapter().submit({ ...bad, files: [{ ...bad.files[0]!, name: 'chr20.vcf' }] })).rejects.toMatchObject({ kind: 'rejected' });
    await expect(adapter().submit({ ...bad, files: [bad.files[0]!, bad.files[0]!] })).rejects.toMatchObject({ kind: 'rejected' });
    expect(server.seen).toHaveLength(0);
  });

  it.each([
    [400, { message: 'Only 2 jobs per user can be executed simultaneously.', success: false }, 'capacity'],
    [400, { message: "Parameter 'files-source' not found.", success: false }, 'rejected'],
    [503, { message: 'This functionality is currently under maintenance.', success: false }, 'maintenance'],
    [401, '', 'auth'],
    [500, 'Internal Server Error', 'unreachable'],
  ] as const)('HTTP %i → %s… kind %s with Cloudgene’s message', async (status, body, kind) => {
    server.handler = (_req, res) => {
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const error = await rejection(adapter().submit(await request()));
    expect(error.kind).toBe(kind);
    expect(error.status).toBe(status);
    if (typeof body !== 'string') expect(error.message).toContain(body.message);
    expect(error.message).not.toContain(TOKEN);
  });

  it('passes a plain-text 400 body on as the message', async () => {
    server.handler = (_req, res) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('java.io.IOException: No space left on device');
    };
    const error = await rejection(adapter().submit(await request()));
    expect(error).toMatchObject({ kind: 'rejected', status: 400 });
    expect(error.message).toContain('java.io.IOException: No space left on device');
  });
});

describe('findByRunId', () => {
  const entry = (id: string, name: string, submittedOn: number) => ({ id, name, state: 2, submittedOn, steps: [], outputParams: [] });

  it('follows `next` through the pages and matches on the (HTML-escaped) name', async () => {
    server.handler = (req, res) => {
      const page = new URL(req.url, base).searchParams.get('page');
      if (page === '1') return json(res, 200, { count: 17, page: 1, pageSize: 15, prev: null, next: 2, pages: [1, 2], data: [entry('job-a', 'other', 3)] });
      return json(res, 200, { count: 17, page: 2, pageSize: 15, prev: 1, next: null, pages: [1, 2], data: [entry('job-b', 'run &amp; b', 1)] });
    };
    expect(await adapter().findByRunId('run & b')).toBe('job-b');
    expect(server.seen.map((r) => r.url)).toEqual(['/api/v2/jobs?page=1', '/api/v2/jobs?page=2']);
  });

  it('returns null when no job carries the run id, and takes the newest when several do', async () => {
    server.handler = (_req, res) =>
      json(res, 200, { count: 3, page: 1, pageSize: 3, prev: null, next: null, pages: [1], data: [entry('job-old', 'run-9', 1), entry('job-new', 'run-9', 5), entry('x', 'y', 9)] });
    expect(await adapter().findByRunId('run-9')).toBe('job-new');
    expect(await adapter().findByRunId('run-404')).toBeNull();
  });

  it.skipIf(!fixturesAvailable)('reads the fixture pages', async () => {
    server.handler = (_req, res) => json(res, 200, fixture('jobs-list-all.json'));
    expect(await adapter().findByRunId('job-20250829-110739-457')).toBe('job-20250829-110739-457');
  });
});

describe('job routes', () => {
  it.skipIf(!fixturesAvailable)('getJob reads /status; cancel and restart are GETs', async () => {
    server.handler = (req, res) => json(res, 200, req.url.endsWith('/restart') ? fixture('restart-success.json') : fixture('job-running.json'));
    const job = await adapter().getJob('job-20251016-102620-166');
    expect(job.state).toBe('RUNNING');
    await adapter().cancel('job-20251016-102620-166');
    await adapter().restart('job-20251016-102620-166');
    expect(server.seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /api/v2/jobs/job-20251016-102620-166/status',
      'GET /api/v2/jobs/job-20251016-102620-166/cancel',
      'GET /api/v2/jobs/job-20251016-102620-166/restart',
    ]);
  });

  it('maps an unknown job to not_found and a refused restart to rejected', async () => {
    server.handler = (req, res) =>
      req.url.endsWith('/restart')
        ? json(res, 400, { message: 'Job job-x is not pending.', success: false })
        : json(res, 404, { message: 'Job job-x not found.', success: false });
    const missing = await rejection(adapter().getJob('job-x'));
    expect(missing).toMatchObject({ kind: 'not_found', status: 404 });
    expect(missing.message).toContain('Job job-x not found.');
    await expect(adapter().cancel('job-x')).rejects.toMatchObject({ kind: 'not_found' });
    await expect(adapter().restart('job-x')).rejects.toMatchObject({ kind: 'rejected' });
  });

  it('explains a job that failed before its first step from the job log', async () => {
    server.handler = (req, res) => {
      if (req.url === '/logs/job-y') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        return void res.end('10:00 Setup job\n10:00 Initialization failed: Application apps@nope is not installed or wrong permissions.\n');
      }
      return json(res, 200, { id: 'job-y', name: 'run-y', state: 5, steps: [], outputParams: [] });
    };
    const job = await adapter().getJob('job-y');
    expect(job.state).toBe('EXECUTOR_ERROR');
    expect(job.errors).toEqual(['10:00 Initialization failed: Application apps@nope is not installed or wrong permissions.']);
  });

  it('calls a redirect on an API route an error and does not carry the token to the other host', async () => {
    server.handler = (_req, res) => {
      res.writeHead(301, { location: `${otherBase}/api/v2/jobs/j/status` });
      res.end();
    };
    const error = await rejection(adapter().getJob('j'));
    expect(error.kind).toBe('rejected');
    expect(other.seen).toHaveLength(0);
  });
});

describe('network failures', () => {
  it('a closed port is unreachable', async () => {
    const closed = new ScriptedServer();
    const url = await closed.start();
    await closed.close();
    const down = createCloudgeneAdapter({ baseUrl: url, token: TOKEN, timeoutMs: 1000 });
    const error = await rejection(down.getJob('j'));
    expect(error.kind).toBe('unreachable');
    expect(error.retryable).toBe(true);
    const health = await down.health();
    expect(health).toMatchObject({ ok: false, maintenance: false });
  });

  it('a server that never answers times out as unreachable', async () => {
    server.handler = () => undefined;
    const error = await rejection(adapter(300).discover());
    expect(error.kind).toBe('unreachable');
    expect(error.message).toContain('timed out after 300 ms');
  });
});

describe('health', () => {
  it.skipIf(!fixturesAvailable)('is ok for a normal server and reports the misspelled maintenance flag', async () => {
    const body = fixture('server.json') as Record<string, unknown>;
    server.handler = (_req, res) => json(res, 200, body);
    const ok = await adapter().health();
    expect(ok).toMatchObject({ ok: true, maintenance: false });
    expect(ok.detail).toContain('imputationserver2@2.0.12');
    expect(ok.latencyMs).toBeGreaterThanOrEqual(0);
    server.handler = (_req, res) => json(res, 200, { ...body, maintenace: true });
    expect(await adapter().health()).toMatchObject({ ok: false, maintenance: true });
  });

  it('never throws on a rejected token', async () => {
    server.handler = (_req, res) => json(res, 401, { message: 'Unauthorized' });
    const report = await adapter().health();
    expect(report.ok).toBe(false);
    expect(report.detail).toContain('401');
    expect(report.detail).not.toContain(TOKEN);
  });
});

describe('verifyToken', () => {
  it('posts the token as a form field, anonymously, and reads the expiry', async () => {
    server.handler = (_req, res) =>
      json(res, 200, { valid: true, message: 'API Token was created by %s and is valid.', username: 'jdoe', expire: '2025-11-15T10:26:20.293+00:00' });
    const verdict = await adapter().verifyToken();
    expect(verdict).toEqual({ valid: true, message: 'API Token was created by %s and is valid.', username: 'jdoe', expiresAt: new Date('2025-11-15T10:26:20.293Z') });
    const [req] = server.seen;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/api/v2/tokens/verify');
    expect(req?.headers['x-auth-token']).toBeUndefined();
    expect(new URLSearchParams(req?.body.toString()).get('token')).toBe(TOKEN);
  });

  it('reports an invalid token as such', async () => {
    server.handler = (_req, res) => json(res, 200, { valid: false, message: 'Invalid API Token.', username: null, expire: 'garbage' });
    expect(await adapter().verifyToken()).toEqual({ valid: false, message: 'Invalid API Token.', username: null, expiresAt: null });
  });
});

describe('download', () => {
  const output = { name: 'statistics/snps excluded.txt', size: null, ref: 'f461f5e8' };

  it('is one GET without token, follows a redirect to storage and streams the body', async () => {
    server.handler = (_req, res) => {
      res.writeHead(301, { location: `${otherBase}/bucket/object?X-Amz-Signature=abc` });
      res.end();
    };
    other.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write('hello ');
      setTimeout(() => res.end('world'), 50);
    };
    const body = await adapter().download(output);
    expect(await streamText(body)).toBe('hello world');
    expect(server.seen.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /share/results/f461f5e8/statistics/snps%20excluded.txt']);
    expect(server.seen[0]?.headers['x-auth-token']).toBeUndefined();
    expect(other.seen).toHaveLength(1);
    expect(other.seen[0]?.headers['x-auth-token']).toBeUndefined();
  });

  it.each([
    [400, { message: 'number of max downloads exceeded.', success: false }, 'gone'],
    [404, { message: 'download not found.', success: false }, 'gone'],
    [502, { message: 'Bad Gateway' }, 'unreachable'],
  ] as const)('HTTP %i → %s', async (status, body, kind) => {
    server.handler = (_req, res) => json(res, status, body);
    const error = await rejection(adapter().download(output));
    expect(error.kind).toBe(kind);
    expect(error.message).toContain(body.message);
    expect(server.seen).toHaveLength(1);
  });

  it('fails a body that stalls, instead of hanging', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200);
      res.write('partial');
    };
    const body = await adapter(300).download(output);
    const error = await streamText(body).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ kind: 'unreachable' });
  });

  it('does not count a slow reader as a stall', async () => {
    server.handler = (_req, res) => {
      res.writeHead(200);
      res.end('x'.repeat(10_000));
    };
    const body = await adapter(200).download(output);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await streamText(body)).length).toBe(10_000);
  });
});
