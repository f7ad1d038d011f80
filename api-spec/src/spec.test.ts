/**
 * wes.yaml is a valid OpenAPI 3.0 document that the tools we feed it to accept:
 * Redocly's structural validation (the validator inside openapi-typescript) with every example
 * checked against its schema, plus what Dredd 14 needs (local `#/components` refs only,
 * parameter-level examples on every path parameter, quoted response codes).
 */
import { isMap, isScalar, parseDocument, visit } from 'yaml';
import { describe, expect, it } from 'vitest';
import { lintProblems } from './lint.js';
import { collectRefs, isObj, METHODS, operations, resolvePointer, type Obj } from './walk.js';
import { loadWesSpec, loadWesSpecText, WES_SPEC_PATH } from './spec.js';






describe('wes.yaml is valid OpenAPI 3.0', () => {
  const doc = loadWesSpec() as unknown as Obj;

  it('declares OpenAPI 3.0.x', () => {
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
  });

  it('passes Redocly validation, examples included, without a single warning', async () => {
    const lines = await lintProblems(loadWesSpecText(), WES_SPEC_PATH);
    expect(lines).toEqual([]);
  });

  it('only uses local #/components references, and they all resolve (Dredd supports nothing else)', () => {
    const refs: Array<{ at: string; ref: string }> = [];
    collectRefs(doc, '#', refs);
    expect(refs.length).toBeGreaterThan(20);
    const bad = refs.filter(({ ref }) => !/^#\/components\/[A-Za-z]+\/[^/]+$/.test(ref) || resolvePointer(doc, ref) === undefined);
    expect(bad).toEqual([]);
    for (const [path, item] of Object.entries(doc.paths as Obj)) {
      expect(isObj(item) && '$ref' in item, `path item ${path} must not be a $ref`).toBe(false);
    }
  });

  it('gives every path parameter a parameter-level example, and declares every {template} variable', () => {
    const missing: string[] = [];
    for (const { path, method, op, pathParams } of operations(doc)) {
      const params = [...pathParams, ...(Array.isArray(op.parameters) ? op.parameters : [])].map((p) =>
        isObj(p) && typeof p.$ref === 'string' ? resolvePointer(doc, p.$ref) : p,
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
    visit(parseDocument(loadWesSpecText()), {
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

  it('requires a bearer token (JWT) everywhere except GET /service-info, where it is optional', () => {
    const schemes = (doc.components as Obj).securitySchemes as Obj;
    expect(schemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.security).toBeUndefined();
    for (const { path, method, op } of operations(doc)) {
      const id = `${method.toUpperCase()} ${path}`;
      if (op.operationId === 'GetServiceInfo') {
        expect(op.security, id).toEqual([{}, { bearerAuth: [] }]);
      } else {
        expect(op.security, id).toEqual([{ bearerAuth: [] }]);
      }
    }
  });

  it('is served under /ga4gh/wes/v1, relative and on the embedded demo', () => {
    expect((doc.servers as Array<{ url: string }>).map((s) => s.url)).toEqual([
      '/ga4gh/wes/v1',
      'http://localhost:8080/ga4gh/wes/v1',
    ]);
  });

  it('documents a JSON example for every response and for the POST /runs form', () => {
    const missing: string[] = [];
    for (const { path, method, op } of operations(doc)) {
      for (const [code, res] of Object.entries(op.responses as Obj)) {
        const media = isObj(res) && isObj(res.content) ? (res.content['application/json'] as Obj | undefined) : undefined;
        if (media?.example === undefined) missing.push(`${method.toUpperCase()} ${path} ${code}`);
      }
    }
    expect(missing).toEqual([]);
    const form = resolvePointer(doc, '#/paths/~1runs/post/requestBody/content/multipart~1form-data') as Obj;
    expect(form.example).toMatchObject({ workflow_type: 'NFL', workflow_type_version: 'DSL2' });
    expect(JSON.parse((form.example as Obj).workflow_params as string)).toMatchObject({
      files: expect.any(Array),
      refpanel: expect.any(String),
      population: expect.any(String),
      build: expect.any(String),
      phasing: expect.any(String),
      r2Filter: expect.any(String),
      mode: expect.any(String),
    });
  });
});
