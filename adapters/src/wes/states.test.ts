import { describe, expect, it } from 'vitest';
import { mapWesState } from './states';

describe('WES state mapping', () => {
  it('passes the eleven WES 1.1 states through, whatever their case', () => {
    const all = ['UNKNOWN', 'QUEUED', 'INITIALIZING', 'RUNNING', 'PAUSED', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'CANCELING', 'PREEMPTED'];
    expect(all.map(mapWesState)).toEqual(all);
    expect(mapWesState(' preempted ')).toBe('PREEMPTED');
  });

  it("reads WESkit's own stages as WESkit does (never QUEUED)", () => {
    expect(['RUN_CREATED', 'PREPARED_EXECUTION', 'SUBMITTED_EXECUTION', 'AWAITING_START', 'STARTED_EXECUTION', 'FINISHED_EXECUTION', 'CANCELLED'].map(mapWesState)).toEqual([
      'INITIALIZING', 'INITIALIZING', 'INITIALIZING', 'INITIALIZING', 'RUNNING', 'COMPLETE', 'CANCELED',
    ]);
  });

  it('guesses nothing: anything else is UNKNOWN', () => {
    expect([null, '', 'DONE', 'SUCCESS', '4'].map(mapWesState)).toEqual(['UNKNOWN', 'UNKNOWN', 'UNKNOWN', 'UNKNOWN', 'UNKNOWN']);
  });
});
