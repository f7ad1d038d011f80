/**
 * Finding the run submitted under a broker run id again (invariant 2): every run carries the tag
 * `broker_run_id`. WES 1.1 lists tags in `RunSummary`; WES 1.0 and WESkit list only
 * `{run_id, state}`, so for those the RunLogs are read, a bounded number per call, and what was
 * read is remembered (a run's tags never change).
 */
import { BackendError } from '../types';
import { RUN_ID_TAG } from './submit';
import { readRunList, readRunLog, type WireRunListItem } from './wire';

export interface RunFinderOptions {
  /** GET a path of the node and return the parsed JSON. */
  get(path: string, context: 'api' | 'run'): Promise<unknown>;
  pageSize: number;
  maxListPages: number;
  /** RunLogs read per call, at most: a node with 10 000 runs must not cost 10 000 requests at once. */
  maxRunLogReads: number;
}

const CACHE_LIMIT = 50_000;

export class RunFinder {
  /** remote run id → broker run id ('' for runs that are not ours). */
  readonly #tagsOf = new Map<string, string>();

  constructor(private readonly o: RunFinderOptions) {}

  async find(runId: string): Promise<string | null> {
    const listed: WireRunListItem[] = [];
    let token: string | null = null;
    const tokens = new Set<string>();
    for (let page = 0; page < this.o.maxListPages; page++) {
      const query = new URLSearchParams({ page_size: String(this.o.pageSize) });
      if (token !== null) query.set('page_token', token);
      const list = readRunList(await this.o.get(`/runs?${query.toString()}`, 'api'));
      listed.push(...list.runs);
      token = list.nextPageToken;
      // A node that ignores page_token hands back the same token forever.
      if (token === null || tokens.has(token)) break;
      tokens.add(token);
    }

    const tagged = listed.filter((r) => r.tags !== null && r.tags[RUN_ID_TAG] === runId);
    if (tagged.length > 0) return newest(tagged).runId;
    for (const r of listed) if (this.#tagsOf.get(r.runId) === runId) return r.runId;

    const unread = listed.filter((r) => r.tags === null && !this.#tagsOf.has(r.runId));
    let reads = 0;
    for (const r of bothEnds(unread)) {
      if (reads >= this.o.maxRunLogReads) {
        // Saying "not found" now could make the broker submit a second copy; ask again later.
        throw new BackendError(
          'unreachable',
          `Looking for run ${runId}: read ${reads} of ${unread.length} unlisted run logs so far; the search continues on the next attempt`,
        );
      }
      reads++;
      let owner: string;
      try {
        owner = readRunLog(await this.o.get(`/runs/${encodeURIComponent(r.runId)}`, 'run')).tags[RUN_ID_TAG] ?? '';
      } catch (error) {
        // Deleted between the list and the read: not ours to find.
        if (error instanceof BackendError && error.kind === 'not_found') owner = '';
        else throw error;
      }
      this.#remember(r.runId, owner);
      if (owner === runId) return r.runId;
    }
    return null;
  }

  /** A run we submitted ourselves needs no lookup later. */
  remember(remoteId: string, runId: string): void {
    this.#remember(remoteId, runId);
  }

  #remember(remoteId: string, runId: string): void {
    if (this.#tagsOf.size >= CACHE_LIMIT) {
      const oldest = this.#tagsOf.keys().next().value;
      if (oldest !== undefined) this.#tagsOf.delete(oldest);
    }
    this.#tagsOf.set(remoteId, runId);
  }
}

function newest(runs: WireRunListItem[]): WireRunListItem {
  return runs.reduce((best, r) => ((r.startTime?.getTime() ?? 0) > (best.startTime?.getTime() ?? 0) ? r : best));
}

/**
 * The run we look for was most likely submitted moments ago, but lists have no agreed order
 * (WESkit: insertion order, oldest first; this broker: newest first), so read from both ends.
 */
export function* bothEnds<T>(items: readonly T[]): Generator<T> {
  let lo = 0;
  let hi = items.length - 1;
  while (lo <= hi) {
    yield items[lo] as T;
    if (hi !== lo) yield items[hi] as T;
    lo++;
    hi--;
  }
}
