/**
 * The broker's WES 1.1 and DRS 1.5 OpenAPI documents, as file paths, as text and as parsed
 * objects. The broker serves them at `/docs`; tests validate against them.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** Absolute path of `api-spec/wes.yaml`. */
export const WES_SPEC_PATH: string = fileURLToPath(new URL('../wes.yaml', import.meta.url));

/** The parts of an OpenAPI 3.0 document the callers look at; the rest stays `unknown`. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; [key: string]: unknown };
  servers?: Array<{ url: string; description?: string }>;
  paths: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

/** Absolute path of `api-spec/drs.yaml`. */
export const DRS_SPEC_PATH: string = fileURLToPath(new URL('../drs.yaml', import.meta.url));

const texts = new Map<string, string>();
const textOf = (path: string): string => {
  const known = texts.get(path);
  if (known !== undefined) return known;
  const read = readFileSync(path, 'utf8');
  texts.set(path, read);
  return read;
};

/** The YAML text exactly as committed (read once). */
export function loadWesSpecText(): string {
  return textOf(WES_SPEC_PATH);
}

/** The DRS document's YAML text exactly as committed (read once). */
export function loadDrsSpecText(): string {
  return textOf(DRS_SPEC_PATH);
}

/** A freshly parsed copy of the document: callers may change it without affecting others. */
export function loadWesSpec(): OpenApiDocument {
  return parse(loadWesSpecText()) as OpenApiDocument;
}
