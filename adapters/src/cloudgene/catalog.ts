/**
 * `GET /api/v2/server/apps/{appId}` (WdlAppResponse) → Catalog.
 * Panels and populations are discovered, never hard-coded: servers add panel versions at will.
 */
import type { Catalog, GenomeBuild, Panel, Population } from '../types';
import { asArray, asRecord, asString, type JsonRecord } from './wire';

export function parseCatalog(body: unknown): Catalog {
  const app = asRecord(body);
  const params = asArray(app.params).map(asRecord);
  const param = (id: string): JsonRecord | undefined => params.find((p) => asString(p.id) === id);

  const populationsByPanel = readBindedList(param('population'));
  const panels: Panel[] = options(param('refpanel')).map(({ key, label }) => {
    const { id, version } = splitPanelKey(key);
    return { key, id, version, label, build: buildFromLabel(label), populations: populationsByPanel.get(key) ?? [] };
  });

  return {
    appId: asString(app.id) ?? '',
    appVersion: asString(app.version) ?? '',
    panels,
    builds: keys(param('build')),
    phasing: keys(param('phasing')),
    r2Filter: keys(param('r2Filter')),
    modes: keys(param('mode')),
  };
}

interface Option {
  key: string;
  label: string;
}

/** `values[]` of a list-like param: `{key, value}` where `value` is the display text. */
function options(param: JsonRecord | undefined): Option[] {
  if (!param) return [];
  return asArray(param.values).flatMap((v) => {
    const entry = asRecord(v);
    const key = asString(entry.key);
    if (key === null || key === '') return [];
    return [{ key, label: asString(entry.value) ?? asString(entry.label) ?? key }];
  });
}

function keys(param: JsonRecord | undefined): string[] {
  return options(param).map((o) => o.key);
}

/** `population` is a `binded_list`: one entry per panel key, its populations in the nested `values`. */
function readBindedList(param: JsonRecord | undefined): Map<string, Population[]> {
  const byPanel = new Map<string, Population[]>();
  if (!param) return byPanel;
  for (const v of asArray(param.values)) {
    const entry = asRecord(v);
    const panelKey = asString(entry.key);
    if (panelKey === null) continue;
    byPanel.set(
      panelKey,
      options({ values: entry.values }).map(({ key, label }) => ({ id: key, label })),
    );
  }
  return byPanel;
}

/**
 * `apps@<id>@<version>` is what Cloudgene lists; `apps@<id>` and a bare `<id>` are accepted too
 * (digest §7.11), so all three forms parse.
 */
export function splitPanelKey(key: string): { id: string; version: string | null } {
  const parts = key.split('@');
  if (parts[0] === 'apps' && parts.length >= 2) {
    return { id: parts[1] ?? key, version: parts.length >= 3 ? parts.slice(2).join('@') || null : null };
  }
  if (parts.length === 2) return { id: parts[0] ?? key, version: parts[1] || null };
  return { id: key, version: null };
}

/** Cloudgene labels carry the panel build, e.g. "HapMap 2 (GRCh37/hg19)", "TOPMed r3 (GRCh38/hg38)". */
export function buildFromLabel(label: string): GenomeBuild | null {
  if (/\bhg38\b|\bGRCh38\b/i.test(label)) return 'hg38';
  if (/\bhg19\b|\bGRCh37\b|\bb37\b/i.test(label)) return 'hg19';
  return null;
}
