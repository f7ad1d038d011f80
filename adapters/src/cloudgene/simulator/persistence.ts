/**
 * Optional persistence of the simulator's jobs and download counters in its work directory, so
 * a restart behaves like Cloudgene's own: finished jobs and their downloads survive, jobs that
 * were waiting or running come back DEAD (-1) and can be restarted (PersistentWorkflowEngine).
 */
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Download } from './workspace';
import type { Job } from './types';

interface Snapshot {
  version: 1;
  jobs: Job[];
  downloads: Download[];
}

export function createJobSnapshots(workDir: string) {
  const file = join(workDir, 'jobs.json');
  let last = '';
  return {
    load(): { jobs: Job[]; downloads: Download[] } {
      if (!existsSync(file)) return { jobs: [], downloads: [] };
      try {
        const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
        if (snap.version !== 1 || !Array.isArray(snap.jobs)) return { jobs: [], downloads: [] };
        return { jobs: snap.jobs, downloads: Array.isArray(snap.downloads) ? snap.downloads : [] };
      } catch {
        // A torn or foreign file: start empty rather than refuse to start.
        return { jobs: [], downloads: [] };
      }
    },
    /** Writes only when something changed, atomically (write then rename). */
    async save(jobs: Iterable<Job>, downloads: Download[]): Promise<void> {
      const text = JSON.stringify({ version: 1, jobs: [...jobs], downloads } satisfies Snapshot);
      if (text === last) return;
      const tmp = `${file}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, file);
      last = text;
    },
  };
}
