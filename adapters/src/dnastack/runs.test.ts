import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mapEwesState, readExtendedRun, toRemoteJob } from './runs';
import { readLog } from '../wes/wire';

const FIXTURES = resolve(__dirname, '../../../../shared/backends/dnastack/examples');
const fixture = (name: string): Record<string, unknown> => JSON.parse(readFileSync(resolve(FIXTURES, name), 'utf8')) as Record<string, unknown>;

describe('eWES states', () => {
  it("maps DNAstack's extra states per the digest, and the GA4GH ones through", () => {
    expect(['PREPROCESSING', 'PREPROCESSING_ERROR', 'NOT_PROCESSED', 'COMPLETE_WITH_ERRORS'].map(mapEwesState)).toEqual([
      'INITIALIZING', 'SYSTEM_ERROR', 'SYSTEM_ERROR', 'EXECUTOR_ERROR',
    ]);
    expect(['QUEUED', 'RUNNING', 'PAUSED', 'CANCELING', 'COMPLETE', 'CANCELED'].map(mapEwesState)).toEqual(['QUEUED', 'RUNNING', 'PAUSED', 'CANCELING', 'COMPLETE', 'CANCELED']);
    expect(mapEwesState('SOMETHING_NEW')).toBe('UNKNOWN');
  });
});

describe.runIf(existsSync(FIXTURES))('ExtendedRun fixture', () => {
  it('becomes a RemoteJob: run id tag, times, tasks with their own state, gs outputs by reference, events kept', () => {
    const run = readExtendedRun(fixture('run.json'));
    const tasks = ((fixture('tasks-list.json').tasks as unknown[]) ?? []).map(readLog);
    const job = toRemoteJob(run, tasks, 'x');
    expect(job).toMatchObject({
      remoteId: '4f1c6a2e-9b7d-4c3e-8a51-2d6f0e9b7c10',
      name: 'b-0001',
      state: 'COMPLETE',
      rawState: 'COMPLETE',
      progress: 100,
      errors: [],
    });
    expect(job.submittedAt?.toISOString()).toBe('2025-10-16T10:26:20.000Z');
    expect(job.endTime?.toISOString()).toBe('2025-10-16T11:02:00.000Z');
    expect(job.tasks.map((t) => [t.name, t.state])).toEqual([['imputation.minimac4', 'COMPLETE']]);
    expect(job.outputs.map((o) => o.reference?.type)).toEqual(['gs', 'gs']);
    expect(job.events?.map((e) => e.type)).toEqual(['RUN_SUBMITTED', 'PREPROCESSING', 'RUN_SUBMITTED_TO_ENGINE', 'STATE_TRANSITION']);
    expect(job.events?.[3]?.message).toBe('Workflow state changed: RUNNING → COMPLETE');
  });

  it('a failed run takes its reasons from errors and ERROR_OCCURRED events; an unknown event is tolerated', () => {
    const body = fixture('run.json');
    const run = readExtendedRun({
      ...body,
      state: 'EXECUTOR_ERROR',
      errors: ['Task imputation.minimac4 failed'],
      events: [
        ...(body.events as unknown[]),
        { id: 'e5', event_type: 'ERROR_OCCURRED', created_at: '2025-10-16T11:01:00Z', metadata: { event_type: 'ERROR_OCCURRED', message: 'oom', errors: ['Out of memory in minimac4'] } },
        { id: 'e6', event_type: 'SOMETHING_NEW', created_at: 'not a date', metadata: { event_type: 'SOMETHING_NEW', surprise: true } },
        { id: 'e7', metadata: 'garbage' },
      ],
    });
    const job = toRemoteJob(run, [], 'x');
    expect(job.errors).toEqual(['Task imputation.minimac4 failed', 'Out of memory in minimac4']);
    expect(job.events?.at(-1)).toEqual({ time: null, type: 'SOMETHING_NEW', message: '' });
  });
});
