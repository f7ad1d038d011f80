/**
 * The Cloudgene 3 adapter: one implementation for Michigan Imputation Server 2, TOPMed and
 * AfriGen-D, configured per server (base URL, API token, app id).
 */
import type { Readable } from 'node:stream';
import {
  type Adapter,
  BackendError,
  type Catalog,
  type HealthReport,
  type RemoteJob,
  type RemoteOutput,
  type SubmitRequest,
} from '../types';
import { parseCatalog } from './catalog';
import { CloudgeneClient, type CloudgeneClientOptions } from './client';
import { htmlToText, decodeEntities } from './text';
import { parseJob } from './jobs';
import { buildSubmitForm, checkSubmitRequest, totalBytes } from './submit';
import { asArray, asBoolean, asNumber, asRecord, asString, readJobPage, type WireJob } from './wire';

export { parseCatalog, splitPanelKey, buildFromLabel } from './catalog';
export { parseJob, mapState, OUTPUT_PARAM } from './jobs';
export { CloudgeneClient, DEFAULT_TIMEOUT_MS, DEFAULT_USER_AGENT } from './client';
export type { CloudgeneClientOptions } from './client';

export interface CloudgeneAdapterOptions extends CloudgeneClientOptions {
  /** `imputationserver2` (latest installed) or pinned, e.g. `imputationserver2@2.0.12`. */
  appId?: string;
  /**
   * Slowest upload rate still considered alive; the submit deadline grows with the cohort size
   * from it, because one fixed deadline cannot fit both a 1 MB and a 10 GB upload.
   */
  minUploadBytesPerSecond?: number;
  /** Upper bound on job-list pages read by `findByRunId` (15 jobs each on Cloudgene 3). */
  maxListPages?: number;
}

export interface TokenVerification {
  valid: boolean;
  /** When the token stops working; null if the server did not say (or said nonsense). */
  expiresAt: Date | null;
  /** Cloudgene's own text, e.g. "Invalid API Token.". */
  message: string;
  username: string | null;
}

export interface CloudgeneAdapter extends Adapter {
  readonly kind: 'cloudgene';
  readonly appId: string;
  restart(remoteId: string): Promise<void>;
  /** `POST /api/v2/tokens/verify`: is the configured token still accepted, and until when. */
  verifyToken(): Promise<TokenVerification>;
}

export const DEFAULT_APP_ID = 'imputationserver2';
const DEFAULT_MIN_UPLOAD_BYTES_PER_SECOND = 256 * 1024;
const DEFAULT_MAX_LIST_PAGES = 200;
/** Enough of `/logs/{id}` to find why a job died before its first step (job.txt comes first). */
const MAX_LOG_BYTES = 256 * 1024;

/** Ids go into path segments; `@` is kept readable because Cloudgene app ids carry it. */
function segment(value: string): string {
  return encodeURIComponent(value).replace(/%40/g, '@');
}

export function createCloudgeneAdapter(options: CloudgeneAdapterOptions): CloudgeneAdapter {
  const client = new CloudgeneClient(options);
  const appId = options.appId ?? DEFAULT_APP_ID;
  const minUploadRate = options.minUploadBytesPerSecond ?? DEFAULT_MIN_UPLOAD_BYTES_PER_SECOND;
  const maxListPages = options.maxListPages ?? DEFAULT_MAX_LIST_PAGES;

  async function health(): Promise<HealthReport> {
    const started = performance.now();
    const latency = (): number => Math.round(performance.now() - started);
    try {
      const server = asRecord(await client.json('/api/v2/server'));
      const latencyMs = latency();
      const name = asString(server.name) ?? 'Cloudgene';
      // The real API spells it `maintenace`; accept the correct spelling should it ever be fixed.
      const maintenance = asBoolean(server.maintenace) || asBoolean(server.maintenance);
      if (maintenance) return { ok: false, latencyMs, maintenance, detail: `${name} is under maintenance` };
      if (server.loggedIn === false) {
        return { ok: false, latencyMs, maintenance, detail: `${name} did not accept the API token` };
      }
      const installed = asArray(server.apps)
        .map((a) => asString(asRecord(a).id))
        .filter((id): id is string => id !== null);
      const app = installed.find((id) => id === appId || (!appId.includes('@') && id.split('@')[0] === appId));
      if (!app) return { ok: false, latencyMs, maintenance, detail: `${name} does not offer the app ${appId}` };
      return { ok: true, latencyMs, maintenance, detail: `${name}: ${app}` };
    } catch (error) {
      const kind = error instanceof BackendError ? error.kind : 'unreachable';
      const detail = error instanceof Error ? error.message : String(error);
      return { ok: false, latencyMs: latency(), maintenance: kind === 'maintenance', detail };
    }
  }

  async function discover(): Promise<Catalog> {
    return parseCatalog(await client.json(`/api/v2/server/apps/${segment(appId)}`));
  }

  async function findByRunId(runId: string): Promise<string | null> {
    let page = 1;
    for (let read = 0; read < maxListPages; read++) {
      const listing = readJobPage(await client.json(`/api/v2/jobs?page=${page}`));
      const match = newest(listing.jobs.filter((job) => sameName(job.name, runId)));
      if (match) return match.id;
      // Without `next` (or with a server that ignores `page`) the list is complete.
      if (listing.next === null || listing.next <= page) return null;
      page = listing.next;
    }
    return null;
  }

  async function submit(request: SubmitRequest): Promise<string> {
    checkSubmitRequest(request);
    const form = await buildSubmitForm(request);
    const timeoutMs = client.timeoutMs + Math.ceil((1000 * totalBytes(request)) / minUploadRate);
    const answer = asRecord(
      await client.json(`/api/v2/jobs/submit/${segment(appId)}`, {
        method: 'POST',
        body: form,
        context: 'submit',
        timeoutMs,
      }),
    );
    const id = asString(answer.id);
    if (answer.success === false || id === null || id === '') {
      const message = htmlToText(asString(answer.message) ?? 'no job id in the answer');
      throw new BackendError('rejected', `Cloudgene did not accept the job: ${message}`, 200);
    }
    return id;
  }

  async function getJob(remoteId: string): Promise<RemoteJob> {
    const job = parseJob(await client.json(`/api/v2/jobs/${segment(remoteId)}/status`, { context: 'job' }));
    if (job.state === 'EXECUTOR_ERROR' && job.errors.length === 0) {
      job.errors = await reasonFromLog(remoteId);
    }
    return job;
  }

  /**
   * A job that fails before its first step (unknown panel, app not installed) has empty `steps`;
   * Cloudgene writes the reason only to the job log (digest §1.3 rule 6).
   */
  async function reasonFromLog(remoteId: string): Promise<string[]> {
    const fallback = ['Cloudgene reported the job as failed without giving a reason'];
    try {
      const log = await client.text(`/logs/${segment(remoteId)}`, { context: 'job', maxBytes: MAX_LOG_BYTES });
      const lines = log
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => /error|failed|not installed|exception/i.test(line));
      const unique = [...new Set(lines)].slice(0, 5);
      return unique.length > 0 ? unique : fallback;
    } catch {
      return fallback;
    }
  }

  async function cancel(remoteId: string): Promise<void> {
    // A GET on Cloudgene; a job already in a terminal state comes back unchanged, without error.
    await client.text(`/api/v2/jobs/${segment(remoteId)}/cancel`, { context: 'job' });
  }

  async function restart(remoteId: string): Promise<void> {
    await client.text(`/api/v2/jobs/${segment(remoteId)}/restart`, { context: 'job' });
  }

  async function download(output: RemoteOutput): Promise<Readable> {
    const name = output.name.split('/').map(encodeURIComponent).join('/');
    return client.download(`/share/results/${encodeURIComponent(output.ref)}/${name}`, output.name);
  }

  async function verifyToken(): Promise<TokenVerification> {
    return verifyCloudgeneToken(client, options.token);
  }

  return { kind: 'cloudgene', appId, health, discover, findByRunId, submit, getJob, cancel, restart, download, verifyToken };
}

/** Cloudgene HTML-escapes `job-name`, so a run id with `&` or non-ASCII comes back as entities. */
function sameName(name: string, runId: string): boolean {
  return name === runId || decodeEntities(name) === runId;
}

function newest(jobs: WireJob[]): WireJob | undefined {
  const submitted = (job: WireJob): number => asNumber(job.submittedOn) ?? 0;
  return jobs.reduce<WireJob | undefined>((best, job) => (best && submitted(best) >= submitted(job) ? best : job), undefined);
}

/**
 * Anonymous token check; always HTTP 200 on Cloudgene, `valid` says the verdict. The token goes in
 * the form body as the API requires, never in a URL.
 */
export async function verifyCloudgeneToken(client: CloudgeneClient, token: string): Promise<TokenVerification> {
  const answer = asRecord(
    await client.json('/api/v2/tokens/verify', {
      method: 'POST',
      body: new URLSearchParams({ token }),
      auth: false,
    }),
  );
  const expire = asString(answer.expire);
  const expiresAt = expire !== null ? new Date(expire) : null;
  return {
    valid: answer.valid === true,
    expiresAt: expiresAt !== null && !Number.isNaN(expiresAt.getTime()) ? expiresAt : null,
    message: asString(answer.message) ?? '',
    username: asString(answer.username),
  };
}
