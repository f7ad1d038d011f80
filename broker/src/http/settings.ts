/** zod pieces shared by every settings file (broker config, passport trust): same words everywhere. */
import { z } from 'zod';

/** Only http(s): `z.url()` alone also accepts `ftp:`, `mailto:` or `javascript:`. */
export const httpUrl = (what: string, example: string) =>
  z.url({ protocol: /^https?$/, error: `${what} must be an absolute http(s) URL such as ${example}` });

/** Unknown keys are refused (a typo such as `tokenenv` must not be dropped silently). */
export const unknownKeys =
  (valid: readonly string[]) =>
  (issue: { code?: string; keys?: string[] }): string | undefined =>
    issue.code === 'unrecognized_keys'
      ? `unknown setting ${(issue.keys ?? []).map((k) => `"${k}"`).join(', ')} (valid: ${valid.join(', ')})`
      : undefined;
