/** What any WES client does, over real HTTP: submit multipart, read JSON, wait for a state. */
import { openAsBlob } from 'node:fs';
import { basename, resolve } from 'node:path';
import { call } from './http';

export { call, type JsonResponse } from './http';

const DEMO_DIR = resolve(import.meta.dirname, '../../demo/data');

/** A demo cohort file (synthetic, 60 samples), e.g. `demoFile('hg19', 20)`. */
export const demoFile = (build: 'hg19' | 'hg38', chr: 20 | 21 | 22): string => resolve(DEMO_DIR, build, `chr${chr}.vcf.gz`);

export interface SubmitOptions {
  files?: string[];
  params?: Record<string, unknown>;
  /** Fields to set or override (`workflow_type`, `workflow_params` as raw text, `tags`...). */
  fields?: Record<string, string>;
}

/** POST /runs as multipart/form-data (a real body with a boundary, built by undici's FormData). */
export async function submitRun(wesUrl: string, token: string | null, o: SubmitOptions = {}): Promise<Response> {
  const form = new FormData();
  form.set('workflow_type', 'NFL');
  form.set('workflow_type_version', 'DSL2');
  form.set('workflow_url', `${wesUrl.replace(/\/ga4gh\/wes\/v1$/, '')}/workflows/imputation`);
  form.set('workflow_params', JSON.stringify(o.params ?? {}));
  for (const [k, v] of Object.entries(o.fields ?? {})) form.set(k, v);
  for (const f of o.files ?? []) form.append('workflow_attachment', await openAsBlob(f), basename(f));
  return fetch(`${wesUrl}/runs`, { method: 'POST', headers: token ? { Authorization: `Bearer ${token}` } : {}, body: form });
}

export const TERMINAL = new Set(['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED']);

const stateOf = (body: unknown): string | undefined =>
  typeof body === 'object' && body !== null && 'state' in body && typeof body.state === 'string' ? body.state : undefined;

/** Polls GET /runs/{id}/status until `done(state)`; returns the last state. */
export async function waitForState(
  wesUrl: string,
  token: string,
  runId: string,
  done: (state: string) => boolean,
  timeoutMs = 60_000,
): Promise<string> {
  const until = Date.now() + timeoutMs;
  let last: string | undefined;
  while (Date.now() < until) {
    last = stateOf((await call(`${wesUrl}/runs/${runId}/status`, token)).body);
    if (last !== undefined && done(last)) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`run ${runId} did not reach the expected state within ${timeoutMs} ms (last: ${String(last)})`);
}

export const runIdOf = (body: unknown): string => {
  if (typeof body === 'object' && body !== null && 'run_id' in body && typeof body.run_id === 'string') return body.run_id;
  throw new Error(`no run_id in ${JSON.stringify(body)}`);
};
