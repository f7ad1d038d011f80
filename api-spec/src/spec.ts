/**
 * The broker's WES 1.1 OpenAPI document, as a file path, as text and as a parsed object.
 * The broker serves it at `/docs` and `/ga4gh/wes/v1/openapi.yaml`; tests validate against it.
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

let text: string | undefined;

/** The YAML text exactly as committed (read once). */
export function loadWesSpecText(): string {
  text ??= readFileSync(WES_SPEC_PATH, 'utf8');
  return text;
}

/** A freshly parsed copy of the document: callers may change it without affecting others. */
export function loadWesSpec(): OpenApiDocument {
  return parse(loadWesSpecText()) as OpenApiDocument;
}
