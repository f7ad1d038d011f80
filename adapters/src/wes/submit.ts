/**
 * `POST /runs` as WES 1.0/1.1 defines it: multipart/form-data, every field a string (JSON
 * encoded where it is an object), inputs as `workflow_attachment` parts streamed from disk, or
 * as URLs / DRS URIs in `workflow_params` when the node fetches them itself.
 */
import { openAsBlob } from 'node:fs';
import { BackendError, type SubmitRequest } from '../types';
import { inputReference, renderTags, renderTemplate, type InputMode, type ParamTemplate } from './params';

/** The tag that names the broker's run on the remote side, so a retry can find the job again. */
export const RUN_ID_TAG = 'broker_run_id';

export interface WorkflowSpec {
  workflowUrl: string;
  workflowType: string;
  workflowTypeVersion: string;
  workflowEngine?: string;
  workflowEngineVersion?: string;
  workflowEngineParameters?: Record<string, string>;
  tags?: Record<string, string>;
}

const SAFE_PASSWORD = /^[A-Za-z0-9]+$/;

/** What the node would reject or silently misread, found before any byte is uploaded. */
export function checkSubmitRequest(request: SubmitRequest, mode: InputMode, sendsPassword: boolean): void {
  if (request.files.length === 0) throw new BackendError('rejected', 'No input files to submit');
  const seen = new Set<string>();
  for (const file of request.files) {
    // WES: attachment names may hold directories but never `..`; the pipelines read `*.vcf.gz`.
    if (!file.name.endsWith('.vcf.gz') || file.name.includes('/') || file.name.includes('\\') || file.name.startsWith('.')) {
      throw new BackendError('rejected', `Input file name "${file.name}" must be a plain name ending in .vcf.gz`);
    }
    if (seen.has(file.name)) throw new BackendError('rejected', `Input file name "${file.name}" is used twice`);
    seen.add(file.name);
    if (inputReference(file, mode) === null) {
      const what = mode === 'https' ? 'an https URL (InputFile.url)' : 'a DRS URI (InputFile.drsUri)';
      throw new BackendError('rejected', `This WES node reads inputs by ${mode}, but ${file.name} has no ${what}`);
    }
  }
  if (sendsPassword && !SAFE_PASSWORD.test(request.password)) {
    throw new BackendError('rejected', 'The result password must use only the characters A-Z, a-z and 0-9');
  }
}

export function runTags(spec: WorkflowSpec, runId: string): Record<string, string> {
  return { ...renderTags(spec.tags ?? {}, runId), [RUN_ID_TAG]: runId };
}

export function workflowParams(request: SubmitRequest, template: ParamTemplate, mode: InputMode): Record<string, unknown> {
  return renderTemplate(template, {
    runId: request.runId,
    params: request.params,
    password: request.password,
    files: request.files.map((f) => inputReference(f, mode) ?? f.name),
  });
}

/**
 * The multipart body. Attachments are disk-backed Blobs: fetch streams them part by part, so a
 * 10 GB cohort never sits in memory.
 */
export async function buildRunForm(request: SubmitRequest, spec: WorkflowSpec, template: ParamTemplate, mode: InputMode): Promise<FormData> {
  const form = new FormData();
  form.append('workflow_url', spec.workflowUrl);
  form.append('workflow_type', spec.workflowType);
  form.append('workflow_type_version', spec.workflowTypeVersion);
  form.append('workflow_params', JSON.stringify(workflowParams(request, template, mode)));
  form.append('tags', JSON.stringify(runTags(spec, request.runId)));
  if (spec.workflowEngine) form.append('workflow_engine', spec.workflowEngine);
  if (spec.workflowEngineVersion) form.append('workflow_engine_version', spec.workflowEngineVersion);
  if (spec.workflowEngineParameters && Object.keys(spec.workflowEngineParameters).length > 0) {
    form.append('workflow_engine_parameters', JSON.stringify(spec.workflowEngineParameters));
  }
  if (mode === 'attachment') {
    for (const file of request.files) {
      const blob = await openAsBlob(file.path, { type: 'application/gzip' });
      form.append('workflow_attachment', blob, file.name);
    }
  }
  return form;
}

export function totalBytes(request: SubmitRequest, mode: InputMode): number {
  return mode === 'attachment' ? request.files.reduce((sum, f) => sum + Math.max(0, f.size), 0) : 0;
}
