/**
 * Optional persistence of a simulator's runs in its work directory, so restarting the demo
 * behaves like restarting the real service: finished runs and their results survive; runs that
 * were in flight come back as failed by the system (the simulators have no engine to reattach to).
 */
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

interface Snapshot<T> {
  version: 1;
  kind: string;
  runs: T[];
}

export interface RunSnapshots<T> {
  load(): T[];
  save(runs: Iterable<T>): Promise<void>;
}

export function createRunSnapshots<T>(workDir: string, kind: string): RunSnapshots<T> {
  const file = join(workDir, 'runs.json');
  let last = '';
  return {
    load(): T[] {
      if (!existsSync(file)) return [];
      try {
        const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot<T>;
        return snap.version === 1 && snap.kind === kind && Array.isArray(snap.runs) ? snap.runs : [];
      } catch {
        // A torn or foreign file: start empty rather than refuse to start.
        return [];
      }
    },
    /** Writes only when something changed, atomically (write then rename). */
    async save(runs: Iterable<T>): Promise<void> {
      const text = JSON.stringify({ version: 1, kind, runs: [...runs] } satisfies Snapshot<T>);
      if (text === last) return;
      const tmp = `${file}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, file);
      last = text;
    },
  };
}
