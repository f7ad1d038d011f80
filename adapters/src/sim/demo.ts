/** What the demo helpers of the WES and DNAstack simulators have in common. */
import type { Panel } from '../types';
import type { SimPanel } from './workflow';

/**
 * The fields the broker's demo federation gives every backend (mirrors its BackendConfig for the
 * Cloudgene simulators), plus the options to build the adapter with.
 */
export interface DemoBackend<Kind extends string, Options> {
  id: string;
  kind: Kind;
  name: string;
  location: string;
  /** The URL a person would recognise (WES base URL, Workbench registry). */
  url: string;
  /** Ready for `createWesAdapter` / `createDnastackAdapter`. */
  adapterOptions: Options;
  maxConcurrentJobs: number;
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  retentionDays: number;
  demo: true;
  close(): Promise<void>;
}

/** A simulator's panels as an adapter's configured catalog. */
export function panelsOf(panels: readonly SimPanel[]): Panel[] {
  return panels.map((p) => ({
    key: p.id,
    id: p.id,
    version: null,
    label: p.label,
    build: p.build,
    populations: p.populations.map((id) => ({ id, label: id.toUpperCase() })),
  }));
}
