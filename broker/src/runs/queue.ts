/**
 * The run queue: BullMQ on PostgreSQL (embedded default, same database) or on Redis
 * (`REDIS_URL`, scaled out). A job only says "advance run X now"; what to do is decided from
 * the run's row, so a lost or duplicated job never loses or duplicates work (see worker.ts).
 */
import { Queue, Worker, createPostgresBackend, withBackend, type Job } from 'bullmq';
import { Redis } from 'ioredis';

export interface WakeJob {
  runId: string;
  token: string;
}

export type WakeHandler = (job: WakeJob) => Promise<void>;

export interface RunQueue {
  readonly backend: 'postgres' | 'redis';
  wake(job: WakeJob, delayMs: number): Promise<void>;
  startWorker(handler: WakeHandler, concurrency: number): void;
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export interface QueueOptions {
  databaseUrl: string;
  redisUrl: string | null;
  /** Separates queues of several brokers or test files sharing one Redis/PostgreSQL. */
  name?: string;
  onError?: (err: Error) => void;
}

const JOB_DEFAULTS = {
  removeOnComplete: true,
  removeOnFail: 1000,
  // A processor that throws (a bug, a lost DB connection) is retried; backend trouble is
  // handled inside the processor and never throws.
  attempts: 5,
  backoff: { type: 'exponential' as const, delay: 2000 },
};

interface MinimalQueue {
  add(name: string, data: WakeJob, opts: Record<string, unknown>): Promise<unknown>;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
  close(): Promise<void>;
}
interface MinimalWorker {
  on(event: 'error', fn: (err: Error) => void): unknown;
  close(): Promise<void>;
}

export function createRunQueue(options: QueueOptions): RunQueue {
  const name = options.name ?? 'runs';
  const onError = options.onError ?? (() => {});
  let queue: MinimalQueue;
  let makeWorker: (handler: WakeHandler, concurrency: number) => MinimalWorker;
  const closers: (() => Promise<unknown>)[] = [];

  if (options.redisUrl) {
    const redisUrl = options.redisUrl;
    const connect = () => new Redis(redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    const queueConn = connect();
    queue = new Queue<WakeJob>(name, { connection: queueConn, prefix: 'ibroker' }) as unknown as MinimalQueue;
    closers.push(async () => queueConn.quit());
    makeWorker = (handler, concurrency) => {
      const conn = connect();
      const w = new Worker<WakeJob>(name, (job: Job<WakeJob>) => handler(job.data), {
        connection: conn,
        prefix: 'ibroker',
        concurrency,
      });
      closers.push(async () => conn.quit());
      return w as unknown as MinimalWorker;
    };
  } else {
    const pg = withBackend(createPostgresBackend);
    const connection = { connectionString: options.databaseUrl, migrate: true, max: 4 };
    queue = new pg.Queue<WakeJob>(name, { connection }) as unknown as MinimalQueue;
    makeWorker = (handler, concurrency) =>
      new pg.Worker<WakeJob>(name, (job) => handler(job.data), { connection, concurrency }) as unknown as MinimalWorker;
  }

  const workers: MinimalWorker[] = [];
  return {
    backend: options.redisUrl ? 'redis' : 'postgres',
    async wake(job, delayMs) {
      await queue.add('advance', job, {
        ...JOB_DEFAULTS,
        jobId: `${job.runId}.${job.token}`,
        delay: Math.max(0, Math.round(delayMs)),
      });
    },
    startWorker(handler, concurrency) {
      const w = makeWorker(handler, concurrency);
      w.on('error', onError);
      workers.push(w);
    },
    counts: () => queue.getJobCounts('waiting', 'active', 'delayed', 'failed'),
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await queue.close();
      for (const c of closers) await c().catch(() => {});
    },
  };
}
