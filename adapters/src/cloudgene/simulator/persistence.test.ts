/**
 * With persistJobs, a restart of the simulator behaves like a Cloudgene restart: finished jobs
 * and their download counters survive, unfinished ones come back DEAD (-1) and can be restarted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCloudgeneSimulator, FAST_TIMING } from './index';
import { cohort, DEFAULT_FIELDS, finished, getJson, submit, waitForState } from './test-helpers';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function simAt(workDir: string, timing = FAST_TIMING) {
  return createCloudgeneSimulator({
    profile: 'mis2',
    workDir,
    users: [{ username: 'jdoe', password: 'pw' }],
    timing,
    jwtSecret: 'persist-secret-persist-secret-persist',
    persistJobs: true,
  });
}

describe('simulator persistence', () => {
  it('keeps finished jobs and their downloads, and brings unfinished ones back DEAD', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cg-persist-'));
    dirs.push(dir);
    const files = await cohort(join(dir, 'in'), { chromosomes: ['20'] });
    const work = join(dir, 'work');

    const first = simAt(work, { ...FAST_TIMING, imputation: 5_000 });
    let h = { base: await first.start() };
    let token = await first.createApiToken('jdoe');
    const done = ((await (await submit(h, token, { ...DEFAULT_FIELDS, mode: 'qc_only' }, files)).json()) as { id: string }).id;
    await waitForState(h, token, done, finished);
    const before = await getJson(h, `/api/v2/jobs/${done}`, token);
    const file = ((before.body.outputParams as { files: { hash: string; name: string; count: number }[] }[])[0]!.files)[0]!;
    expect((await fetch(`${h.base}/share/results/${file.hash}/${file.name}`)).status).toBe(200);
    const running = ((await (await submit(h, token, DEFAULT_FIELDS, files)).json()) as { id: string }).id;
    await waitForState(h, token, running, (s) => s === 2);
    await first.close();

    const second = simAt(work);
    h = { base: await second.start() };
    token = await second.createApiToken('jdoe');
    try {
      const again = await getJson(h, `/api/v2/jobs/${done}`, token);
      expect(again.body.state).toBe(4);
      const kept = ((again.body.outputParams as { files: { hash: string; count: number }[] }[])[0]!.files).find((f) => f.hash === file.hash)!;
      expect(kept.count).toBe(file.count - 1);
      expect((await fetch(`${h.base}/share/results/${file.hash}/${file.name}`)).status).toBe(200);

      expect((await getJson(h, `/api/v2/jobs/${running}`, token)).body.state).toBe(-1);
      expect((await getJson(h, `/api/v2/jobs/${running}/restart`, token)).status).toBe(200);
      expect((await waitForState(h, token, running, finished)).state).toBe(4);
    } finally {
      await second.close();
    }
  });

  it('starts empty when the snapshot is missing or unreadable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cg-persist-'));
    dirs.push(dir);
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'work'), { recursive: true });
    await writeFile(join(dir, 'work', 'jobs.json'), '{"version": 1, "jobs": [tor');
    const sim = simAt(join(dir, 'work'));
    const h = { base: await sim.start() };
    try {
      const list = await getJson(h, '/api/v2/jobs', await sim.createApiToken('jdoe'));
      expect(list.body.data).toEqual([]);
    } finally {
      await sim.close();
    }
  });
});
