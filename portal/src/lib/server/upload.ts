/**
 * The new-run form's submission, streamed to the broker's `POST /ga4gh/wes/v1/runs`.
 *
 * The browser posts the form as it is (parameter fields, then the files), with or without
 * JavaScript. This turns it into the WES request while the bytes flow: the parameter fields
 * become `workflow_params`, each file becomes a `workflow_attachment` part, and the form's CSRF
 * token becomes the `X-CSRF-Token` header the broker checks for cookie-authenticated writes.
 * Nothing is held whole in memory (busboy reads, a PassThrough with back-pressure writes), so a
 * 10 GB cohort costs what a 1 MB one does.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import busboy from 'busboy';
import { ATTACHMENT_FIELD, CSRF_FIELD, PARAM_FIELDS, workflowParams, type ParamField, type ParamValues } from '$lib/run-form';

export interface UploadTarget {
  /** The broker's base URL (BROKER_URL). */
  base: string;
  /** Headers forwarded from the browser's request (session cookie, user agent). */
  headers: Record<string, string>;
  /** The broker's own workflow_url (from its /workflows/imputation descriptor). */
  workflowUrl: string;
  workflowType: string;
  workflowTypeVersion: string;
}

export type UploadOutcome =
  | { kind: 'submitted'; runId: string; fields: ParamValues }
  | { kind: 'refused'; status: number; message: string; fields: ParamValues };

const MAX_FIELD_BYTES = 4096;

/** `filename="..."` as browsers write it: quotes and line breaks percent-encoded. */
const quoted = (name: string) => name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

export async function streamRunUpload(request: Request, target: UploadTarget): Promise<UploadOutcome> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!contentType.toLowerCase().startsWith('multipart/form-data') || request.body === null) {
    return { kind: 'refused', status: 400, message: 'Send the form as multipart/form-data (the new-run form does).', fields: {} };
  }

  const fields: ParamValues = {};
  let csrf = '';
  const boundary = `----portal${randomBytes(16).toString('hex')}`;
  const body = new PassThrough();
  let brokerResponse: Promise<Response> | null = null;
  let written: Promise<void> = Promise.resolve();
  /** Set when the broker answered before the upload ended (a refusal): the rest is read and dropped. */
  let discard = false;
  const piping = new Set<NodeJS.ReadableStream>();

  const head = (disposition: string, type?: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; ${disposition}\r\n${type ? `Content-Type: ${type}\r\n` : ''}\r\n`;

  /** Opens the request to the broker with the fields seen so far: called at the first file. */
  const open = (): Promise<Response> => {
    const wes: Record<string, string> = {
      workflow_type: target.workflowType,
      workflow_type_version: target.workflowTypeVersion,
      workflow_url: target.workflowUrl,
      workflow_params: JSON.stringify(workflowParams(fields)),
    };
    for (const [name, value] of Object.entries(wes)) body.write(`${head(`name="${name}"`)}${value}\r\n`);
    const headers: Record<string, string> = { ...target.headers, 'content-type': `multipart/form-data; boundary=${boundary}` };
    if (csrf) headers['x-csrf-token'] = csrf;
    return fetch(`${target.base}/ga4gh/wes/v1/runs`, {
      method: 'POST',
      headers,
      body: Readable.toWeb(body) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit);
  };

  let bodyDone = false;
  const stopForwarding = () => {
    discard = true;
    for (const stream of piping) {
      stream.unpipe(body);
      stream.resume();
    }
    body.destroy();
  };

  const parsed = new Promise<void>((resolve, reject) => {
    const bb = busboy({
      headers: { 'content-type': contentType },
      limits: { fieldSize: MAX_FIELD_BYTES, fields: 32, parts: 10_000 },
      preservePath: false,
    });
    bb.on('field', (name, value) => {
      if (name === CSRF_FIELD) csrf = value;
      else if ((PARAM_FIELDS as readonly string[]).includes(name)) fields[name as ParamField] = value;
    });
    bb.on('file', (name, stream, info) => {
      // An empty file input still sends a part with no name and no bytes.
      const filename = info.filename;
      if (discard || name !== ATTACHMENT_FIELD || !filename) {
        stream.resume();
        return;
      }
      if (brokerResponse === null) {
        brokerResponse = open();
        // The broker may answer (a refusal) before the upload ends and stop reading: then the
        // rest of the browser's upload is read and dropped, so neither side waits on the other.
        brokerResponse.then(
          () => {
            if (!discard && !bodyDone) stopForwarding();
          },
          () => stopForwarding(),
        );
      }
      // One file after the other: the next part waits (and busboy with it) until this one is
      // written out, so parts never interleave and back-pressure reaches the browser.
      written = written.then(
        () =>
          new Promise<void>((done, failed) => {
            body.write(head(`name="${ATTACHMENT_FIELD}"; filename="${quoted(filename)}"`, info.mimeType || 'application/octet-stream'));
            if (discard) {
              stream.resume();
              done();
              return;
            }
            piping.add(stream);
            stream.on('error', failed);
            stream.on('end', () => {
              piping.delete(stream);
              if (!discard) body.write('\r\n');
              done();
            });
            stream.pipe(body, { end: false });
          }),
      );
      written.catch(() => {});
    });
    bb.on('close', resolve);
    bb.on('error', reject);
    Readable.fromWeb(request.body as import('node:stream/web').ReadableStream<Uint8Array>).on('error', reject).pipe(bb);
  });

  try {
    await parsed;
    await written;
  } catch (err) {
    body.destroy(err as Error);
    await (brokerResponse as Promise<Response> | null)?.catch(() => {});
    return { kind: 'refused', status: 400, message: `The upload was interrupted (${(err as Error).message}); send the form again.`, fields };
  }
  if (brokerResponse === null) {
    body.destroy();
    return { kind: 'refused', status: 400, message: 'Choose at least one bgzipped VCF file (.vcf.gz) to impute.', fields };
  }
  bodyDone = true;
  if (!discard) body.end(`--${boundary}--\r\n`);

  let response: Response;
  try {
    response = await (brokerResponse as Promise<Response>);
  } catch (err) {
    return { kind: 'refused', status: 502, message: `The broker could not be reached to submit the run (${(err as Error).message}).`, fields };
  }
  const answer = (await response.json().catch(() => null)) as { run_id?: string; msg?: string } | null;
  if (response.ok && answer?.run_id) return { kind: 'submitted', runId: answer.run_id, fields };
  return {
    kind: 'refused',
    status: response.status,
    message: answer?.msg ?? `The broker answered ${response.status} to the submission.`,
    fields,
  };
}

