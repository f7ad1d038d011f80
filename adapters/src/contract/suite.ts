/**
 * The adapter contract: what every adapter must do against a faithful simulator of its backend
 * before the run engine may rely on it. A new adapter is done when it passes this suite.
 *
 *   describeAdapterContract('wes (weskit, attachments)', async (ctx) => { ...start a simulator...; return backend; });
 *
 * `setup` starts the simulator(s) and returns the adapter, a second adapter on a simulator whose
 * runs take long enough to cancel, and the simulator's controls. The suite puts a hostile proxy
 * (contract/hostile-proxy.ts) in front of the main simulator through `ctx.proxy`, and serves
 * inputs over loopback http and DRS through `ctx.inputs` for backends that fetch them.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCohort } from '../vcf/synth';
import {
  type Adapter,
  BackendError,
  type ImputationParams,
  type RemoteJob,
  type SubmitRequest,
  TERMINAL_STATES,
  type WesState,
} from '../types';
import type { Faults, RateLimit } from '../sim/faults';
import { HUGE_BODY_BYTES, PROXY_RETRY_AFTER_SECONDS, startHostileProxy, type HostileProxy, type ProxyMode } from './hostile-proxy';
import { startInputServer, type InputServer } from './input-server';

export interface ContractContext {
  /** A fresh directory for the simulators' work; removed after the suite. */
  dir: string;
  /** Puts the suite's hostile proxy in front of `upstream` (an origin); returns the proxy's origin. */
  proxy(upstream: string): Promise<string>;
  /** Loopback input server: files by URL and as DRS objects. */
  inputs: InputServer;
}

export interface ConnectOptions {
  timeoutMs?: number;
  /** Credentials the backend will refuse (a wrong token, a wrong client secret). */
  badCredentials?: boolean;
}

export interface ContractControls {
  setFaults(faults: Partial<Faults>): void;
  /** The simulator's own 429 knob; without one the suite's proxy answers 429. */
  setRateLimit?(limit: RateLimit | null): void;
  /** Ends the slow simulator's pending cancellations (those that hold CANCELING). */
  completeCancellations?(): void;
}

export interface ContractBackend {
  /** The adapter under test, talking to the main simulator through the proxy. */
  adapter: Adapter;
  /** Another adapter to the same simulator (through the proxy) with other settings. */
  connect(options: ConnectOptions): Adapter;
  /** An adapter to a second simulator whose runs take minutes: something to cancel. */
  slowAdapter: Adapter;
  controls: ContractControls;
  /** Parameters of a run that succeeds on this backend (panel, population, build...). */
  params: ImputationParams;
  /** The build of the synthetic cohort that matches `params.build`. */
  build: 'hg19' | 'hg38';
  /** sha-256 of every result file the simulator wrote for a job. */
  writtenOutputs(remoteId: string): Promise<string[]>;
  /** A job id of the backend's own shape that does not exist. */
  unknownRemoteId: string;
  /** What the backend's explanation of a build mismatch looks like in `RemoteJob.errors`. */
  failureMessage: RegExp;
  /** Whether cancel passes through CANCELING (WES, eWES) or ends at once (Cloudgene). */
  cancelIsAsync: boolean;
  /** Whether the backend reports tasks at all (WESkit does not). */
  hasTasks: boolean;
  /** A secret of the bad credentials, to check it never appears in a message. */
  badSecret: string;
  close(): Promise<void>;
}

const PASSWORD = 'k7RqM2xT9vBn4';
const POLL_MS = 40;
const RUN_DEADLINE_MS = 45_000;

async function sha256(stream: Readable): Promise<{ hash: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    hash.update(buffer);
  }
  return { hash: hash.digest('hex'), bytes };
}

export async function fileSha256(path: string): Promise<string> {
  return (await sha256(createReadStream(path))).hash;
}

/** The BackendError a call ends with; fails when it resolves or throws anything else. */
async function failure(promise: Promise<unknown>): Promise<BackendError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BackendError) return error;
    throw new Error(`expected a BackendError, got ${String(error)}`);
  }
  throw new Error('expected a BackendError, the call succeeded');
}

async function waitFor(adapter: Adapter, id: string, done: (job: RemoteJob) => boolean, seen: WesState[] = []): Promise<RemoteJob> {
  const deadline = Date.now() + RUN_DEADLINE_MS;
  for (;;) {
    const job = await adapter.getJob(id);
    if (seen.at(-1) !== job.state) seen.push(job.state);
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state} (${job.rawState}) after ${RUN_DEADLINE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

const terminal = (job: RemoteJob): boolean => TERMINAL_STATES.has(job.state);

export function describeAdapterContract(name: string, setup: (ctx: ContractContext) => Promise<ContractBackend>): void {
  describe(`adapter contract: ${name}`, () => {
    let dir = '';
    let inputs: InputServer;
    let proxy: HostileProxy | null = null;
    let backend: ContractBackend;

    const theProxy = (): HostileProxy => {
      if (!proxy) throw new Error('setup did not put its simulator behind ctx.proxy');
      return proxy;
    };

    /** A synthetic cohort, served for backends that fetch inputs, as the broker would stage it. */
    async function cohortRequest(build: 'hg19' | 'hg38', params: ImputationParams): Promise<SubmitRequest> {
      const files = await writeSyntheticCohort(join(dir, `cohort-${randomUUID()}`), {
        build,
        chromosomes: ['20'],
        samples: 24,
        variantsPerChromosome: 240,
        phased: false,
        seed: 11,
      });
      return {
        runId: `run-${randomUUID()}`,
        password: PASSWORD,
        params,
        files: await Promise.all(
          files.map(async (f) => {
            const fileName = f.path.split('/').at(-1) ?? 'chr20.vcf.gz';
            return { name: fileName, path: f.path, size: (await stat(f.path)).size, ...(await inputs.add(f.path, fileName)) };
          }),
        ),
      };
    }

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'adapter-contract-'));
      inputs = await startInputServer();
      backend = await setup({
        dir,
        inputs,
        proxy: async (upstream) => {
          proxy = await startHostileProxy(upstream);
          return proxy.url;
        },
      });
    });

    afterAll(async () => {
      await backend?.close();
      await proxy?.shutDown().catch(() => undefined);
      await inputs?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('discovers a catalog that offers the panel runs use', async () => {
      const catalog = await backend.adapter.discover();
      const wanted = backend.params.refpanel;
      const panel = catalog.panels.find((p) => p.key === wanted);
      expect(panel, `panel ${wanted} in ${catalog.panels.map((p) => p.key).join(', ')}`).toBeDefined();
      expect(panel?.populations.map((p) => p.id)).toContain(backend.params.population);
      expect(catalog.builds).toContain(backend.params.build);
      expect(catalog.appId).not.toBe('');
    });

    it('reports health without throwing', async () => {
      const health = await backend.adapter.health();
      expect(health.ok).toBe(true);
      expect(health.maintenance).toBe(false);
      expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    });

    describe('a run from submission to results', () => {
      let request: SubmitRequest;
      let id = '';
      let job: RemoteJob;
      const seen: WesState[] = [];

      beforeAll(async () => {
        request = await cohortRequest(backend.build, backend.params);
        id = await backend.adapter.submit(request);
        job = await waitFor(backend.adapter, id, terminal, seen);
      });

      it('progresses through WES states to COMPLETE', () => {
        expect(job.state, job.errors.join('; ')).toBe('COMPLETE');
        expect(seen.at(-1)).toBe('COMPLETE');
        for (const state of seen) expect(['QUEUED', 'INITIALIZING', 'RUNNING', 'COMPLETE']).toContain(state);
        expect(job.progress).toBe(100);
        expect(job.errors).toEqual([]);
        expect(job.name).toBe(request.runId);
        expect(job.remoteId).toBe(id);
        expect(job.endTime).not.toBeNull();
      });

      it('finds the job by run id after submission, and nothing for an unknown run id', async () => {
        expect(await backend.adapter.findByRunId(request.runId)).toBe(id);
        expect(await backend.adapter.findByRunId(`run-${randomUUID()}`)).toBeNull();
      });

      it('lists tasks with names and times', () => {
        if (!backend.hasTasks) {
          expect(job.tasks).toEqual([]);
          return;
        }
        expect(job.tasks.length).toBeGreaterThan(0);
        for (const task of job.tasks) {
          expect(task.name).not.toBe('');
          expect(task.state).toBe('COMPLETE');
        }
        const timed = job.tasks.filter((t) => t.startTime !== null && t.endTime !== null);
        expect(timed.length).toBeGreaterThan(0);
        for (const t of timed) expect(t.endTime!.getTime()).toBeGreaterThanOrEqual(t.startTime!.getTime());
      });

      it('downloads every output with the bytes the backend wrote', async () => {
        const downloadable = job.outputs.filter((o) => !o.reference);
        expect(downloadable.length).toBeGreaterThan(0);
        expect(downloadable.some((o) => /(\.dose\.vcf\.gz|\.zip)$/.test(o.name))).toBe(true);
        const got: string[] = [];
        for (const output of downloadable) {
          const { hash, bytes } = await sha256(await backend.adapter.download(output));
          if (output.size !== null) expect(bytes, output.name).toBe(output.size);
          got.push(hash);
        }
        expect(got.sort()).toEqual((await backend.writtenOutputs(id)).sort());
      });

      it('cancel of a finished job is harmless', async () => {
        await backend.adapter.cancel(id);
        expect((await backend.adapter.getJob(id)).state).toBe('COMPLETE');
      });
    });

    it("a failing job ends in an error state with the backend's message", async () => {
      const wrongBuild = backend.build === 'hg19' ? 'hg38' : 'hg19';
      const request = await cohortRequest(wrongBuild, backend.params);
      const id = await backend.adapter.submit(request);
      const job = await waitFor(backend.adapter, id, terminal);
      expect(['EXECUTOR_ERROR', 'SYSTEM_ERROR']).toContain(job.state);
      expect(job.errors.join('\n')).toMatch(backend.failureMessage);
    });

    it('cancels a running job: CANCELING (where the backend has it), then CANCELED; again is harmless', async () => {
      const slow = backend.slowAdapter;
      const request = await cohortRequest(backend.build, backend.params);
      const id = await slow.submit(request);
      await waitFor(slow, id, (j) => ['QUEUED', 'INITIALIZING', 'RUNNING'].includes(j.state));
      await slow.cancel(id);
      const after = await slow.getJob(id);
      if (backend.cancelIsAsync) {
        expect(after.state).toBe('CANCELING');
        backend.controls.completeCancellations?.();
      }
      const canceled = await waitFor(slow, id, terminal);
      expect(canceled.state).toBe('CANCELED');
      await slow.cancel(id);
      expect((await slow.getJob(id)).state).toBe('CANCELED');
    });

    it('an unknown job is not_found', async () => {
      expect((await failure(backend.adapter.getJob(backend.unknownRemoteId))).kind).toBe('not_found');
    });

    it('refused credentials are auth, and the secret is not in the message', async () => {
      const bad = backend.connect({ badCredentials: true });
      const error = await failure(bad.findByRunId('run-x'));
      expect(error.kind).toBe('auth');
      expect(error.retryable).toBe(false);
      expect(error.message).not.toContain(backend.badSecret);
      expect((await bad.health()).ok).toBe(false);
    });

    describe('network trouble is unreachable, never a crash', () => {
      const hostile: ProxyMode[] = ['garbage', 'html', 'html502', 'reset'];
      for (const mode of hostile) {
        it(`${mode}: getJob, findByRunId and health`, async () => {
          const p = theProxy();
          p.setMode(mode);
          try {
            const fresh = backend.connect({ timeoutMs: 2_000 });
            expect((await failure(backend.adapter.getJob(backend.unknownRemoteId))).kind).toBe('unreachable');
            expect((await failure(fresh.findByRunId('run-x'))).kind).toBe('unreachable');
            expect((await backend.adapter.health()).ok).toBe(false);
            expect(p.hits).toBeGreaterThan(0);
          } finally {
            p.setMode('pass');
          }
        });
      }

      it('garbage after an upload: unreachable, so the broker looks the job up instead of failing it', async () => {
        const request = await cohortRequest(backend.build, backend.params);
        const p = theProxy();
        p.setMode('garbage');
        try {
          expect((await failure(backend.adapter.submit(request))).kind).toBe('unreachable');
        } finally {
          p.setMode('pass');
        }
      });

      it('an endless body is cut off, not read to the end', async () => {
        const p = theProxy();
        p.setMode('huge');
        try {
          expect((await failure(backend.adapter.getJob(backend.unknownRemoteId))).kind).toBe('unreachable');
          expect(p.hugeBytesSent).toBeLessThan(HUGE_BODY_BYTES);
        } finally {
          p.setMode('pass');
        }
      });

      it('a server that never answers times out', async () => {
        const p = theProxy();
        p.setMode('hang');
        try {
          const impatient = backend.connect({ timeoutMs: 300 });
          const error = await failure(impatient.getJob(backend.unknownRemoteId));
          expect(error.kind).toBe('unreachable');
          expect(error.message).toMatch(/timed out|timeout/i);
        } finally {
          p.setMode('pass');
        }
      });

      it('500s and dropped connections from the backend itself', async () => {
        backend.controls.setFaults({ errorRate: 1 });
        try {
          expect((await failure(backend.adapter.getJob(backend.unknownRemoteId))).kind).toBe('unreachable');
        } finally {
          backend.controls.setFaults({ errorRate: 0 });
        }
        backend.controls.setFaults({ dropRate: 1 });
        try {
          expect((await failure(backend.adapter.getJob(backend.unknownRemoteId))).kind).toBe('unreachable');
          expect((await backend.adapter.health()).ok).toBe(false);
        } finally {
          backend.controls.setFaults({ dropRate: 0 });
        }
      });
    });

    it('429 is rate_limited, retryable, with the Retry-After in ms', async () => {
      const expectedMs = (backend.controls.setRateLimit ? 11 : PROXY_RETRY_AFTER_SECONDS) * 1000;
      if (backend.controls.setRateLimit) backend.controls.setRateLimit({ maxRequests: 0, windowMs: 60_000, retryAfterSeconds: 11 });
      else theProxy().setMode('rate-limit');
      try {
        const error = await failure(backend.adapter.getJob(backend.unknownRemoteId));
        expect(error).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: expectedMs });
        expect(error.retryable).toBe(true);
      } finally {
        backend.controls.setRateLimit?.(null);
        theProxy().setMode('pass');
      }
      // And it recovers once the limit lifts.
      expect((await failure(backend.adapter.getJob(backend.unknownRemoteId))).kind).toBe('not_found');
    });

    it('a backend that is gone (connection refused) is unreachable; health says so', async () => {
      await theProxy().shutDown();
      const error = await failure(backend.adapter.getJob(backend.unknownRemoteId));
      expect(error.kind).toBe('unreachable');
      expect(error.retryable).toBe(true);
      expect(await backend.adapter.health()).toMatchObject({ ok: false, maintenance: false });
    });
  });
}
