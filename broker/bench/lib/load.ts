/**
 * A small closed-loop HTTP load generator: N concurrent loops over keep-alive sockets, one
 * request at a time each, latency measured per request. Bounded by time and by count.
 */
import { Agent, request } from 'node:http';

export interface LoadOptions {
  /** Absolute http://127.0.0.1 URL, or a function giving the URL of the i-th request. */
  url: string | ((i: number) => string);
  headers?: Record<string, string>;
  concurrency: number;
  durationMs: number;
  /** Hard cap on requests, whatever the duration. */
  maxRequests: number;
  /** Status every answer must have (default 200); others count as errors. */
  expectStatus?: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanBytes: number;
  firstError?: string;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function once(agent: Agent, url: string, headers: Record<string, string>): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers, method: 'GET' }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out after 30 s')));
    req.on('error', reject);
    req.end();
  });
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency, maxFreeSockets: o.concurrency });
  const urlOf = typeof o.url === 'string' ? () => o.url as string : o.url;
  const headers = o.headers ?? {};
  const expect = o.expectStatus ?? 200;
  const latencies = new Float64Array(o.maxRequests);
  let issued = 0;
  let done = 0;
  let errors = 0;
  let bytes = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + o.durationMs;

  const loop = async () => {
    while (performance.now() < deadline && issued < o.maxRequests) {
      const i = issued++;
      const t0 = performance.now();
      try {
        const r = await once(agent, urlOf(i), headers);
        if (r.status !== expect) {
          errors++;
          firstError ??= `HTTP ${r.status} from ${urlOf(i)}`;
        }
        bytes += r.bytes;
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
      }
      latencies[done++] = performance.now() - t0;
    }
  };
  try {
    await Promise.all(Array.from({ length: o.concurrency }, loop));
  } finally {
    agent.destroy();
  }
  const durationS = (performance.now() - started) / 1000;
  const sorted = latencies.subarray(0, done).sort();
  const sum = (p: number) => Math.round(percentile(sorted, p) * 1000) / 1000;
  return {
    requests: done,
    errors,
    durationS: Math.round(durationS * 100) / 100,
    rps: Math.round(done / durationS),
    p50Ms: sum(50),
    p90Ms: sum(90),
    p99Ms: sum(99),
    maxMs: sum(100),
    meanBytes: done ? Math.round(bytes / done) : 0,
    ...(firstError ? { firstError } : {}),
  };
}
