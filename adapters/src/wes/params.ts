/**
 * The parameter template: how the broker's ImputationParams and input files become one node's
 * `workflow_params`. Which imputation workflow a WES node runs is not standardised (digest §5:
 * IS2 forks, the H3ABioNet chipimputation fork, WDL ports on Workbench), so the mapping is
 * configuration, written as JSON with placeholders:
 *
 *   { "files": "${files}", "refpanel": "${refpanel}", "genome_build": "b${build}" }
 *
 * A string that is exactly one placeholder becomes that value with its type (`${files}` a list,
 * `${aesEncryption}` a boolean); inside a longer string a value is spliced in as text (a list
 * comma-joined). Objects and lists are walked; other JSON values pass through unchanged.
 */
import type { ImputationParams, InputFile } from '../types';

export type TemplateValue = string | number | boolean | null | TemplateValue[] | { [key: string]: TemplateValue };
export type ParamTemplate = { [key: string]: TemplateValue };

/** The names of the imputationserver2 pipeline (IS2 `nextflow.config`, and its cloudgene.yaml inputs). */
export const IS2_PARAM_TEMPLATE: ParamTemplate = {
  files: '${files}',
  refpanel: '${refpanel}',
  population: '${population}',
  build: '${build}',
  phasing: '${phasing}',
  r2Filter: '${r2Filter}',
  mode: '${mode}',
  password: '${password}',
};

/**
 * What another copy of this broker accepts (broker `runs/params.ts` PARAM_NAMES): it refuses
 * unknown parameters, so no `password` (it sends its own to its backends and keeps it for the
 * run's owner).
 */
export const BROKER_PARAM_TEMPLATE: ParamTemplate = {
  files: '${files}',
  refpanel: '${refpanel}',
  population: '${population}',
  build: '${build}',
  phasing: '${phasing}',
  r2Filter: '${r2Filter}',
  mode: '${mode}',
};

export const PLACEHOLDERS = [
  'files',
  'refpanel',
  'panelId',
  'population',
  'build',
  'phasing',
  'r2Filter',
  'mode',
  'password',
  'runId',
  'aesEncryption',
  'meta',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export interface TemplateContext {
  runId: string;
  params: ImputationParams;
  password: string;
  /** One reference per input file, as the node must read it (attachment name, URL or DRS URI). */
  files: string[];
}

const PATTERN = /\$\{([A-Za-z0-9_]+)\}/g;
const WHOLE = /^\$\{([A-Za-z0-9_]+)\}$/;

function isPlaceholder(name: string): name is Placeholder {
  return (PLACEHOLDERS as readonly string[]).includes(name);
}

/** Names every placeholder the template uses; unknown ones are a configuration error, found at start-up. */
export function templatePlaceholders(template: TemplateValue): Set<Placeholder> {
  const found = new Set<Placeholder>();
  const walk = (value: TemplateValue, path: string): void => {
    if (typeof value === 'string') {
      for (const match of value.matchAll(PATTERN)) {
        const name = match[1] ?? '';
        if (!isPlaceholder(name)) {
          throw new TypeError(`parameter template: unknown placeholder \${${name}} at ${path}; known: ${PLACEHOLDERS.join(', ')}`);
        }
        found.add(name);
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${path}[${i}]`));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, path === '' ? k : `${path}.${k}`);
    }
  };
  walk(template, '');
  return found;
}

/** The panel id without Cloudgene's `apps@` prefix and version suffix (`apps@hapmap-2@2.0.0` → `hapmap-2`). */
export function panelIdOf(key: string): string {
  const bare = key.startsWith('apps@') ? key.slice(5) : key;
  return bare.split('@')[0] ?? bare;
}

function valueOf(name: Placeholder, ctx: TemplateContext): TemplateValue {
  const p = ctx.params;
  switch (name) {
    case 'files':
      return ctx.files;
    case 'refpanel':
      return p.refpanel;
    case 'panelId':
      return panelIdOf(p.refpanel);
    case 'population':
      return p.population;
    case 'build':
      return p.build;
    case 'phasing':
      return p.phasing;
    case 'r2Filter':
      return p.r2Filter;
    case 'mode':
      return p.mode;
    case 'password':
      return ctx.password;
    case 'runId':
      return ctx.runId;
    case 'aesEncryption':
      return p.aesEncryption === true;
    case 'meta':
      return p.meta === true;
  }
}

function asText(value: TemplateValue): string {
  if (Array.isArray(value)) return value.map(asText).join(',');
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function renderTemplate(template: ParamTemplate, ctx: TemplateContext): Record<string, unknown> {
  const render = (value: TemplateValue): TemplateValue => {
    if (typeof value === 'string') {
      const whole = WHOLE.exec(value);
      if (whole && isPlaceholder(whole[1] ?? '')) return valueOf(whole[1] as Placeholder, ctx);
      return value.replace(PATTERN, (_m, name: string) => (isPlaceholder(name) ? asText(valueOf(name, ctx)) : _m));
    }
    if (Array.isArray(value)) return value.map(render);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v)]));
    }
    return value;
  };
  return render(template) as Record<string, unknown>;
}

/** Tag values may name the run (WESkit's `run_dir` must differ per run): `${runId}` only. */
export function renderTags(tags: Record<string, string>, runId: string): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, v.split('${runId}').join(runId)]));
}

/** Only the placeholders a template uses need values: a template without `${password}` sends none. */
export function usesPassword(template: ParamTemplate): boolean {
  return templatePlaceholders(template).has('password');
}

export type InputMode = 'attachment' | 'https' | 'drs';

/** The reference the node reads each input by, in the configured input mode. */
export function inputReference(file: InputFile, mode: InputMode): string | null {
  switch (mode) {
    case 'attachment':
      return file.name;
    case 'https':
      return file.url ?? null;
    case 'drs':
      return file.drsUri ?? null;
  }
}
