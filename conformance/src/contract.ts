/**
 * One live call checked against an official GA4GH document (WES 1.1.0, DRS 1.5.0): the status is
 * one the operation declares, the Content-Type is one it declares, the body validates against the
 * declared schema (or is empty when the response declares no content), and every error carries
 * `{msg, status_code}` with `status_code` equal to the HTTP status. Calls are recorded, so a suite
 * can prove that it exercised every operation.
 */
import { call, type JsonResponse } from './http';
import type { OpenApiSchemas, ValidationResult } from './openapi-schema';

export type Method = 'GET' | 'POST' | 'OPTIONS';

export interface ContractCall extends JsonResponse {
  /** Path template as in the spec, e.g. `/runs/{run_id}`. */
  path: string;
  method: string;
  validation: ValidationResult;
}

const mediaTypeOf = (headers: Headers) => (headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
const isEmpty = (body: unknown) => body === '' || body === undefined || body === null;

export class ContractRecorder {
  readonly calls: { path: string; method: string; status: number }[] = [];

  constructor(readonly schemas: OpenApiSchemas) {}

  /**
   * Calls `${baseUrl}${concretePath}` and checks the response against the contract of
   * (`path`, `method`). Throws (fails the test) with every problem at once.
   */
  async check(baseUrl: string, path: string, method: Method, concretePath: string, token: string | null, init: RequestInit = {}): Promise<ContractCall> {
    const res = await call(`${baseUrl}${concretePath}`, token, { ...init, method });
    return this.verify(path, method, res);
  }

  /** Checks a response obtained elsewhere (e.g. a multipart POST /runs). */
  async verifyResponse(path: string, method: Method, response: Response): Promise<ContractCall> {
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      // reported below
    }
    return this.verify(path, method, { status: response.status, headers: response.headers, body });
  }

  verify(path: string, method: Method, res: JsonResponse): ContractCall {
    const schemas = this.schemas;
    const problems: string[] = [];
    const declared = schemas.statusesOf(path, method.toLowerCase());
    let validation: ValidationResult = { valid: false, errors: [], schemaName: '(none)' };
    if (!declared.includes(String(res.status))) {
      problems.push(`status ${res.status} is not declared for ${method} ${path} (declared: ${declared.join(', ')})`);
    } else {
      const spec = schemas.responseSpec(path, method.toLowerCase(), res.status);
      if (spec.schemaName === null) {
        if (!isEmpty(res.body)) problems.push(`status ${res.status} declares no content, but the body is ${JSON.stringify(res.body).slice(0, 200)}`);
        validation = { valid: isEmpty(res.body), errors: [], schemaName: '(no content)' };
      } else {
        const contentType = res.headers.get('content-type') ?? '';
        if (!spec.contentTypes.includes(mediaTypeOf(res.headers))) {
          problems.push(`Content-Type '${contentType}' is not one of ${spec.contentTypes.join(', ')}`);
        }
        validation = schemas.validateSchema(spec.schemaName, res.body);
        if (!validation.valid) problems.push(`body is not a valid ${spec.schemaName}: ${validation.errors.join('; ')}`);
      }
    }
    if (res.status >= 400) problems.push(...errorShapeProblems(res));
    this.calls.push({ path, method: method.toLowerCase(), status: res.status });
    if (problems.length) {
      throw new Error(`${method} ${path} → ${res.status}: contract broken:\n  - ${problems.join('\n  - ')}\nbody: ${JSON.stringify(res.body).slice(0, 2000)}`);
    }
    return { ...res, path, method, validation };
  }

  /**
   * For errors the operation does not list (OpenAPI does not require every code to be listed):
   * still application/json, still a valid error body (`ErrorResponse`, `Error`) with
   * `status_code` = HTTP status. `path` may also be a route outside the document (the bytes of a
   * DRS object): then it is recorded, but no declared statuses are looked up.
   */
  verifyUndeclaredError(path: string, method: Method, res: JsonResponse, o: { outsideDocument?: boolean } = {}): ContractCall {
    const problems: string[] = [];
    if (!o.outsideDocument) {
      const declared = this.schemas.statusesOf(path, method.toLowerCase());
      if (declared.includes(String(res.status))) problems.push(`status ${res.status} is declared for ${method} ${path}: use verify()`);
    }
    if (res.status < 400) problems.push(`status ${res.status} is not an error`);
    const contentType = res.headers.get('content-type') ?? '';
    if (mediaTypeOf(res.headers) !== 'application/json') problems.push(`Content-Type '${contentType}' is not application/json`);
    const validation = this.schemas.validateSchema(this.schemas.errorSchema, res.body);
    if (!validation.valid) problems.push(`body is not a valid ${this.schemas.errorSchema}: ${validation.errors.join('; ')}`);
    problems.push(...errorShapeProblems(res));
    this.calls.push({ path, method: method.toLowerCase(), status: res.status });
    if (problems.length) throw new Error(`${method} ${path} → ${res.status}: contract broken:\n  - ${problems.join('\n  - ')}\nbody: ${JSON.stringify(res.body).slice(0, 2000)}`);
    return { ...res, path, method, validation };
  }

  /** Operations of the official document never answered with 200 in this suite. */
  missingSuccess(): string[] {
    const ok = new Set(this.calls.filter((c) => c.status === 200).map((c) => `${c.method} ${c.path}`));
    return this.schemas
      .operations()
      .map(([p, m]) => `${m} ${p}`)
      .filter((k) => !ok.has(k));
  }

  /** `method path: statuses` for the report. */
  summary(): string[] {
    const by = new Map<string, Set<number>>();
    for (const c of this.calls) {
      const k = `${c.method.toUpperCase()} ${c.path}`;
      by.set(k, (by.get(k) ?? new Set()).add(c.status));
    }
    return [...by].map(([k, s]) => `${k}: ${[...s].sort().join(', ')}`);
  }
}

/** The GA4GH error shape beyond what the schemas require (neither WES nor DRS marks msg/status_code required). */
function errorShapeProblems(res: JsonResponse): string[] {
  const b = res.body as { msg?: unknown; status_code?: unknown } | null;
  if (typeof b !== 'object' || b === null) return ['error body is not a JSON object'];
  const problems: string[] = [];
  if (typeof b.msg !== 'string' || b.msg.trim() === '') problems.push(`error msg must be a non-empty string, got ${JSON.stringify(b.msg)}`);
  if (b.status_code !== res.status) problems.push(`error status_code ${JSON.stringify(b.status_code)} differs from HTTP status ${res.status}`);
  return problems;
}
