/**
 * The shape of a run's results as DRS bundles, planned from its objects without touching the
 * database: one bundle for the run, one per output directory (`statistics/`), one per result zip
 * holding the files opened out of it. A bundle's size is the sum of its contents and its checksums
 * are computed as DRS 1.5 says: over the sorted concatenation of the top-level contents'
 * checksums (hex), one per checksum type.
 */
import { createHash, randomUUID } from 'node:crypto';

/** What planning needs of an object that will be listed in a bundle. */
export interface BundleMember {
  id: string;
  /** Path as stored: outputs may sit in sub-directories (`statistics/x.txt`). */
  name: string;
  size: number;
  sha256: string;
  md5: string;
  /** For a file opened out of a zip: the zip's object id. */
  fromZip?: string;
}

export interface PlannedBundle {
  id: string;
  /** Portable name, unique within its parent bundle. */
  name: string;
  /** Where it sits in the run's results (`statistics`, `results/chr_20`; the run's own is `run-<id>`): stored as the object's name. */
  path: string;
  description: string;
  parentId: string | null;
  size: number;
  sha256: string;
  md5: string;
}

export interface BundlePlan {
  root: PlannedBundle;
  /** Every bundle, parents before their children (the order their rows can be inserted in). */
  bundles: PlannedBundle[];
  /** Object id -> the bundle that lists it. */
  parentOf: Map<string, string>;
}

/** DRS: checksum of a bundle = hash(concat(sort(checksums of its top-level contents))). */
export function bundleChecksum(algorithm: 'sha256' | 'md5', childChecksums: readonly string[]): string {
  return createHash(algorithm).update([...childChecksums].sort().join('')).digest('hex');
}

/** The last path segment: DRS names are portable file names, without directories. */
export function baseName(path: string): string {
  return path.split('/').pop() || path;
}

function uniqueName(wanted: string, taken: Set<string>): string {
  let name = wanted;
  for (let i = 2; taken.has(name); i++) name = `${wanted}-${i}`;
  taken.add(name);
  return name;
}

interface Node {
  bundle: Omit<PlannedBundle, 'size' | 'sha256' | 'md5'>;
  files: BundleMember[];
  children: Node[];
  names: Set<string>;
}

/**
 * @param runId the run the results belong to (only used in descriptions)
 * @param outputs the files the backend produced, as stored
 * @param members files opened out of result zips (`fromZip` set)
 */
export function planRunBundles(runId: string, outputs: readonly BundleMember[], members: readonly BundleMember[]): BundlePlan {
  const node = (name: string, path: string, description: string, parentId: string | null): Node => ({
    bundle: { id: randomUUID(), name, path, description, parentId },
    files: [],
    children: [],
    names: new Set(),
  });
  const root = node(`run-${runId}`, `run-${runId}`, `Results of imputation run ${runId}`, null);
  const pathIn = (parent: Node, name: string) => (parent === root ? name : `${parent.bundle.path}/${name}`);
  const dirs = new Map<string, Node>();
  const dirNode = (path: string): Node => {
    if (path === '') return root;
    const existing = dirs.get(path);
    if (existing) return existing;
    const parentPath = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    const parent = dirNode(parentPath);
    const name = uniqueName(baseName(path), parent.names);
    const child = node(name, pathIn(parent, name), `Directory ${path}/ of the results of run ${runId}`, parent.bundle.id);
    parent.children.push(child);
    dirs.set(path, child);
    return child;
  };
  for (const file of outputs) {
    const dir = file.name.includes('/') ? file.name.slice(0, file.name.lastIndexOf('/')) : '';
    const parent = dirNode(dir);
    parent.files.push({ ...file, name: uniqueName(baseName(file.name), parent.names) });
  }
  const byZip = new Map<string, BundleMember[]>();
  for (const m of members) {
    if (!m.fromZip) continue;
    byZip.set(m.fromZip, [...(byZip.get(m.fromZip) ?? []), m]);
  }
  for (const [zipId, files] of byZip) {
    const zip = outputs.find((o) => o.id === zipId);
    if (!zip) continue;
    const dir = zip.name.includes('/') ? zip.name.slice(0, zip.name.lastIndexOf('/')) : '';
    const parent = dirNode(dir);
    const zipName = baseName(zip.name);
    const name = uniqueName(zipName.replace(/\.zip$/i, ''), parent.names);
    const child = node(name, pathIn(parent, name), `Files of ${zipName} (run ${runId}), opened with the run's result password`, parent.bundle.id);
    for (const f of files) child.files.push({ ...f, name: uniqueName(baseName(f.name), child.names) });
    parent.children.push(child);
  }

  const bundles: PlannedBundle[] = [];
  const parentOf = new Map<string, string>();
  const finish = (n: Node): PlannedBundle => {
    const kids = n.children.map(finish);
    for (const f of n.files) parentOf.set(f.id, n.bundle.id);
    for (const k of kids) parentOf.set(k.id, n.bundle.id);
    const parts = [...n.files, ...kids];
    const planned: PlannedBundle = {
      ...n.bundle,
      size: parts.reduce((sum, p) => sum + p.size, 0),
      sha256: bundleChecksum('sha256', parts.map((p) => p.sha256)),
      md5: bundleChecksum('md5', parts.map((p) => p.md5)),
    };
    bundles.push(planned);
    return planned;
  };
  const top = finish(root);
  parentOf.delete(top.id);
  // Parents first, so each row's parent_id already exists when it is inserted.
  bundles.reverse();
  return { root: top, bundles, parentOf };
}
