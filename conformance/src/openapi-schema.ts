/**
 * Validates responses against an **official** GA4GH OpenAPI 3.0 document (WES 1.1.0, DRS 1.5.0),
 * not against our own `api-spec/*.yaml`: what a client written from the standard expects is what
 * counts. `wes-schema.ts` and `drs-schema.ts` only say where their document lives.
 *
 * OpenAPI 3.0 Schema Objects are not quite JSON Schema, so each schema is converted to JSON
 * Schema draft-07 before Ajv compiles it:
 * - `nullable: true` becomes `type: [<type>, "null"]` (and `null` joins an `enum`);
 * - `$ref: "#/components/schemas/X"` becomes `#/definitions/X` inside one root document;
 * - a schema with object keywords (`required`, `properties`) but no `type` gets `type: "object"`
 *   (Ajv's strictTypes insists; in these documents those are `allOf`s of object schemas, so
 *   nothing that validated before is refused now);
 * - OpenAPI-only annotations (`example`, `externalDocs`, `xml`, `x-*`) are dropped; `deprecated`,
 *   `title`, `description` stay (Ajv knows them as annotations);
 * - `format`s (`uri`, `date-time`, `int32`, `int64`, `binary`) are checked by ajv-formats.
 * Ajv runs in strict mode, so a schema keyword it does not understand is an error, not a
 * silently ignored constraint.
 *
 * Responses are read as the document declares them: through `#/components/responses/...`
 * references (DRS shares its responses that way), with a component schema (`RunLog`,
 * `DrsObject`) or an inline one (DRS service-info is an `allOf`, the bulk answers are inline
 * objects), or with no content at all (DRS 202, 204, 405).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const REPO_ROOT = resolve(import.meta.dirname, '../..');

/**
 * Where an official document lives: the environment variable if set, else `shared/` beside the
 * repository (as CI checks it out), else `shared/` inside it.
 */
export function officialSpecPath(o: { envVar: string; relative: string; label: string }): string {
  const fromEnv = process.env[o.envVar];
  if (fromEnv) return resolve(fromEnv);
  const candidates = [resolve(REPO_ROOT, '../shared', o.relative), resolve(REPO_ROOT, 'shared', o.relative)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `The official ${o.label} document was not found (looked at ${candidates.join(', ')}). ` +
        `Check out the shared/ reference folder beside the repository or set ${o.envVar}.`,
    );
  }
  return found;
}

const SCHEMA_REF = '#/components/schemas/';
const RESPONSE_REF = '#/components/responses/';
const DROPPED_KEYS = new Set(['example', 'externalDocs', 'xml', 'discriminator', 'readOnly', 'writeOnly']);
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'];

/** One OpenAPI 3.0 Schema Object as draft-07 JSON Schema (see the module comment). */
export function toJsonSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED_KEYS.has(key) || key.startsWith('x-') || key === 'nullable') continue;
    if (key === '$ref') {
      if (typeof value !== 'string' || !value.startsWith(SCHEMA_REF)) {
        throw new Error(`unsupported $ref ${JSON.stringify(value)}: only ${SCHEMA_REF}... is expected in the bundled document`);
      }
      out.$ref = `#/definitions/${value.slice(SCHEMA_REF.length)}`;
    } else if (key === 'properties' || key === 'definitions') {
      // Maps of names to schemas: convert the schemas, keep the names (a property may be called "example").
      out[key] = isObject(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSchema(v)])) : value;
    } else if (key === 'enum' || key === 'required' || key === 'default') {
      out[key] = value;
    } else {
      out[key] = toJsonSchema(value);
    }
  }
  const objectKeywords = ['required', 'properties', 'additionalProperties'].some((k) => k in out);
  if (objectKeywords && out.type === undefined) out.type = 'object';
  if (schema.nullable === true) {
    const type = out.type;
    if (typeof type === 'string') out.type = [type, 'null'];
    else if (Array.isArray(type) && !type.includes('null')) out.type = [...type, 'null'];
    else if (type === undefined) {
      // `nullable` without `type` has no effect in OpenAPI 3.0.3; keep it that way.
    }
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  return out;
}

export interface ValidationResult {
  valid: boolean;
  /** Human-readable problems, `instancePath: message`. Empty when valid. */
  errors: string[];
  /** The schema the body was checked against: a component name (`RunLog`) or `<operationId>.<status>` when inline. */
  schemaName: string;
}

export interface ResponseSpec {
  /**
   * The component schema name (`DrsObject`), `<operationId>.<status>` for an inline schema
   * (`GetBulkObjects.200`), or null when the response declares no content (DRS 202/204/405).
   */
  schemaName: string | null;
  /** Declared media types; empty when the response has no content. */
  contentTypes: string[];
}

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, JsonObject>>;
  components: { schemas: Record<string, Json>; responses?: Record<string, Json> };
}

/** Ajv errors as `instancePath: message` lines, with the allowed values or the unexpected property. */
export function formatErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const extra = e.keyword === 'enum' ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})` : '';
    const prop = e.keyword === 'additionalProperties' ? ` '${String((e.params as { additionalProperty?: unknown }).additionalProperty)}'` : '';
    return `${e.instancePath || '(root)'}: ${e.message ?? e.keyword}${extra}${prop}`;
  });
}

// ajv-formats is CommonJS with `exports.default`; under ESM interop the callable may be either.
export const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as typeof addFormatsModule;

export interface OpenApiSchemasOptions {
  specPath: string;
  /**
   * The document itself, when it is not a bundled JSON file (the Service Registry's YAML refers
   * to service-info's schemas by URL; registry-schema.ts inlines them first).
   */
  document?: unknown;
  /** Ajv id of the compiled document, e.g. `ga4gh-drs-1.5.0`. */
  id: string;
  /** Name used in messages, e.g. `WES 1.1.0`. */
  label: string;
  /** The component every error body must be (`ErrorResponse` in WES, `Error` in DRS). */
  errorSchema: string;
}

/**
 * An official document, compiled. `responseSpec(path, method, status)` says which schema the
 * spec declares; `validateResponse` checks a body against it.
 */
export class OpenApiSchemas {
  readonly spec: OpenApiDocument;
  readonly specPath: string;
  readonly label: string;
  readonly errorSchema: string;
  private readonly id: string;
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();
  /** Inline response schemas, by `<operationId>.<status>`. */
  private readonly inline = new Map<string, JsonObject>();

  constructor(o: OpenApiSchemasOptions) {
    this.specPath = o.specPath;
    this.label = o.label;
    this.id = o.id;
    this.errorSchema = o.errorSchema;
    this.spec = (o.document ?? JSON.parse(readFileSync(o.specPath, 'utf8'))) as OpenApiDocument;
    if (!this.spec.openapi.startsWith('3.0')) throw new Error(`expected an OpenAPI 3.0 document, got ${this.spec.openapi}`);
    if (!(o.errorSchema in this.spec.components.schemas)) throw new Error(`${o.label} has no component schema ${o.errorSchema}`);
    this.ajv = new Ajv({ strict: true, strictTypes: true, strictRequired: false, allErrors: true, allowUnionTypes: true });
    addFormats(this.ajv);
    const definitions: JsonObject = {};
    for (const [name, schema] of Object.entries(this.spec.components.schemas)) definitions[name] = toJsonSchema(schema);
    // Inline response schemas join the definitions under `<operationId>.<status>` (no component name has a dot).
    for (const [path, method] of this.operations()) {
      for (const status of this.statusesOf(path, method)) {
        const schema = this.mediaSchema(path, method, status);
        if (schema && typeof schema.$ref !== 'string') {
          const name = `${this.operationId(path, method)}.${status}`;
          definitions[name] = toJsonSchema(schema);
          this.inline.set(name, schema);
        }
      }
    }
    this.ajv.addSchema({ $id: o.id, definitions } as JsonObject, o.id);
    // Compile everything now: a schema Ajv cannot handle strictly fails here, not mid-test.
    for (const name of [...this.schemaNames(), ...this.inline.keys()]) this.validatorOf(name);
  }

  /** The component schemas of the document. */
  schemaNames(): string[] {
    return Object.keys(this.spec.components.schemas);
  }

  /** The operations the official document declares, as `[path, method]`. */
  operations(): [string, string][] {
    return Object.entries(this.spec.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => METHODS.includes(m))
        .map((m): [string, string] => [path, m]),
    );
  }

  operationId(path: string, method: string): string {
    const id = this.operation(path, method).operationId;
    return typeof id === 'string' ? id : `${method.toUpperCase()} ${path}`;
  }

  /** Status codes the official document lists for an operation. */
  statusesOf(path: string, method: string): string[] {
    const op = this.operation(path, method);
    return isObject(op.responses) ? Object.keys(op.responses) : [];
  }

  private operation(path: string, method: string): JsonObject {
    const op = this.spec.paths[path]?.[method.toLowerCase()];
    if (!op) throw new Error(`the official ${this.label} document has no operation ${method.toUpperCase()} ${path}`);
    return op;
  }

  /** The Response Object of (path, method, status), `#/components/responses/...` resolved; undefined if not declared. */
  private response(path: string, method: string, status: string): JsonObject | undefined {
    const responses = this.operation(path, method).responses;
    let response = isObject(responses) ? (responses[status] ?? responses.default) : undefined;
    if (isObject(response) && typeof response.$ref === 'string') {
      const ref = response.$ref;
      if (!ref.startsWith(RESPONSE_REF)) throw new Error(`unsupported response $ref ${ref}`);
      response = this.spec.components.responses?.[ref.slice(RESPONSE_REF.length)];
      if (!isObject(response)) throw new Error(`unresolved response $ref ${ref}`);
    }
    return isObject(response) ? response : undefined;
  }

  private mediaSchema(path: string, method: string, status: string): JsonObject | undefined {
    const content = this.response(path, method, status)?.content;
    const media = isObject(content) ? content['application/json'] : undefined;
    const schema = isObject(media) ? media.schema : undefined;
    return isObject(schema) ? schema : undefined;
  }

  /** What the official document declares for (path, method, status), e.g. `('/runs/{run_id}', 'get', 404)` → `ErrorResponse`. */
  responseSpec(path: string, method: string, status: number): ResponseSpec {
    const response = this.response(path, method, String(status));
    if (!response) {
      throw new Error(
        `${method.toUpperCase()} ${path} does not declare status ${status} in the official ${this.label} document ` +
          `(declared: ${this.statusesOf(path, method).join(', ')})`,
      );
    }
    const content = response.content;
    if (content === undefined) return { schemaName: null, contentTypes: [] };
    if (!isObject(content)) throw new Error(`${method.toUpperCase()} ${path} ${status}: content is not a map`);
    const contentTypes = Object.keys(content);
    const schema = this.mediaSchema(path, method, String(status));
    if (!schema) throw new Error(`${method.toUpperCase()} ${path} ${status}: expected an application/json schema`);
    const ref = schema.$ref;
    if (typeof ref === 'string') {
      if (!ref.startsWith(SCHEMA_REF)) throw new Error(`${method.toUpperCase()} ${path} ${status}: unsupported $ref ${ref}`);
      return { schemaName: ref.slice(SCHEMA_REF.length), contentTypes };
    }
    return { schemaName: `${this.operationId(path, method)}.${status}`, contentTypes };
  }

  private validatorOf(schemaName: string): ValidateFunction {
    let v = this.compiled.get(schemaName);
    if (!v) {
      if (!(schemaName in this.spec.components.schemas) && !this.inline.has(schemaName)) throw new Error(`no schema ${schemaName} in ${this.label}`);
      v = this.ajv.getSchema(`${this.id}#/definitions/${schemaName}`);
      if (!v) throw new Error(`Ajv could not compile ${schemaName}`);
      this.compiled.set(schemaName, v);
    }
    return v;
  }

  /** Checks a value against one schema, e.g. `validateSchema('RunLog', body)` or `validateSchema('GetBulkObjects.200', body)`. */
  validateSchema(schemaName: string, body: unknown): ValidationResult {
    const v = this.validatorOf(schemaName);
    const valid = v(body) === true;
    return { valid, errors: valid ? [] : formatErrors(v.errors), schemaName };
  }

  /** Checks a response body against what the official document declares for (path, method, status). */
  validateResponse(path: string, method: string, status: number, body: unknown): ValidationResult {
    const { schemaName } = this.responseSpec(path, method, status);
    if (schemaName === null) {
      const empty = body === '' || body === undefined || body === null;
      return { valid: empty, errors: empty ? [] : ['(root): the response declares no content, but has a body'], schemaName: '(no content)' };
    }
    return this.validateSchema(schemaName, body);
  }
}
