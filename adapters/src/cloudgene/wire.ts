/**
 * Cloudgene 3 JSON as it arrives on the wire, narrowed from `unknown` field by field.
 *
 * Cloudgene serializes nulls, real servers differ slightly (TOPMed uses -1 where MIS uses 0 for
 * "no time yet") and old docs disagree with the code, so every reader here tolerates a missing or
 * mistyped field instead of trusting a cast.
 */

import { asArray, asNumber, asRecord, asString } from '../http/json';

export { isRecord, asRecord, asArray, asString, asNumber, asBoolean } from '../http/json';
export type { JsonRecord } from '../http/json';

/** Epoch milliseconds; Cloudgene uses 0 (MIS) or -1 (TOPMed docs) for "not yet". */
export function asDate(value: unknown): Date | null {
  const ms = asNumber(value);
  return ms !== null && ms > 0 ? new Date(ms) : null;
}

/** Cloudgene numeric job states (CG3 `jobs/AbstractJob.java`). */
export const CloudgeneState = {
  DEAD: -1,
  WAITING: 1,
  RUNNING: 2,
  EXPORTING: 3,
  SUCCESS: 4,
  FAILED: 5,
  CANCELED: 6,
  RETIRED: 7,
  SUCCESS_NOTIFIED: 8,
  FAILED_NOTIFIED: 9,
  DELETED: 10,
} as const;

/** Message `type` codes (CG3 `jobs/Message.java`). */
export const MessageType = { OK: 0, ERROR: 1, WARNING: 2, RUNNING: 3 } as const;

export interface WireMessage {
  type: number | null;
  message: string;
  time: number | null;
}

export interface WireStep {
  id: string;
  name: string;
  messages: WireMessage[];
}

export interface WireFile {
  name: string;
  hash: string;
  size: string | null;
  count: number | null;
}

export interface WireOutputParam {
  name: string;
  files: WireFile[];
}

export interface WireJob {
  id: string;
  name: string;
  state: number | null;
  positionInQueue: number | null;
  submittedOn: unknown;
  startTime: unknown;
  endTime: unknown;
  steps: WireStep[];
  outputParams: WireOutputParam[];
}

export function readJob(body: unknown): WireJob {
  const job = asRecord(body);
  const id = asString(job.id) ?? '';
  return {
    id,
    name: asString(job.name) ?? id,
    state: asNumber(job.state),
    positionInQueue: asNumber(job.positionInQueue),
    submittedOn: job.submittedOn,
    startTime: job.startTime,
    endTime: job.endTime,
    steps: asArray(job.steps).map(readStep),
    outputParams: asArray(job.outputParams).map(readOutputParam),
  };
}

function readStep(body: unknown, index: number): WireStep {
  const step = asRecord(body);
  return {
    id: asString(step.id) ?? String(index + 1),
    name: asString(step.name) ?? `Step ${index + 1}`,
    messages: asArray(step.logMessages).map((m) => {
      const message = asRecord(m);
      return { type: asNumber(message.type), message: asString(message.message) ?? '', time: asNumber(message.time) };
    }),
  };
}

function readOutputParam(body: unknown): WireOutputParam {
  const param = asRecord(body);
  return {
    name: asString(param.name) ?? '',
    files: asArray(param.files).flatMap((f) => {
      const file = asRecord(f);
      const name = asString(file.name);
      const hash = asString(file.hash);
      if (!name || !hash) return [];
      return [{ name, hash, size: asString(file.size), count: asNumber(file.count) }];
    }),
  };
}

export interface WirePage {
  jobs: WireJob[];
  page: number | null;
  next: number | null;
}

/** `GET /api/v2/jobs` returns a PageResponse; the stale docs show a bare array, accepted too. */
export function readJobPage(body: unknown): WirePage {
  if (Array.isArray(body)) return { jobs: body.map(readJob), page: null, next: null };
  const page = asRecord(body);
  return { jobs: asArray(page.data).map(readJob), page: asNumber(page.page), next: asNumber(page.next) };
}
