/**
 * Time from spawning `tsx broker/src/main.ts` (embedded default, demo) to GET /readyz = 200:
 * on a fresh DATA_DIR (initdb included) and again on the same DATA_DIR. Baseline: spawning
 * `node -e ""` until it exits.
 */
import { spawn } from 'node:child_process';
import { freePort } from '../src/db/embedded';
import { ROOT, TSX_CLI, removeDir, sleep, stopChild, tempDir, track } from './lib/proc';

export interface StartupResult {
  baseline: { nodeSpawnMs: number; runs: number };
  cold: { readyMs: number };
  warm: { readyMs: number };
  ratios: { cold: number; warm: number };
}

async function nodeSpawnMs(): Promise<number> {
  const t0 = performance.now();
  const child = track(spawn(process.execPath, ['-e', ''], { stdio: 'ignore' }));
  await new Promise<void>((res, rej) => {
    child.once('exit', () => res());
    child.once('error', rej);
  });
  return performance.now() - t0;
}

async function timeToReady(dataDir: string, timeoutMs = 180_000): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  let stderr = '';
  const child = track(
    spawn(process.execPath, [TSX_CLI, 'broker/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', DEMO: 'true', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  try {
    while (performance.now() - t0 < timeoutMs) {
      if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode} before it was ready: ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return performance.now() - t0;
      await sleep(50);
    }
    throw new Error(`broker not ready after ${timeoutMs} ms: ${stderr}`);
  } finally {
    await stopChild(child);
  }
}

export async function benchStartup(log: (s: string) => void): Promise<StartupResult> {
  const runs = 5;
  const spawns: number[] = [];
  for (let i = 0; i < runs; i++) spawns.push(await nodeSpawnMs());
  spawns.sort((a, b) => a - b);
  const nodeMs = Math.round(spawns[Math.floor(runs / 2)]!);
  log(`  baseline: node -e "" spawn-to-exit ${nodeMs} ms (median of ${runs})`);

  const dataDir = tempDir('startup');
  try {
    const cold = Math.round(await timeToReady(dataDir));
    log(`  first start (fresh DATA_DIR, initdb): ${cold} ms to /readyz 200`);
    const warm = Math.round(await timeToReady(dataDir));
    log(`  second start (same DATA_DIR):         ${warm} ms to /readyz 200`);
    const r = (x: number) => Math.round((x / nodeMs) * 10) / 10;
    return { baseline: { nodeSpawnMs: nodeMs, runs }, cold: { readyMs: cold }, warm: { readyMs: warm }, ratios: { cold: r(cold), warm: r(warm) } };
  } finally {
    removeDir(dataDir);
  }
}
