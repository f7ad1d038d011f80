/**
 * Validates WES responses against the **official** GA4GH WES 1.1.0 OpenAPI document
 * (`shared/ga4gh/wes/1.1.0/bundled/openapi.json`), not against our own `api-spec/wes.yaml`:
 * what a WES client written from the standard expects is what counts.
 *
 * OpenAPI 3.0 Schema Objects are not quite JSON Schema, so each component schema is converted
 * to JSON Schema draft-07 before Ajv compiles it:
 * - `nullable: true` becomes `type: [<type>, "null"]` (and `null` joins an `enum`);
 * - `$ref: "#/components/schemas/X"` becomes `#/definitions/X` inside one root document;
 * - a schema with object keywords (`required`, `properties`) but no `type` gets `type: "object"`
 *   (Ajv's strictTypes insists; in this document those are `allOf`s of object schemas, so
 *   nothing that validated before is refused now);
 * - OpenAPI-only annotations (`example`, `externalDocs`, `xml`, `x-*`) are dropped; `deprecated`,
 *   `title`, `description` stay (Ajv knows them as annotations);
 * - `format`s (`uri`, `date-time`, `int32`, `int64`, `binary`) are checked by ajv-formats.
 * Ajv runs in strict mode, so a schema keyword it does not understand is an error, not a
 * silently ignored constraint.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Where the official document lives: `GA4GH_WES_SPEC` if set, else `shared/` beside the repo
 * (as CI checks it out), else `shared/` inside the repo.
 */
export function officialWesSpecPath(): string {
  const fromEnv = process.env.GA4GH_WES_SPEC;
  if (fromEnv) return resolve(fromEnv);
  const repoRoot = resolve(import.meta.dirname, '../..');
  const candidates = [
    resolve(repoRoot, '../shared/ga4gh/wes/1.1.0/bundled/openapi.json'),
    resolve(repoRoot, 'shared/ga4gh/wes/1.1.0/bundled/openapi.json'),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `The official GA4GH WES 1.1.0 document was not found (looked at ${candidates.join(', ')}). ` +
        'Check out the shared/ reference folder beside the repository or set GA4GH_WES_SPEC.',
    );
  }
  return found;
}

const SCHEMA_REF = '#/components/schemas/';
const DROPPED_KEYS = new Set(['example', 'externalDocs', 'xml', 'discriminator', 'readOnly', 'writeOnly']);

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
  /** The component schema name the body was checked against, e.g. `RunLog`. */
  schemaName: string;
}

export interface ResponseSpec {
  schemaName: string;
  contentTypes: string[];
}

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, JsonObject>>;
  components: { schemas: Record<string, Json> };
}

function formatErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const extra = e.keyword === 'enum' ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})` : '';
    const prop = e.keyword === 'additionalProperties' ? ` '${String((e.params as { additionalProperty?: unknown }).additionalProperty)}'` : '';
    return `${e.instancePath || '(root)'}: ${e.message ?? e.keyword}${extra}${prop}`;
  });
}

// ajv-formats is CommonJS with `exports.default`; under ESM interop the callable may be either.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as typeof addFormatsModule;

/**
 * The official WES document, compiled. `schemaFor(path, method, status)` says which schema the
 * spec declares; `validateResponse` checks a body against it.
 */
export class WesSchemas {
  readonly spec: OpenApiDocument;
  readonly specPath: string;
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(specPath = officialWesSpecPath()) {
    this.specPath = specPath;
    this.spec = JSON.parse(readFileSync(specPath, 'utf8')) as OpenApiDocument;
    if (!this.spec.openapi.startsWith('3.0')) throw new Error(`expected an OpenAPI 3.0 document, got ${this.spec.openapi}`);
    this.ajv = new Ajv({ strict: true, strictTypes: true, strictRequired: false, allErrors: true, allowUnionTypes: true });
    addFormats(this.ajv);
    const definitions: JsonObject = {};
    for (const [name, schema] of Object.entries(this.spec.components.schemas)) definitions[name] = toJsonSchema(schema);
    this.ajv.addSchema({ $id: 'ga4gh-wes-1.1.0', definitions } as JsonObject, 'ga4gh-wes-1.1.0');
    // Compile every component now: a schema Ajv cannot handle strictly fails here, not mid-test.
    for (const name of this.schemaNames()) this.validatorOf(name);
  }

  schemaNames(): string[] {
    return Object.keys(this.spec.components.schemas);
  }

  /** The operations the official document declares, as `[path, method]`. */
  operations(): [string, string][] {
    return Object.entries(this.spec.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'].includes(m))
        .map((m): [string, string] => [path, m]),
    );
  }

  /** Status codes the official document lists for an operation. */
  statusesOf(path: string, method: string): string[] {
    const op = this.operation(path, method);
    return isObject(op.responses) ? Object.keys(op.responses) : [];
  }

  private operation(path: string, method: string): JsonObject {
    const op = this.spec.paths[path]?.[method.toLowerCase()];
    if (!op) throw new Error(`the official WES document has no operation ${method.toUpperCase()} ${path}`);
    return op;
  }

  /** The component schema declared for (path, method, status), e.g. `('/runs/{run_id}', 'get', 404)` → `ErrorResponse`. */
  responseSpec(path: string, method: string, status: number): ResponseSpec {
    const op = this.operation(path, method);
    const responses = op.responses;
    const response = isObject(responses) ? (responses[String(status)] ?? responses.default) : undefined;
    if (!isObject(response)) {
      throw new Error(
        `${method.toUpperCase()} ${path} does not declare status ${status} in the official WES document ` +
          `(declared: ${this.statusesOf(path, method).join(', ')})`,
      );
    }
    const content = response.content;
    if (!isObject(content)) throw new Error(`${method.toUpperCase()} ${path} ${status} declares no content`);
    const contentTypes = Object.keys(content);
    const media = content['application/json'];
    const schema = isObject(media) ? media.schema : undefined;
    const ref = isObject(schema) ? schema.$ref : undefined;
    if (typeof ref !== 'string' || !ref.startsWith(SCHEMA_REF)) {
      throw new Error(`${method.toUpperCase()} ${path} ${status}: expected an application/json schema $ref`);
    }
    return { schemaName: ref.slice(SCHEMA_REF.length), contentTypes };
  }

  private validatorOf(schemaName: string): ValidateFunction {
    let v = this.compiled.get(schemaName);
    if (!v) {
      if (!(schemaName in this.spec.components.schemas)) throw new Error(`no component schema ${schemaName}`);
      v = this.ajv.getSchema(`ga4gh-wes-1.1.0#/definitions/${schemaName}`);
      if (!v) throw new Error(`Ajv could not compile ${schemaName}`);
      this.compiled.set(schemaName, v);
    }
    return v;
  }

  /** Checks a value against one component schema, e.g. `validateSchema('RunLog', body)`. */
  validateSchema(schemaName: string, body: unknown): ValidationResult {
    const v = this.validatorOf(schemaName);
    const valid = v(body) === true;
    return { valid, errors: valid ? [] : formatErrors(v.errors), schemaName };
  }

  /** Checks a response body against what the official document declares for (path, method, status). */
  validateResponse(path: string, method: string, status: number, body: unknown): ValidationResult {
    return this.validateSchema(this.responseSpec(path, method, status).schemaName, body);
  }
}

let shared: WesSchemas | undefined;
/** One compiled instance per process. */
export function wesSchemas(): WesSchemas {
  shared ??= new WesSchemas();
  return shared;
}
