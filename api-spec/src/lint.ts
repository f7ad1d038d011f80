/** Redocly's strictest OpenAPI 3.0 checks, examples included, as one list of readable problems. */
import { createConfig, lintFromString, type NormalizedProblem } from '@redocly/openapi-core';

type RuleSetting = 'error' | 'warn' | 'off';

export async function lintProblems(source: string, absoluteRef: string, extraRules: Record<string, RuleSetting> = {}): Promise<string[]> {
  const config = await createConfig({
    extends: ['recommended-strict'],
    rules: {
      'no-invalid-media-type-examples': { severity: 'error', allowAdditionalProperties: false },
      'no-invalid-parameter-examples': 'error',
      'no-invalid-schema-examples': 'error',
      'no-unresolved-refs': 'error',
      'spec-strict-refs': 'error',
      'security-defined': 'error',
      'operation-operationId-unique': 'error',
      'path-parameters-defined': 'error',
      // The embedded demo runs on localhost on purpose.
      'no-server-example.com': 'off',
      ...extraRules,
    },
  });
  const problems = await lintFromString({ source, absoluteRef, config });
  return problems.map((p: NormalizedProblem) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`);
}
