/**
 * One live WES call checked against the official GA4GH WES 1.1.0 document: the status is one the
 * operation declares, the Content-Type is application/json, the body validates against the
 * declared schema, and every error carries `{msg, status_code}` with `status_code` equal to the
 * HTTP status. Calls are recorded, so a suite can prove that it exercised every operation.
 */
import { call, type JsonResponse } from './wes-client';
import { wesSchemas, type ValidationResult } from './wes-schema';

export interface ContractCall extends JsonResponse {
  /** Path template as in the spec, e.g. `/runs/{run_id}`. */
  path: string;
  method: string;
  validation: ValidationResult;
}

export class ContractRecorder {
  readonly calls: { path: string; method: string; status: number }[] = [];

  /**
   * Calls `${wesUrl}${concretePath}` and checks the response against the contract of
   * (`path`, `method`). Throws (fails the test) with every problem at once.
   */
  async check(
    wesUrl: string,
    path: string,
    method: 'GET' | 'POST',
    concretePath: string,
    token: string | null,
    init: RequestInit = {},
  ): Promise<ContractCall> {
    const res = await call(`${wesUrl}${concretePath}`, token, { ...init, method });
    return this.verify(path, method, res);
  }

  /** Checks a response obtained elsewhere (e.g. a multipart POST /runs). */
  async verifyResponse(path: string, method: 'GET' | 'POST', response: Response): Promise<ContractCall> {
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      // reported below
    }
    return this.verify(path, method, { status: response.status, headers: response.headers, body });
  }

  verify(path: string, method: 'GET' | 'POST', res: JsonResponse): ContractCall {
    const schemas = wesSchemas();
    const problems: string[] = [];
    const declared = schemas.statusesOf(path, method.toLowerCase());
    let validation: ValidationResult = { valid: false, errors: [], schemaName: '(none)' };
    if (!declared.includes(String(res.status))) {
      problems.push(`status ${res.status} is not declared for ${method} ${path} (declared: ${declared.join(', ')})`);
    } else {
      const spec = schemas.responseSpec(path, method.toLowerCase(), res.status);
      const contentType = res.headers.get('content-type') ?? '';
      const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
      if (!spec.contentTypes.includes(mediaType)) {
        problems.push(`Content-Type '${contentType}' is not one of ${spec.contentTypes.join(', ')}`);
      }
      validation = schemas.validateSchema(spec.schemaName, res.body);
      if (!validation.valid) problems.push(`body is not a valid ${spec.schemaName}: ${validation.errors.join('; ')}`);
    }
    if (res.status >= 400) {
      const b = res.body as { msg?: unknown; status_code?: unknown } | null;
      if (typeof b !== 'object' || b === null) problems.push('error body is not a JSON object');
      else {
        if (typeof b.msg !== 'string' || b.msg.trim() === '') problems.push(`error msg must be a non-empty string, got ${JSON.stringify(b.msg)}`);
        if (b.status_code !== res.status) problems.push(`error status_code ${JSON.stringify(b.status_code)} differs from HTTP status ${res.status}`);
      }
    }
    this.calls.push({ path, method: method.toLowerCase(), status: res.status });
    if (problems.length) {
      throw new Error(`${method} ${path} → ${res.status}: contract broken:\n  - ${problems.join('\n  - ')}\nbody: ${JSON.stringify(res.body).slice(0, 2000)}`);
    }
    return { ...res, path, method, validation };
  }

  /**
   * For errors the operation does not list (OpenAPI does not require every code to be listed):
   * still application/json, still a valid `ErrorResponse` with `status_code` = HTTP status.
   */
  verifyUndeclaredError(path: string, method: 'GET' | 'POST', res: JsonResponse): ContractCall {
    const problems: string[] = [];
    const declared = wesSchemas().statusesOf(path, method.toLowerCase());
    if (declared.includes(String(res.status))) problems.push(`status ${res.status} is declared for ${method} ${path}: use verify()`);
    if (res.status < 400) problems.push(`status ${res.status} is not an error`);
    const contentType = res.headers.get('content-type') ?? '';
    if (contentType.split(';')[0]!.trim().toLowerCase() !== 'application/json') problems.push(`Content-Type '${contentType}' is not application/json`);
    const validation = wesSchemas().validateSchema('ErrorResponse', res.body);
    if (!validation.valid) problems.push(`body is not a valid ErrorResponse: ${validation.errors.join('; ')}`);
    const b = res.body as { msg?: unknown; status_code?: unknown } | null;
    if (typeof b?.msg !== 'string' || b.msg.trim() === '') problems.push('error msg must be a non-empty string');
    if (b?.status_code !== res.status) problems.push(`error status_code ${JSON.stringify(b?.status_code)} differs from HTTP status ${res.status}`);
    this.calls.push({ path, method: method.toLowerCase(), status: res.status });
    if (problems.length) throw new Error(`${method} ${path} → ${res.status}: contract broken:\n  - ${problems.join('\n  - ')}`);
    return { ...res, path, method, validation };
  }

  /** Operations of the official document never answered with 200 in this suite. */
  missingSuccess(): string[] {
    const ok = new Set(this.calls.filter((c) => c.status === 200).map((c) => `${c.method} ${c.path}`));
    return wesSchemas()
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
