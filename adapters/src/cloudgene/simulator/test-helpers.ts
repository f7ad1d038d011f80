/** Shared set-up for the simulator's tests: a simulator on loopback, a synthetic cohort, a client. */
import { mkdtemp, rm } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticCohort, writeSyntheticVcf } from '../../vcf/synth';
import { createCloudgeneSimulator, FAST_TIMING, type CloudgeneSimulator } from './index';
import type { SimulatorOptions } from './types';

export interface Harness {
  sim: CloudgeneSimulator;
  base: string;
  dir: string;
  token: string;
  otherToken: string;
  adminToken: string;
  close(): Promise<void>;
}

export async function startHarness(overrides: Partial<SimulatorOptions> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'cg-sim-'));
  const sim = createCloudgeneSimulator({
    profile: 'mis2',
    workDir: join(dir, 'work'),
    users: [
      { username: 'jdoe', password: 'secret1', fullName: 'John Doe', mail: 'jdoe@example.org' },
      { username: 'other', password: 'secret2' },
      { username: 'admin', password: 'secret3', admin: true },
    ],
    timing: FAST_TIMING,
    jwtSecret: 'test-secret-test-secret-test-secret',
    ...overrides,
  });
  const base = await sim.start();
  return {
    sim,
    base,
    dir,
    token: await sim.createApiToken('jdoe'),
    otherToken: await sim.createApiToken('other'),
    adminToken: await sim.createApiToken('admin'),
    async close() {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function cohort(dir: string, opts: { build?: 'hg19' | 'hg38'; chromosomes?: string[]; samples?: number; variants?: number; phased?: boolean } = {}): Promise<string[]> {
  const files = await writeSyntheticCohort(join(dir, `cohort-${Math.random().toString(36).slice(2)}`), {
    build: opts.build ?? 'hg19',
    chromosomes: opts.chromosomes ?? ['20'],
    samples: opts.samples ?? 25,
    variantsPerChromosome: opts.variants ?? 300,
    phased: opts.phased ?? false,
    seed: 3,
  });
  return files.map((f) => f.path);
}

export async function singleVcf(dir: string, name: string, chromosome: string, samples = 25, variants = 100): Promise<string> {
  const f = await writeSyntheticVcf(join(dir, `single-${Math.random().toString(36).slice(2)}`, name), { chromosome, samples, variants, phased: false });
  return f.path;
}

export type Fields = Record<string, string | string[]>;

export async function submit(h: { base: string }, token: string, fields: Fields, files: string[], app = 'imputationserver2'): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) form.append(k, x);
  for (const f of files) form.append('files', await openAsBlob(f), f.split('/').at(-1));
  return fetch(`${h.base}/api/v2/jobs/submit/${app}`, { method: 'POST', headers: { 'X-Auth-Token': token }, body: form });
}

export const DEFAULT_FIELDS: Fields = {
  refpanel: 'apps@hapmap-2@2.0.0',
  population: 'eur',
  build: 'hg19',
  phasing: 'eagle',
  mode: 'imputation',
  password: 'k7RqM2xT9vBn4',
};

export async function getJson(h: { base: string }, path: string, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${h.base}${path}`, { headers: token ? { 'X-Auth-Token': token } : {} });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export async function waitForState(h: { base: string }, token: string, id: string, done: (state: number) => boolean, timeoutMs = 20000): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await getJson(h, `/api/v2/jobs/${id}/status`, token);
    if (done(body.state as number)) return body;
    if (Date.now() > until) throw new Error(`job ${id} stuck in state ${String(body.state)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const finished = (s: number): boolean => ![1, 2, 3].includes(s);
