/**
 * Downloads of a job's `output` parameter: capability hashes, per-file counters, the results
 * tree, and the JSON shapes of ParameterOutputResponse / DownloadResponse / JobResultsTreeItem.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { displaySize, downloadHash } from './format';
import type { Job, OutputFile } from './types';

export interface Download {
  hash: string;
  jobId: string;
  name: string;
  absPath: string;
  bytes: number;
  count: number;
}

export class DownloadRegistry {
  private readonly byHash = new Map<string, Download>();

  constructor(private readonly maxDownloads: number) {}

  get(hash: string): Download | undefined {
    return this.byHash.get(hash);
  }

  /** Lists every file under `outputDir` and gives each a fresh capability hash. */
  async register(jobId: string, outputDir: string): Promise<OutputFile[]> {
    const files: OutputFile[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const abs = join(dir, e.name);
        if (e.isDirectory()) await walk(abs);
        else if (e.isFile()) {
          const name = relative(outputDir, abs).split(sep).join('/');
          const bytes = (await stat(abs)).size;
          const hash = downloadHash(name, bytes);
          files.push({ name, absPath: abs, bytes, hash });
          this.byHash.set(hash, { hash, jobId, name, absPath: abs, bytes, count: this.maxDownloads });
        }
      }
    };
    await walk(outputDir);
    files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return files;
  }

  /** Every download with its remaining counter, for persistence. */
  snapshot(): Download[] {
    return [...this.byHash.values()].map((d) => ({ ...d }));
  }

  restore(downloads: Download[]): void {
    for (const d of downloads) this.byHash.set(d.hash, { ...d });
  }

  removeJob(jobId: string): void {
    for (const [hash, d] of this.byHash) if (d.jobId === jobId) this.byHash.delete(hash);
  }

  countOf(hash: string): number {
    return this.byHash.get(hash)?.count ?? 0;
  }
}

interface TreeItem {
  name: string;
  path: string;
  hash: string;
  size: string | null;
  folder: boolean;
  childs: TreeItem[];
}

/** JobResultsTreeUtil: folders first, then files, each level sorted by name. */
function buildTree(files: OutputFile[], paramHash: string): TreeItem[] {
  const root: TreeItem = { name: '', path: '', hash: '', size: null, folder: true, childs: [] };
  for (const f of files) {
    const parts = f.name.split('/');
    let node = root;
    for (const folder of parts.slice(0, -1)) {
      let child = node.childs.find((c) => c.folder && c.name === folder);
      if (!child) {
        child = { name: folder, path: '', hash: '', size: null, folder: true, childs: [] };
        node.childs.push(child);
      }
      node = child;
    }
    node.childs.push({
      name: parts.at(-1) ?? f.name,
      path: `/browse/${paramHash}/${f.name}`,
      hash: f.hash,
      size: displaySize(f.bytes),
      folder: false,
      childs: [],
    });
  }
  const sortLevel = (items: TreeItem[]): TreeItem[] => {
    items.sort((a, b) => (a.folder !== b.folder ? (a.folder ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    items.forEach((i) => sortLevel(i.childs));
    return items;
  };
  return sortLevel(root.childs);
}

/** Files are only listed once the job left RUNNING/EXPORTING. */
export function outputParams(job: Job, registry: DownloadRegistry, listed: boolean): Record<string, unknown>[] {
  const files = listed ? job.outputs : [];
  return [
    {
      id: job.outputParamId,
      description: 'Downloads',
      value: `${job.id}/output`,
      type: null,
      download: true,
      name: 'output',
      tree: buildTree(files, job.outputParamHash),
      job: null,
      jobId: job.id,
      autoExport: false,
      hash: job.outputParamHash,
      files: files.map((f) => ({
        name: f.name,
        path: `${job.id}/output/${f.name}`,
        hash: f.hash,
        count: registry.countOf(f.hash),
        size: displaySize(f.bytes),
        parameterId: 0,
        user: null,
      })),
    },
  ];
}
