/**
 * The new-run form: field names, how they become WES `workflow_params`, and the quick check the
 * browser can make on a chosen file before it is uploaded. The broker's pre-flight (on the
 * uploaded bytes) is the real check; this one only catches the common mistakes early.
 */

/** The form's parameter fields, in the imputationserver2 names the broker takes. */
export const PARAM_FIELDS = ['refpanel', 'population', 'build', 'phasing', 'r2Filter', 'mode', 'backend', 'not_before'] as const;
export type ParamField = (typeof PARAM_FIELDS)[number];
export type ParamValues = Partial<Record<ParamField, string>>;

export const ATTACHMENT_FIELD = 'workflow_attachment';
export const CSRF_FIELD = '_csrf';

/**
 * `workflow_params` from the form's fields: empty choices are left out, so the broker applies its
 * defaults (population `off` where offered, build detected from the files, backend `auto`).
 */
export function workflowParams(fields: ParamValues): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name of PARAM_FIELDS) {
    const v = fields[name]?.trim();
    if (v) params[name] = name === 'not_before' ? notBefore(v) : v;
  }
  return params;
}

/**
 * `workflow_params.not_before` from the form's `datetime-local` field, which has no zone: the
 * form says the time is UTC, so `2026-12-02T18:00` becomes `2026-12-02T18:00:00Z`. A full ISO
 * date-time (with its zone) is passed on as it is; the broker refuses what is not one.
 */
export function notBefore(v: string): string {
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v)) return `${v}:00Z`;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(v)) return `${v}Z`;
  return v;
}

/** The choices to put back into the form after a refusal (query string of /runs/new). */
export function paramsQuery(fields: ParamValues, error: string): string {
  const q = new URLSearchParams();
  q.set('error', error.slice(0, 1500));
  for (const name of PARAM_FIELDS) {
    const v = fields[name];
    if (v) q.set(name, v.slice(0, 200));
  }
  return q.toString();
}

export interface FileCheck {
  ok: boolean;
  /** What a person should know about this file, in plain words. */
  message: string;
}

/**
 * Checks a file's name and first bytes: a `.vcf.gz` compressed with bgzip (a gzip member with
 * the `BC` extra field), which is what every imputation service requires, not plain gzip.
 */
export function checkVcfFile(name: string, size: number, head: Uint8Array): FileCheck {
  if (!/\.vcf\.gz$/i.test(name)) return { ok: false, message: 'Not a .vcf.gz file: the services take bgzipped VCF files (one chromosome per file).' };
  if (size === 0) return { ok: false, message: 'The file is empty.' };
  if (head.length < 18 || head[0] !== 0x1f || head[1] !== 0x8b) return { ok: false, message: 'Not gzip-compressed: compress the VCF with bgzip (htslib).' };
  const hasExtra = (head[3]! & 0x04) !== 0;
  const isBgzf = hasExtra && head[12] === 0x42 && head[13] === 0x43;
  if (!isBgzf) return { ok: false, message: 'Compressed with plain gzip, not bgzip: recompress it with bgzip (htslib).' };
  return { ok: true, message: 'bgzipped VCF; the broker checks its contents when it arrives.' };
}
