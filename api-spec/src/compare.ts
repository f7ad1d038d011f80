/**
 * Structural comparison of two OpenAPI 3.0 documents.
 *
 * Our spec-first documents (wes.yaml, drs.yaml) rewrite descriptions and add examples,
 * servers and security, but must keep the official GA4GH structure: same paths, operations,
 * parameters, bodies, response codes and component schemas. `normalizeSpec` strips what may
 * differ and fills in OpenAPI defaults; `diffSpecs` lists every difference with its JSON path.
 *
 * Schema `$ref`s stay references by component name (by default), because component schemas are
 * compared one by one: a changed enum then shows up once, at `components.schemas.State.enum`,
 * instead of at every response that embeds it. Everything else (`#/components/parameters`,
 * `responses`, `requestBodies`, `headers`...) is inlined, so moving a parameter into components
 * is not a difference.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface NormalizeOptions {
  /** Inline schema `$ref`s too (keeping the component name as `$component`). Default false. */
  inlineSchemaRefs?: boolean;
  /**
   * Compare security too (default false: wes.yaml replaces the official security on purpose):
   * each operation's effective `security` (its own, else the document's; alternatives and scopes
   * sorted) and `components.securitySchemes` without descriptions, keeping `x-in` (where
   * DRS `PassportAuth` credentials travel).
   */
  security?: boolean;
}

export interface SpecDifference {
  /** Where, e.g. `paths["/runs/{run_id}"].get.responses["404"]`. */
  path: string;
  kind: 'missing' | 'extra' | 'changed';
  /** The value in the document under test (`undefined` when missing). */
  actual?: Json;
  /** The value in the reference document (`undefined` when extra). */
  expected?: Json;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Annotation keywords of a Schema Object: they do not change what validates. */
const SCHEMA_ANNOTATIONS = new Set(['description', 'example', 'examples', 'title', 'externalDocs', 'xml']);

const SCHEMA_REF_PREFIX = '#/components/schemas/';

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isExtension(key: string): boolean {
  return key.startsWith('x-');
}

class Normalizer {
  private readonly resolving: string[] = [];

  constructor(
    private readonly doc: JsonObject,
    private readonly options: NormalizeOptions,
  ) {}

  private lookup(ref: string): Json {
    if (!ref.startsWith('#/')) throw new Error(`Only local references are supported, got "${ref}"`);
    let node: Json = this.doc;
    for (const raw of ref.slice(2).split('/')) {
      const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      if (!isObject(node) || !(key in node)) throw new Error(`Unresolvable reference "${ref}"`);
      node = node[key] as Json;
    }
    return node;
  }

  /** Follows non-schema `$ref` chains to the referenced object. */
  private deref(node: Json): Json {
    let current = node;
    const seen = new Set<string>();
    while (isObject(current) && typeof current.$ref === 'string') {
      if (seen.has(current.$ref)) throw new Error(`Reference cycle at "${current.$ref}"`);
      seen.add(current.$ref);
      current = this.lookup(current.$ref);
    }
    return current;
  }

  schema(node: Json): Json {
    if (!isObject(node)) return node;
    if (typeof node.$ref === 'string') {
      const ref = node.$ref;
      if (!ref.startsWith(SCHEMA_REF_PREFIX)) return this.schema(this.deref(node));
      const name = ref.slice(SCHEMA_REF_PREFIX.length);
      if (!this.options.inlineSchemaRefs) {
        this.lookup(ref); // must resolve even when kept by name
        return { $ref: ref };
      }
      if (this.resolving.includes(ref)) return { $component: name, $recursive: true };
      this.resolving.push(ref);
      try {
        const resolved = this.schema(this.lookup(ref));
        return isObject(resolved) ? { $component: name, ...resolved } : resolved;
      } finally {
        this.resolving.pop();
      }
    }
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (SCHEMA_ANNOTATIONS.has(key) || isExtension(key)) continue;
      switch (key) {
        case 'properties':
          if (isObject(value)) {
            const props: JsonObject = {};
            for (const [name, sub] of Object.entries(value)) props[name] = this.schema(sub);
            out.properties = props;
          }
          break;
        case 'items':
        case 'not':
          out[key] = this.schema(value);
          break;
        case 'additionalProperties':
          // `true` is the default: same as absent.
          if (value !== true) out[key] = isObject(value) ? this.schema(value) : value;
          break;
        case 'allOf':
        case 'anyOf':
        case 'oneOf':
          out[key] = Array.isArray(value) ? value.map((s) => this.schema(s)) : value;
          break;
        case 'required':
          // Order carries no meaning; an empty list is the default.
          if (Array.isArray(value) && value.length > 0) out.required = [...value].sort();
          break;
        case 'nullable':
        case 'readOnly':
        case 'writeOnly':
        case 'deprecated':
        case 'uniqueItems':
          if (value !== false) out[key] = value;
          break;
        default:
          out[key] = value;
      }
    }
    return out;
  }

  private content(node: Json): Json {
    const content = this.deref(node);
    if (!isObject(content)) return content;
    const out: JsonObject = {};
    for (const [mediaType, rawMedia] of Object.entries(content)) {
      const media = this.deref(rawMedia);
      if (!isObject(media)) {
        out[mediaType] = media;
        continue;
      }
      const normalized: JsonObject = {};
      if (media.schema !== undefined) normalized.schema = this.schema(media.schema);
      if (isObject(media.encoding) && Object.keys(media.encoding).length > 0) {
        const encoding: JsonObject = {};
        for (const [prop, enc] of Object.entries(media.encoding)) encoding[prop] = this.headerish(enc);
        normalized.encoding = encoding;
      }
      out[mediaType] = normalized;
    }
    return out;
  }

  /** Header, Encoding and similar small objects: drop annotations, keep the rest. */
  private headerish(node: Json): Json {
    const obj = this.deref(node);
    if (!isObject(obj)) return obj;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(obj)) {
      if (key === 'description' || key === 'example' || key === 'examples' || isExtension(key)) continue;
      if (key === 'schema') out.schema = this.schema(value);
      else if (key === 'content') out.content = this.content(value);
      else if (key === 'headers' && isObject(value)) {
        if (Object.keys(value).length > 0) out.headers = this.headers(value);
      } else if ((key === 'required' || key === 'deprecated') && value === false) continue;
      else out[key] = value;
    }
    return out;
  }

  private headers(node: JsonObject): Json {
    const out: JsonObject = {};
    for (const [name, header] of Object.entries(node)) out[name.toLowerCase()] = this.headerish(header);
    return out;
  }

  private parameter(node: Json): JsonObject {
    const p = this.deref(node);
    if (!isObject(p)) throw new Error('Parameter is not an object');
    const location = String(p.in);
    const style = typeof p.style === 'string' ? p.style : location === 'query' || location === 'cookie' ? 'form' : 'simple';
    const out: JsonObject = {
      name: p.name as Json,
      in: location,
      required: p.required === true,
      style,
      explode: typeof p.explode === 'boolean' ? p.explode : style === 'form',
    };
    if (p.schema !== undefined) out.schema = this.schema(p.schema);
    if (p.content !== undefined) out.content = this.content(p.content);
    for (const flag of ['deprecated', 'allowEmptyValue', 'allowReserved'] as const) {
      if (p[flag] === true) out[flag] = true;
    }
    return out;
  }

  private parameters(pathLevel: Json, opLevel: Json): Json {
    const out: JsonObject = {};
    // Operation-level parameters override path-level ones with the same name and location.
    for (const list of [pathLevel, opLevel]) {
      if (!Array.isArray(list)) continue;
      for (const raw of list) {
        const p = this.parameter(raw);
        out[`${String(p.in)}:${String(p.name)}`] = p;
      }
    }
    return out;
  }

  private operation(op: Json, pathParams: Json): Json {
    if (!isObject(op)) return op;
    const out: JsonObject = { operationId: op.operationId ?? null };
    const params = this.parameters(pathParams, op.parameters ?? null);
    if (isObject(params) && Object.keys(params).length > 0) out.parameters = params;
    if (op.requestBody !== undefined) {
      const body = this.deref(op.requestBody);
      if (isObject(body)) {
        out.requestBody = { required: body.required === true, content: this.content(body.content ?? {}) };
      }
    }
    const responses: JsonObject = {};
    if (isObject(op.responses)) {
      for (const [code, raw] of Object.entries(op.responses)) {
        if (isExtension(code)) continue;
        const res = this.deref(raw);
        if (!isObject(res)) continue;
        const normalized: JsonObject = {};
        if (res.content !== undefined && isObject(res.content) && Object.keys(res.content).length > 0) {
          normalized.content = this.content(res.content);
        }
        if (isObject(res.headers) && Object.keys(res.headers).length > 0) normalized.headers = this.headers(res.headers);
        if (isObject(res.links) && Object.keys(res.links).length > 0) normalized.links = res.links;
        responses[String(code).toUpperCase()] = normalized;
      }
    }
    out.responses = responses;
    if (op.deprecated === true) out.deprecated = true;
    if (this.options.security) out.security = this.security(op.security ?? this.doc.security ?? null);
    if (isObject(op.callbacks) && Object.keys(op.callbacks).length > 0) out.callbacks = op.callbacks;
    return out;
  }

  /** A list of security requirements, alternatives and scopes sorted; `null` when none is given. */
  private security(node: Json): Json {
    if (!Array.isArray(node)) return null;
    const requirements = node.map((req) => {
      if (!isObject(req)) return req;
      const out: JsonObject = {};
      for (const name of Object.keys(req).sort()) {
        const scopes = req[name];
        out[name] = Array.isArray(scopes) ? [...scopes].sort() : (scopes ?? null);
      }
      return out;
    });
    return requirements
      .map((req) => [JSON.stringify(req), req] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, req]) => req);
  }

  private securitySchemes(node: Json): JsonObject {
    const out: JsonObject = {};
    if (!isObject(node)) return out;
    for (const [name, raw] of Object.entries(node)) {
      const scheme = this.deref(raw);
      if (!isObject(scheme)) continue;
      const normalized: JsonObject = {};
      for (const [key, value] of Object.entries(scheme)) {
        if (key === 'description' || (isExtension(key) && key !== 'x-in')) continue;
        normalized[key] = key === 'scheme' && typeof value === 'string' ? value.toLowerCase() : value;
      }
      out[name] = normalized;
    }
    return out;
  }

  document(): JsonObject {
    const doc = this.doc;
    const version = typeof doc.openapi === 'string' ? doc.openapi.split('.').slice(0, 2).join('.') : null;
    const paths: JsonObject = {};
    if (isObject(doc.paths)) {
      for (const [path, rawItem] of Object.entries(doc.paths)) {
        if (isExtension(path)) continue;
        const item = this.deref(rawItem);
        if (!isObject(item)) continue;
        const ops: JsonObject = {};
        for (const method of HTTP_METHODS) {
          if (item[method] !== undefined) ops[method] = this.operation(item[method], item.parameters ?? null);
        }
        paths[path] = ops;
      }
    }
    const schemas: JsonObject = {};
    const components = isObject(doc.components) ? doc.components : {};
    if (isObject(components.schemas)) {
      for (const [name, schema] of Object.entries(components.schemas)) schemas[name] = this.schema(schema);
    }
    if (!this.options.security) return { openapi: version, paths, components: { schemas } };
    return {
      openapi: version,
      paths,
      components: { schemas, securitySchemes: this.securitySchemes(components.securitySchemes ?? null) },
    };
  }
}

/**
 * The structure of an OpenAPI 3.0 document: `{openapi: "3.0", paths, components: {schemas}}`
 * without descriptions, summaries, examples, info, servers, security (unless `security` is
 * set), tags or `x-*`, with parameters keyed `in:name` and OpenAPI defaults made explicit (or
 * dropped when they are the default), so equal structures compare equal.
 */
export function normalizeSpec(doc: unknown, options: NormalizeOptions = {}): JsonObject {
  if (!isObject(doc)) throw new Error('An OpenAPI document must be an object');
  return new Normalizer(doc, options).document();
}

function formatKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function deepDiff(actual: Json | undefined, expected: Json | undefined, path: string, out: SpecDifference[]): void {
  if (actual === undefined && expected === undefined) return;
  if (actual === undefined) {
    out.push({ path, kind: 'missing', expected });
    return;
  }
  if (expected === undefined) {
    out.push({ path, kind: 'extra', actual });
    return;
  }
  if (Array.isArray(actual) && Array.isArray(expected)) {
    if (actual.length !== expected.length) {
      out.push({ path, kind: 'changed', actual, expected });
      return;
    }
    actual.forEach((item, i) => deepDiff(item, expected[i], `${path}[${i}]`, out));
    return;
  }
  if (isObject(actual) && isObject(expected)) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const key of keys) deepDiff(actual[key], expected[key], `${path}${formatKey(key)}`, out);
    return;
  }
  if (actual !== expected) out.push({ path, kind: 'changed', actual, expected });
}

/** Every structural difference of `actual` from `expected` (both raw OpenAPI documents). */
export function diffSpecs(actual: unknown, expected: unknown, options: NormalizeOptions = {}): SpecDifference[] {
  const out: SpecDifference[] = [];
  const a = normalizeSpec(actual, options);
  const e = normalizeSpec(expected, options);
  for (const key of Object.keys(e)) deepDiff(a[key], e[key], key, out);
  return out;
}

function show(value: Json | undefined): string {
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** One line per difference, e.g. `changed components.schemas.State.enum[10]: "X" (expected "PREEMPTED")`. */
export function formatDifferences(diffs: readonly SpecDifference[]): string {
  return diffs
    .map((d) => {
      if (d.kind === 'missing') return `missing ${d.path} (expected ${show(d.expected)})`;
      if (d.kind === 'extra') return `extra   ${d.path}: ${show(d.actual)}`;
      return `changed ${d.path}: ${show(d.actual)} (expected ${show(d.expected)})`;
    })
    .join('\n');
}
