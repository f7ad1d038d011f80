/**
 * drs.yaml must keep the official GA4GH DRS 1.5.0 structure (security included), be a valid
 * OpenAPI 3.0 document that Redocly and Dredd 14 accept, and src/drs.ts must be what
 * `npm run gen` makes of it today.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lintProblems } from './lint.js';
import { collectRefs, isObj, METHODS, operations, resolvePointer, type Obj } from './walk.js';
import { isMap, isScalar, parse, parseDocument, visit } from 'yaml';
import { diffSpecs, formatDifferences, normalizeSpec, type NormalizeOptions, type SpecDifference } from './compare.js';
import type {
  AccessMethod,
  AccessMethodType,
  AccessURL,
  AuthorizationType,
  Authorizations,
  BulkObjectsResponse,
  Checksum,
  ContentsObject,
  DrsError,
  DrsObject,
  DrsServiceInfo,
  PostObjectBody,
} from './index.js';

/** CI checks the repository out with `shared/` beside it; here it is /work/shared. */
const OFFICIAL_DRS_JSON = new URL('../../../shared/ga4gh/drs/1.5.0/bundled/openapi.json', import.meta.url);
const API_SPEC_DIR = fileURLToPath(new URL('..', import.meta.url));
const DRS_SPEC_PATH = join(API_SPEC_DIR, 'drs.yaml');
const DRS_SPEC_TEXT = readFileSync(DRS_SPEC_PATH, 'utf8');

/** Structure, with security requirements and schemes compared too. */
const WITH_SECURITY: NormalizeOptions = { security: true };


function loadOurs(): Obj {
  return parse(DRS_SPEC_TEXT) as Obj;
}

function loadOfficial(): Obj {
  return JSON.parse(readFileSync(OFFICIAL_DRS_JSON, 'utf8')) as Obj;
}

function expectNoDifferences(diffs: SpecDifference[]): void {
  expect(diffs, `drs.yaml differs structurally from the official DRS 1.5.0:\n${formatDifferences(diffs)}\n`).toEqual(
    [],
  );
}

/** Drills into a parsed document; throws with the path when a step is missing. */
function at(doc: unknown, ...keys: string[]): Obj {
  let node = doc;
  for (const key of keys) {
    if (typeof node !== 'object' || node === null || !(key in node)) throw new Error(`no ${keys.join(' > ')}`);
    node = (node as Obj)[key];
  }
  return node as Obj;
}




const deref = (doc: Obj, node: unknown): unknown =>
  isObj(node) && typeof node.$ref === 'string' ? resolvePointer(doc, node.$ref) : node;

describe('drs.yaml has the structure of the official DRS 1.5.0', () => {
  const ours = loadOurs();
  const official = loadOfficial();

  it('is the same OpenAPI 3.0 document once descriptions, examples, info, servers and tags are set aside', () => {
    expectNoDifferences(diffSpecs(ours, official));
  });

  it('stays the same with every schema $ref inlined', () => {
    expectNoDifferences(diffSpecs(ours, official, { inlineSchemaRefs: true }));
  });

  it('has the same security requirements and schemes (BasicAuth, BearerAuth, PassportAuth with x-in: body)', () => {
    expectNoDifferences(diffSpecs(ours, official, WITH_SECURITY));
    expect(ours.security).toEqual([{}, { BasicAuth: [] }, { BearerAuth: [] }]);
    expect(at(ours, 'components', 'securitySchemes', 'PassportAuth')).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      'x-in': 'body',
    });
  });

  it('has the same paths, operationIds, response codes and component schemas (spelled out)', () => {
    const a = normalizeSpec(ours);
    const e = normalizeSpec(official);
    const list = (doc: Obj) =>
      Object.entries(at(doc, 'paths')).flatMap(([path, ops]) =>
        Object.entries(ops as Record<string, { operationId: string; responses: Obj }>).map(
          ([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId} ${Object.keys(op.responses).join(',')}`,
        ),
      );
    expect(list(a).sort()).toEqual(list(e).sort());
    expect(list(a).map((line) => line.split(' ').slice(0, 3).join(' ')).sort()).toEqual(
      [
        'GET /service-info GetServiceInfo',
        'OPTIONS /objects/{object_id} OptionsObject',
        'GET /objects/{object_id} GetObject',
        'POST /objects/{object_id} PostObject',
        'OPTIONS /objects OptionsBulkObject',
        'POST /objects GetBulkObjects',
        'GET /objects/{object_id}/access/{access_id} GetAccessURL',
        'POST /objects/{object_id}/access/{access_id} PostAccessURL',
        'POST /objects/access GetBulkAccessURL',
      ].sort(),
    );
    expect(Object.keys(at(a, 'components', 'schemas')).sort()).toEqual(
      Object.keys(at(e, 'components', 'schemas')).sort(),
    );
  });
});

describe('the DRS comparison catches structural drift', () => {
  const official = loadOfficial();
  const mutate = (change: (doc: Obj) => void, options: NormalizeOptions = WITH_SECURITY) => {
    const copy = loadOurs();
    change(copy);
    return diffSpecs(copy, official, options);
  };

  it('ignores what we are allowed to change', () => {
    const diffs = mutate((doc) => {
      at(doc, 'info').title = 'Another title';
      doc.servers = [{ url: 'https://elsewhere.example/ga4gh/drs/v1' }];
      doc.tags = [];
      at(doc, 'paths', '/objects/{object_id}', 'get').description = 'changed';
      at(doc, 'paths', '/objects/{object_id}', 'get', 'responses', '404').description = 'changed';
      at(doc, 'components', 'schemas', 'DrsObject', 'properties', 'checksums').description = 'changed';
      at(doc, 'components', 'securitySchemes', 'BasicAuth').description = 'changed';
      at(doc, 'components', 'schemas', 'Checksum').example = { checksum: 'ab', type: 'md5' };
      // The same alternatives in another order.
      doc.security = [{ BearerAuth: [] }, {}, { BasicAuth: [] }];
    });
    expectNoDifferences(diffs);
  });

  it('reports a dropped property with its path', () => {
    const diffs = mutate((doc) => {
      delete at(doc, 'components', 'schemas', 'AccessMethod', 'properties').available;
    });
    expect(diffs).toEqual([
      { path: 'components.schemas.AccessMethod.properties.available', kind: 'missing', expected: { type: 'boolean' } },
    ]);
    expect(formatDifferences(diffs)).toBe(
      'missing components.schemas.AccessMethod.properties.available (expected {"type":"boolean"})',
    );
  });

  it('reports a changed enum value', () => {
    const diffs = mutate((doc) => {
      const type = at(doc, 'components', 'schemas', 'AccessMethod', 'properties', 'type');
      type.enum = (type.enum as string[]).map((t) => (t === 'https' ? 'http' : t));
    });
    expect(diffs).toEqual([
      {
        path: 'components.schemas.AccessMethod.properties.type.enum[6]',
        kind: 'changed',
        actual: 'http',
        expected: 'https',
      },
    ]);
  });

  it('reports a dropped operation', () => {
    const diffs = mutate((doc) => {
      delete at(doc, 'paths', '/objects/{object_id}').options;
    });
    expect(diffs.map((d) => `${d.kind} ${d.path}`)).toEqual(['missing paths["/objects/{object_id}"].options']);
  });

  it('reports type, format, minItems, required, allOf and items changes', () => {
    const diffs = mutate((doc) => {
      const schemas = at(doc, 'components', 'schemas');
      at(schemas, 'DrsObject', 'properties', 'size').format = 'int32';
      at(schemas, 'DrsObject', 'properties', 'created_time').type = 'integer';
      delete at(schemas, 'DrsObject', 'properties', 'checksums').minItems;
      at(schemas, 'DrsObject').required = ['id', 'self_uri', 'size', 'checksums'];
      (at(schemas, 'AccessMethod', 'properties', 'access_url').allOf as unknown[]).pop();
      at(schemas, 'ContentsObject', 'properties', 'contents', 'items').$ref = '#/components/schemas/DrsObject';
      const supported = at(schemas, 'Authorizations', 'properties', 'supported_types', 'items');
      supported.enum = (supported.enum as string[]).filter((t) => t !== 'None');
    });
    expect(diffs.map((d) => d.path).sort()).toEqual(
      [
        'components.schemas.AccessMethod.properties.access_url.allOf',
        'components.schemas.Authorizations.properties.supported_types.items.enum',
        'components.schemas.ContentsObject.properties.contents.items.$ref',
        'components.schemas.DrsObject.properties.checksums.minItems',
        'components.schemas.DrsObject.properties.created_time.type',
        'components.schemas.DrsObject.properties.size.format',
        'components.schemas.DrsObject.required',
      ].sort(),
    );
  });

  it('reports operations, parameters, bodies, response codes and headers', () => {
    const diffs = mutate((doc) => {
      const paths = at(doc, 'paths');
      at(paths, '/objects/access', 'post').operationId = 'PostBulkAccessURL';
      const getObject = at(paths, '/objects/{object_id}', 'get');
      (getObject.parameters as Obj[])[1]!.required = true;
      const bulk = at(paths, '/objects', 'post', 'responses');
      delete bulk['413'];
      at(paths, '/objects/{object_id}', 'post', 'requestBody').required = false;
      delete at(paths, '/objects/{object_id}/access/{access_id}', 'post', 'requestBody', 'content', 'application/json', 'schema', 'properties').passports;
      at(paths, '/objects/{object_id}/access/{access_id}', 'get', 'responses', '202', 'headers', 'Retry-After', 'schema').type = 'string';
    });
    expect(diffs.map((d) => `${d.kind} ${d.path}`)).toEqual(
      expect.arrayContaining([
        'changed paths["/objects/access"].post.operationId',
        'changed paths["/objects/{object_id}"].get.parameters["query:expand"].required',
        'missing paths["/objects"].post.responses["413"]',
        'changed paths["/objects/{object_id}"].post.requestBody.required',
        'missing paths["/objects/{object_id}/access/{access_id}"].post.requestBody.content["application/json"].schema.properties.passports',
        'changed paths["/objects/{object_id}/access/{access_id}"].get.responses["202"].headers["retry-after"].schema.type',
      ]),
    );
    expect(diffs).toHaveLength(6);
  });

  it('reports security changes, but only when asked to', () => {
    const change = (doc: Obj) => {
      at(doc, 'paths', '/objects/{object_id}', 'post').security = [{ BearerAuth: [] }];
      delete at(doc, 'paths', '/objects', 'options').security;
      delete at(doc, 'components', 'securitySchemes', 'PassportAuth')['x-in'];
      doc.security = [{ BearerAuth: [] }];
    };
    expect(mutate(change, {})).toEqual([]);
    const paths = mutate(change).map((d) => `${d.kind} ${d.path}`);
    expect(paths.sort()).toEqual(
      [
        'missing paths["/objects/{object_id}"].post.security[0].PassportAuth',
        'extra paths["/objects/{object_id}"].post.security[0].BearerAuth',
        // Without its own security, OPTIONS /objects inherits the document's (now bearer only).
        'extra paths["/objects"].options.security[0].BearerAuth',
        // The document-level change reaches every operation without its own security.
        'changed paths["/service-info"].get.security',
        'changed paths["/objects/{object_id}"].get.security',
        'changed paths["/objects/{object_id}/access/{access_id}"].get.security',
        'missing components.securitySchemes.PassportAuth["x-in"]',
      ].sort(),
    );
  });
});

describe('drs.yaml is valid OpenAPI 3.0', () => {
  const doc = loadOurs();

  it('declares OpenAPI 3.0.x and is served under /ga4gh/drs/v1, relative and on the embedded demo', () => {
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
    expect((doc.servers as Array<{ url: string }>).map((s) => s.url)).toEqual([
      '/ga4gh/drs/v1',
      'http://localhost:8080/ga4gh/drs/v1',
    ]);
  });

  it('passes Redocly validation, examples included, without a single warning', async () => {
    // DRS 1.5 gives GET /service-info only 200 and 500; adding a 4xx would change the structure.
    const lines = await lintProblems(DRS_SPEC_TEXT, DRS_SPEC_PATH, { 'operation-4xx-response': 'off' });
    expect(lines).toEqual([]);
  });

  it('only uses local #/components references, and they all resolve (Dredd supports nothing else)', () => {
    const refs: Array<{ at: string; ref: string }> = [];
    collectRefs(doc, '#', refs);
    expect(refs.length).toBeGreaterThan(20);
    const bad = refs.filter(
      ({ ref }) => !/^#\/components\/[A-Za-z]+\/[^/]+$/.test(ref) || resolvePointer(doc, ref) === undefined,
    );
    expect(bad).toEqual([]);
    for (const [path, item] of Object.entries(doc.paths as Obj)) {
      expect(isObj(item) && '$ref' in item, `path item ${path} must not be a $ref`).toBe(false);
    }
  });

  it('gives every path parameter a parameter-level example, and declares every {template} variable', () => {
    const missing: string[] = [];
    for (const { path, method, op, pathParams } of operations(doc)) {
      const params = [...pathParams, ...(Array.isArray(op.parameters) ? op.parameters : [])].map((p) =>
        deref(doc, p),
      ) as Obj[];
      const declared = params.filter((p) => p.in === 'path');
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      expect(declared.map((p) => p.name).sort(), `${method.toUpperCase()} ${path}`).toEqual(templated.sort());
      for (const p of declared) {
        if (p.required !== true) missing.push(`${method.toUpperCase()} ${path}: ${String(p.name)} not required`);
        if (p.example === undefined) missing.push(`${method.toUpperCase()} ${path}: ${String(p.name)} has no example`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('writes response codes as quoted strings ("200"), not YAML integers', () => {
    const unquoted: string[] = [];
    visit(parseDocument(DRS_SPEC_TEXT), {
      Pair(_key, pair, path) {
        if (!isScalar(pair.key) || pair.key.value !== 'responses' || !isMap(pair.value)) return;
        for (const code of pair.value.items) {
          if (!isScalar(code.key) || typeof code.key.value !== 'string') {
            unquoted.push(`${String(isScalar(code.key) ? code.key.value : code.key)} (depth ${path.length})`);
          }
        }
      },
    });
    expect(unquoted).toEqual([]);
  });

  it('documents an example for every response, request body and response header', () => {
    const missing: string[] = [];
    for (const { path, method, op } of operations(doc)) {
      const id = `${method.toUpperCase()} ${path}`;
      for (const [code, raw] of Object.entries(op.responses as Obj)) {
        const res = deref(doc, raw) as Obj;
        const media = isObj(res.content) ? (res.content['application/json'] as Obj | undefined) : undefined;
        if (media) {
          if (media.example === undefined) missing.push(`${id} ${code}`);
        } else if (!['202', '204', '405'].includes(code)) {
          // Only "accepted, retry later" and "authorizations not supported" answer without a body.
          missing.push(`${id} ${code} has no JSON body`);
        }
        for (const [name, header] of Object.entries(isObj(res.headers) ? res.headers : {})) {
          if ((deref(doc, header) as Obj).example === undefined) missing.push(`${id} ${code} header ${name}`);
        }
      }
      if (op.requestBody !== undefined) {
        const body = deref(doc, op.requestBody) as Obj;
        const media = at(body, 'content', 'application/json');
        if (media.example === undefined) missing.push(`${id} request body`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('shows a file with sha-256 and md5 checksums and its two https access methods (access_url, access id signed), and a run bundle with contents', () => {
    const file = at(doc, 'paths', '/objects/{object_id}', 'get', 'responses', '200', 'content', 'application/json')
      .example as Obj;
    expect((file.checksums as Obj[]).map((c) => c.type)).toEqual(['sha-256', 'md5']);
    expect(file.access_methods).toEqual([
      expect.objectContaining({ type: 'https', access_url: { url: `https://broker.example.org/api/v1/objects/${String(file.id)}/content` } }),
      expect.objectContaining({ type: 'https', access_id: 'signed' }),
    ]);
    expect(file.self_uri).toMatch(/^drs:\/\/[a-z0-9.-]+\/[A-Za-z0-9._~-]+$/);
    const bundle = at(doc, 'paths', '/objects/{object_id}', 'post', 'responses', '200', 'content', 'application/json')
      .example as Obj;
    expect(bundle.contents).toEqual(expect.arrayContaining([expect.objectContaining({ id: file.id })]));
    expect(bundle.access_methods).toBeUndefined();
    const info = at(doc, 'paths', '/service-info', 'get', 'responses', '200', 'content', 'application/json')
      .example as Obj;
    expect(info).toMatchObject({ type: { group: 'org.ga4gh', artifact: 'drs' }, drs: { maxBulkRequestLength: 100 } });
    expect(info.maxBulkRequestLength).toBe((info.drs as Obj).maxBulkRequestLength);
  });
});

describe('src/drs.ts is generated from drs.yaml', () => {
  const pkg = JSON.parse(readFileSync(join(API_SPEC_DIR, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const outputOf = (args: string[]) => args.findIndex((a) => a === '-o' || a === '--output');

  it('is generated by `npm run gen`, with the same flags as src/wes.ts', () => {
    const gen = pkg.scripts.gen!.split('&&').map((c) => c.trim());
    expect(gen).toContain('npm run gen:drs');
    const wes = gen[0]!.split(/\s+/);
    const drs = pkg.scripts['gen:drs']!.split(/\s+/);
    expect(drs[0]).toBe('openapi-typescript');
    expect(drs[1]).toBe('drs.yaml');
    expect(drs[outputOf(drs) + 1]).toBe('src/drs.ts');
    const flags = (args: string[]) => args.slice(2).filter((_, i, all) => i !== outputOf(all) && i !== outputOf(all) + 1);
    expect(flags(drs)).toEqual(flags(wes));
  });

  it('matches what `npm run gen` produces now', () => {
    const args = pkg.scripts['gen:drs']!.split(/\s+/);
    const outIndex = outputOf(args);
    expect(outIndex).toBeGreaterThan(0);
    const committedPath = join(API_SPEC_DIR, args[outIndex + 1]!);

    const require = createRequire(import.meta.url);
    const cli = join(dirname(require.resolve('openapi-typescript/package.json')), 'bin', 'cli.js');
    const tmp = mkdtempSync(join(tmpdir(), 'api-spec-gen-drs-'));
    try {
      const fresh = join(tmp, 'drs.ts');
      args[outIndex + 1] = fresh;
      execFileSync(process.execPath, [cli, ...args.slice(1)], { cwd: API_SPEC_DIR, stdio: 'pipe' });
      const committed = readFileSync(committedPath, 'utf8');
      expect(committed, 'src/drs.ts is stale: run `npm run gen` (in api-spec/ or at the root)').toBe(
        readFileSync(fresh, 'utf8'),
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('the DRS types exported from index.ts', () => {
  it('describe the shapes of drs.yaml (checked by the type checker)', () => {
    const object = {
      id: 'f1',
      self_uri: 'drs://broker.example.org/f1',
      size: 3,
      created_time: '2025-06-02T10:02:41Z',
      checksums: [{ checksum: 'ab', type: 'sha-256' }] satisfies Checksum[],
      access_methods: [{ type: 'https', access_id: 'https' }] satisfies AccessMethod[],
      contents: [{ name: 'a.vcf.gz', id: 'f0' }] satisfies ContentsObject[],
    } satisfies DrsObject;
    const method: AccessMethodType = 'https';
    const auth: Authorizations = { supported_types: ['BearerAuth', 'PassportAuth'] satisfies AuthorizationType[] };
    const bulk: BulkObjectsResponse = {
      summary: { requested: 2, resolved: 1, unresolved: 1 },
      unresolved_drs_objects: [{ error_code: 404, object_ids: ['x'] }],
      resolved_drs_object: [object],
    };
    const info: DrsServiceInfo = {
      id: 'org.example.drs',
      name: 'DRS',
      type: { group: 'org.ga4gh', artifact: 'drs', version: '1.5.0' },
      organization: { name: 'Example', url: 'https://example.org' },
      version: '0.1.0',
      maxBulkRequestLength: 100,
      drs: { maxBulkRequestLength: 100 },
    };
    const error: DrsError = { msg: 'not found', status_code: 404 };
    const url: AccessURL = { url: 'https://broker.example.org/x' };
    const body: PostObjectBody = { expand: false, passports: ['jwt'] };
    expect([object.id, method, auth.supported_types, bulk.summary, info.type.artifact, error, url, body]).toHaveLength(8);
  });
});
