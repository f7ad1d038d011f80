/**
 * wes.yaml must keep the official GA4GH WES 1.1.0 structure, and src/wes.ts must be what
 * `npm run gen` makes of it today.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { diffSpecs, formatDifferences, normalizeSpec, type SpecDifference } from './compare.js';
import { WES_STATES } from './index.js';
import { loadWesSpec } from './spec.js';

/** CI checks the repository out with `shared/` beside it; here it is /work/shared. */
const OFFICIAL_WES_JSON = new URL('../../../shared/ga4gh/wes/1.1.0/bundled/openapi.json', import.meta.url);
const API_SPEC_DIR = fileURLToPath(new URL('..', import.meta.url));

function loadOfficial(): Record<string, unknown> {
  return JSON.parse(readFileSync(OFFICIAL_WES_JSON, 'utf8')) as Record<string, unknown>;
}

function expectNoDifferences(diffs: SpecDifference[]): void {
  expect(diffs, `wes.yaml differs structurally from the official WES 1.1.0:\n${formatDifferences(diffs)}\n`).toEqual(
    [],
  );
}

/** Drills into a parsed document; throws with the path when a step is missing. */
function at(doc: unknown, ...keys: string[]): Record<string, unknown> {
  let node = doc;
  for (const key of keys) {
    if (typeof node !== 'object' || node === null || !(key in node)) throw new Error(`no ${keys.join(' > ')}`);
    node = (node as Record<string, unknown>)[key];
  }
  return node as Record<string, unknown>;
}

describe('wes.yaml has the structure of the official WES 1.1.0', () => {
  const ours = loadWesSpec();
  const official = loadOfficial();

  it('is the same OpenAPI 3.0 document once descriptions, examples, servers and security are set aside', () => {
    expectNoDifferences(diffSpecs(ours, official));
  });

  it('stays the same with every schema $ref inlined', () => {
    expectNoDifferences(diffSpecs(ours, official, { inlineSchemaRefs: true }));
  });

  it('has the same paths, operationIds, response codes and component schemas (spelled out)', () => {
    const a = normalizeSpec(ours);
    const e = normalizeSpec(official);
    const operations = (doc: Record<string, unknown>) =>
      Object.entries(at(doc, 'paths')).flatMap(([path, ops]) =>
        Object.entries(ops as Record<string, { operationId: string; responses: Record<string, unknown> }>).map(
          ([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId} ${Object.keys(op.responses).join(',')}`,
        ),
      );
    expect(operations(a).sort()).toEqual(operations(e).sort());
    expect(operations(a)).toHaveLength(8);
    expect(Object.keys(at(a, 'components', 'schemas')).sort()).toEqual(
      Object.keys(at(e, 'components', 'schemas')).sort(),
    );
  });

  it('lists the State values of the spec, in order, in WES_STATES', () => {
    expect([...WES_STATES]).toEqual(at(official, 'components', 'schemas', 'State').enum);
    expect([...WES_STATES]).toEqual(at(ours, 'components', 'schemas', 'State').enum);
  });
});

describe('the comparison catches structural drift', () => {
  const official = loadOfficial();
  const mutate = (change: (doc: Record<string, unknown>) => void) => {
    const copy = loadWesSpec() as unknown as Record<string, unknown>;
    change(copy);
    return diffSpecs(copy, official);
  };

  it('ignores what we are allowed to change', () => {
    const diffs = mutate((doc) => {
      at(doc, 'info').title = 'Another title';
      doc.servers = [{ url: 'https://elsewhere.example/ga4gh/wes/v1' }];
      at(doc, 'paths', '/runs', 'get').description = 'changed';
      at(doc, 'paths', '/runs/{run_id}', 'get', 'responses', '404').description = 'changed';
      at(doc, 'components', 'schemas', 'RunLog', 'properties', 'outputs').description = 'changed';
      delete at(doc, 'paths', '/runs', 'post').security;
      at(doc, 'components', 'schemas', 'State').example = 'RUNNING';
    });
    expectNoDifferences(diffs);
  });

  it('reports a dropped property with its path', () => {
    const diffs = mutate((doc) => {
      delete at(doc, 'components', 'schemas', 'RunLog', 'properties').task_logs_url;
    });
    expect(diffs).toEqual([
      {
        path: 'components.schemas.RunLog.properties.task_logs_url',
        kind: 'missing',
        expected: { type: 'string' },
      },
    ]);
    expect(formatDifferences(diffs)).toBe(
      'missing components.schemas.RunLog.properties.task_logs_url (expected {"type":"string"})',
    );
  });

  it('reports a changed enum value', () => {
    const diffs = mutate((doc) => {
      const state = at(doc, 'components', 'schemas', 'State');
      state.enum = (state.enum as string[]).map((s) => (s === 'PREEMPTED' ? 'EVICTED' : s));
    });
    expect(diffs).toEqual([
      { path: 'components.schemas.State.enum[10]', kind: 'changed', actual: 'EVICTED', expected: 'PREEMPTED' },
    ]);
  });

  it('reports a removed enum value, a changed type, format, required, nullable and additionalProperties', () => {
    const diffs = mutate((doc) => {
      const schemas = at(doc, 'components', 'schemas');
      const state = at(schemas, 'State');
      state.enum = (state.enum as string[]).filter((s) => s !== 'PAUSED');
      at(schemas, 'ErrorResponse', 'properties', 'status_code').format = 'int64';
      at(schemas, 'RunId', 'properties', 'run_id').type = 'integer';
      at(schemas, 'RunRequest').required = ['workflow_type', 'workflow_url'];
      delete at(schemas, 'RunLog', 'properties', 'task_logs').nullable;
      at(schemas, 'RunRequest', 'properties', 'tags').additionalProperties = { type: 'integer' };
    });
    expect(diffs.map((d) => d.path).sort()).toEqual(
      [
        'components.schemas.ErrorResponse.properties.status_code.format',
        'components.schemas.RunId.properties.run_id.type',
        'components.schemas.RunLog.properties.task_logs.nullable',
        'components.schemas.RunRequest.properties.tags.additionalProperties.type',
        'components.schemas.RunRequest.required',
        'components.schemas.State.enum',
      ].sort(),
    );
  });

  it('reports allOf/anyOf changes', () => {
    const diffs = mutate((doc) => {
      const schemas = at(doc, 'components', 'schemas');
      const summary = at(schemas, 'RunSummary');
      summary.anyOf = summary.allOf;
      delete summary.allOf;
      const items = at(schemas, 'RunListResponse', 'properties', 'runs', 'items');
      (items.anyOf as unknown[]).reverse();
    });
    const paths = diffs.map((d) => d.path);
    expect(paths).toContain('components.schemas.RunSummary.allOf');
    expect(paths).toContain('components.schemas.RunSummary.anyOf');
    expect(paths).toContain('components.schemas.RunListResponse.properties.runs.items.anyOf[0].$ref');
  });

  it('reports operations, parameters, bodies and response codes', () => {
    const diffs = mutate((doc) => {
      const paths = at(doc, 'paths');
      at(paths, '/runs/{run_id}/cancel', 'post').operationId = 'CancelWorkflow';
      const listRuns = at(paths, '/runs', 'get');
      (listRuns.parameters as Array<Record<string, unknown>>)[0]!.required = true;
      const responses = at(paths, '/runs/{run_id}/status', 'get', 'responses');
      responses['202'] = responses['200'];
      delete responses['200'];
      delete at(paths, '/runs', 'post', 'requestBody', 'content', 'multipart/form-data', 'schema', 'properties')
        .workflow_attachment;
      paths['/runs/{run_id}/outputs'] = { get: at(paths, '/runs/{run_id}/status', 'get') };
    });
    const paths = diffs.map((d) => `${d.kind} ${d.path}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'changed paths["/runs/{run_id}/cancel"].post.operationId',
        'changed paths["/runs"].get.parameters["query:page_size"].required',
        'missing paths["/runs/{run_id}/status"].get.responses["200"]',
        'extra paths["/runs/{run_id}/status"].get.responses["202"]',
        'missing paths["/runs"].post.requestBody.content["multipart/form-data"].schema.properties.workflow_attachment',
        'extra paths["/runs/{run_id}/outputs"]',
      ]),
    );
  });

  it('does not mistake a property called "description" or "tags" for an annotation', () => {
    const diffs = mutate((doc) => {
      delete at(doc, 'components', 'schemas', 'Service', 'properties').description;
      const summaryExtra = (at(doc, 'components', 'schemas', 'RunSummary').allOf as Array<Record<string, unknown>>)[1]!;
      delete at(summaryExtra, 'properties').tags;
    });
    expect(diffs.map((d) => d.path)).toEqual(
      expect.arrayContaining([
        'components.schemas.Service.properties.description',
        'components.schemas.RunSummary.allOf[1].properties.tags',
      ]),
    );
  });
});

describe('src/wes.ts is generated from wes.yaml', () => {
  it('matches what `npm run gen` produces now', () => {
    const pkg = JSON.parse(readFileSync(join(API_SPEC_DIR, 'package.json'), 'utf8')) as {
      scripts: { gen: string };
    };
    // Same command and flags as the gen script, only the output file differs.
    // Only the first command of the script generates the WES types (the rest does DRS).
    const args = (pkg.scripts.gen.split('&&')[0] ?? '').trim().split(/\s+/);
    expect(args[0]).toBe('openapi-typescript');
    const outIndex = args.findIndex((a) => a === '-o' || a === '--output');
    expect(outIndex).toBeGreaterThan(0);
    const committedPath = join(API_SPEC_DIR, args[outIndex + 1]!);

    const require = createRequire(import.meta.url);
    const cli = join(dirname(require.resolve('openapi-typescript/package.json')), 'bin', 'cli.js');
    const tmp = mkdtempSync(join(tmpdir(), 'api-spec-gen-'));
    try {
      const fresh = join(tmp, 'wes.ts');
      args[outIndex + 1] = fresh;
      execFileSync(process.execPath, [cli, ...args.slice(1)], { cwd: API_SPEC_DIR, stdio: 'pipe' });
      const committed = readFileSync(committedPath, 'utf8');
      expect(committed, 'src/wes.ts is stale: run `npm run gen` (in api-spec/ or at the root)').toBe(
        readFileSync(fresh, 'utf8'),
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
