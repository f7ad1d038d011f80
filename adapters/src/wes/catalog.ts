/**
 * A WES node's catalog. WES has no notion of reference panels, so a node's panels come from the
 * broker's configuration; another copy of this broker says its own (`GET <root>/api/v1/panels`).
 */
import type { Catalog, GenomeBuild, Panel, Population } from '../types';
import { asArray, asRecord, asString } from '../http/json';

/** The option lists of imputationserver2 (IS2 cloudgene.yaml), the defaults for an IS2-running node. */
export const IS2_OPTIONS = {
  builds: ['hg19', 'hg38'],
  phasing: ['eagle', 'beagle', 'no_phasing'],
  r2Filter: ['0', '0.001', '0.1', '0.2', '0.3'],
  modes: ['imputation', 'qc_only'],
} as const;

export interface CatalogOptions {
  appId: string;
  appVersion: string;
  panels: Panel[];
  builds?: string[];
  phasing?: string[];
  r2Filter?: string[];
  modes?: string[];
}

export function configuredCatalog(o: CatalogOptions): Catalog {
  return {
    appId: o.appId,
    appVersion: o.appVersion,
    panels: o.panels.map((p) => ({ ...p, populations: p.populations.map((x) => ({ ...x })) })),
    builds: [...(o.builds ?? IS2_OPTIONS.builds)],
    phasing: [...(o.phasing ?? IS2_OPTIONS.phasing)],
    r2Filter: [...(o.r2Filter ?? IS2_OPTIONS.r2Filter)],
    modes: [...(o.modes ?? IS2_OPTIONS.modes)],
  };
}

function build(value: unknown): GenomeBuild | null {
  return value === 'hg19' || value === 'hg38' ? value : null;
}

/** A positive whole count as another broker states it (`samples`, `variants`); anything else is unknown. */
function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null;
}

/**
 * The remote broker's `{panels: [{backend, key, id, version, label, build, populations}]}`: one
 * entry per panel key, populations merged when several of its backends offer the same panel.
 */
export function parseBrokerPanels(body: unknown): Panel[] {
  const byKey = new Map<string, Panel>();
  for (const item of asArray(asRecord(body).panels)) {
    const p = asRecord(item);
    const key = asString(p.key);
    if (key === null || key === '') continue;
    const populations: Population[] = asArray(p.populations).flatMap((x) => {
      const id = asString(asRecord(x).id);
      return id === null ? [] : [{ id, label: asString(asRecord(x).label) ?? id }];
    });
    const existing = byKey.get(key);
    if (existing) {
      for (const pop of populations) if (!existing.populations.some((e) => e.id === pop.id)) existing.populations.push(pop);
      continue;
    }
    const samples = count(p.samples);
    const variants = count(p.variants);
    byKey.set(key, {
      key,
      id: asString(p.id) ?? key,
      version: asString(p.version),
      label: asString(p.label) ?? key,
      build: build(p.build),
      populations,
      ...(samples !== null ? { samples } : {}),
      ...(variants !== null ? { variants } : {}),
    });
  }
  return [...byKey.values()];
}
