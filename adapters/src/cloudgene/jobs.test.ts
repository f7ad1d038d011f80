import { describe, expect, it } from 'vitest';
import { mapState, parseJob } from './jobs';
import { fixture, fixturesAvailable } from './fixtures.test-helper';
import { readJobPage } from './wire';

const SUBMITTED = new Date(1760624780293);
const STARTED = new Date(1760624780394);
const PASSWORD_MESSAGE =
  'Data have been exported successfully. We encrypted the results with the following password: k7RqM2xT9vBn4';

describe.skipIf(!fixturesAvailable)('parseJob on the shared fixtures', () => {
  it('job-waiting: queued with its queue position, nothing else yet', () => {
    const job = parseJob(fixture('job-waiting.json'));
    expect(job).toMatchObject({
      remoteId: 'job-20251016-102620-166',
      name: 'job-20251016-102620-166',
      state: 'QUEUED',
      rawState: '1',
      submittedAt: SUBMITTED,
      startTime: null,
      endTime: null,
      queuePosition: 3,
      progress: 0,
      tasks: [],
      outputs: [],
      resultsGone: false,
      errors: [],
    });
  });

  it('job-running: finished, running and pending steps, progress from the bars', () => {
    const job = parseJob(fixture('job-running.json'));
    expect(job.state).toBe('RUNNING');
    expect(job.rawState).toBe('2');
    expect(job.startTime).toEqual(STARTED);
    expect(job.endTime).toBeNull();
    // positionInQueue is 0 while running: not a queue position.
    expect(job.queuePosition).toBeNull();
    expect(job.tasks.map((t) => [t.id, t.name, t.state])).toEqual([
      ['1', 'Input Validation', 'COMPLETE'],
      ['2', 'Quality Control', 'COMPLETE'],
      ['3', 'Phasing and Imputation', 'RUNNING'],
      ['4', 'Summary', 'QUEUED'],
    ]);
    // Two steps done, the third half-way ((4/4 + 1/4) / 2), the fourth not started: 2.625 / 4.
    expect(job.progress).toBe(66);
    const imputation = job.tasks[2];
    expect(imputation?.messages).toEqual([
      { level: 'info', text: 'Phasing with Eagle (4/4)', time: new Date(1760625020394) },
      { level: 'running', text: 'Imputation (1/4)', time: expect.any(Date) },
    ]);
    expect(imputation?.startTime).toEqual(new Date(1760625020394));
    expect(imputation?.endTime).toBeNull();
    expect(job.tasks[0]?.endTime).toEqual(new Date(1760624784394));
    expect(job.tasks[1]?.messages.map((m) => m.level)).toEqual(['info', 'info', 'warning', 'info']);
    expect(job.tasks[1]?.messages[1]?.text.startsWith('Statistics:\nAlternative allele frequency > 0.5 sites: 2,296')).toBe(true);
    expect(job.tasks[3]?.startTime).toBeNull();
    expect(job.outputs).toEqual([]);
    expect(job.errors).toEqual([]);
  });

  it('job-success: complete, every file of the `output` param, password message in plain text', () => {
    const job = parseJob(fixture('job-success.json'));
    expect(job.state).toBe('COMPLETE');
    expect(job.rawState).toBe('4');
    expect(job.progress).toBe(100);
    expect(job.endTime).toEqual(new Date(1760626138133));
    expect(job.tasks.every((t) => t.state === 'COMPLETE')).toBe(true);
    expect(job.tasks[3]?.messages.map((m) => m.text)).toEqual(['Compression and Encryption (1/1)', PASSWORD_MESSAGE]);
    expect(job.outputs).toEqual([
      { name: 'chr_20.zip', size: null, ref: 'f461f5e88ce029a0168d7814bd9d5ec3340244855f501bb8445ce8a10e5866f2' },
      { name: 'qc_report.txt', size: 760, ref: 'a238c929a671f1cccd0885293cbffcc9c48e4139facb206477fb9af8b23f3d66' },
      { name: 'quality-control.html', size: null, ref: 'af699c20458a8eab195c279ecb6c7d8e47d0c3ff5c94679dc279bde319efa834' },
      { name: 'statistics/chunks-excluded.txt', size: 88, ref: '95b096eab7f67f597df170ae77f1adfff37a29d2e461a16645007532c29d023f' },
      { name: 'statistics/snps-excluded.txt', size: 452, ref: 'd2cdbdd08d131b2e7fd5671efee6d764fc03d1e5ac5d8d5b4e5435d93da0df76' },
      { name: 'statistics/snps-typed-only.txt', size: null, ref: 'e5821b03edf2e5d822b592bb018fa75586e14357e9e4c137f4f884194e8c0b4b' },
    ]);
    expect(job.resultsGone).toBe(false);
    expect(job.errors).toEqual([]);
  });

  it('job-failed-qc: executor error, QC step failed, later steps cut short, errors = type-1 texts', () => {
    const job = parseJob(fixture('job-failed-qc.json'));
    expect(job.state).toBe('EXECUTOR_ERROR');
    expect(job.rawState).toBe('5');
    expect(job.progress).toBeNull();
    expect(job.tasks.map((t) => t.state)).toEqual(['COMPLETE', 'EXECUTOR_ERROR', 'CANCELED', 'EXECUTOR_ERROR']);
    expect(job.errors).toHaveLength(3);
    expect(job.errors[0]).toContain('Warning: 4 Chunk(s) excluded: < 10000 SNPs');
    expect(job.errors[0]).toMatch(/Error: No chunks passed the QC step\. Imputation cannot be started!$/);
    expect(job.errors[0]).not.toContain('<b>');
    expect(job.errors.slice(1)).toEqual(['Pipeline execution failed.', 'Imputation job failed.']);
    expect(job.tasks[1]?.messages.find((m) => m.level === 'error')).toBeDefined();
    expect(job.tasks[1]?.endTime).toEqual(new Date(1760624840394));
    // Failed jobs still export their QC files.
    expect(job.outputs.map((o) => o.name)).toEqual([
      'qc_report.txt',
      'quality-control.html',
      'statistics/chunks-excluded.txt',
      'statistics/snps-excluded.txt',
      'statistics/snps-typed-only.txt',
    ]);
  });

  it('job-failed-validation: the validation message comes first in errors', () => {
    const job = parseJob(fixture('job-failed-validation.json'));
    expect(job.state).toBe('EXECUTOR_ERROR');
    expect(job.tasks.map((t) => t.state)).toEqual(['EXECUTOR_ERROR', 'CANCELED', 'CANCELED', 'EXECUTOR_ERROR']);
    expect(job.errors[0]).toBe(
      "Your upload data contains chromosome 'chr20'. This is not a valid hg19 encoding. Please ensure that your input data is build hg19 and chromosome is encoded as '20'.",
    );
    expect(job.endTime).toEqual(new Date(1760624789394));
    expect(job.outputs).toEqual([]);
  });

  it('job-canceled: canceled, and the cancel notices do not read as a failure of a step', () => {
    const job = parseJob(fixture('job-canceled.json'));
    expect(job.state).toBe('CANCELED');
    expect(job.rawState).toBe('6');
    expect(job.progress).toBeNull();
    expect(job.tasks.map((t) => t.state)).toEqual(['COMPLETE', 'CANCELED', 'CANCELED', 'CANCELED']);
    expect(job.tasks[3]?.messages).toEqual([
      { level: 'error', text: 'Pipeline execution canceled.', time: new Date(1760624900394) },
      { level: 'error', text: 'Imputation job canceled.', time: new Date(1760624900394) },
    ]);
    expect(job.resultsGone).toBe(false);
  });

  it('jobs-list-all / jobs-list-page: page objects, list entries without steps', () => {
    for (const file of ['jobs-list-all.json', 'jobs-list-page.json']) {
      const page = readJobPage(fixture(file));
      expect(page.jobs.map((j) => j.id)).toEqual(['job-20251016-102620-166', 'job-20250829-110739-457']);
      const [done, retired] = page.jobs.map((j) => parseJob(rawOf(file, j.id)));
      expect(done).toMatchObject({ state: 'COMPLETE', resultsGone: false, tasks: [], outputs: [] });
      // Retired, and the list gives no step to tell how it ended.
      expect(retired).toMatchObject({ state: 'UNKNOWN', rawState: '7', resultsGone: true });
    }
    expect(readJobPage(fixture('jobs-list-all.json')).next).toBeNull();
    expect(readJobPage(fixture('jobs-list-page.json'))).toMatchObject({ page: 1, next: 2 });
  });
});

function rawOf(file: string, id: string): unknown {
  const body = fixture(file) as { data: { id: string }[] };
  return body.data.find((j) => j.id === id);
}

describe('mapState (digest §6)', () => {
  const canceledSteps = [
    { id: '4', name: 'Summary', messages: [{ type: 1, message: 'Imputation job canceled.', time: 1 }] },
  ];
  const failedSteps = [{ id: '4', name: 'Summary', messages: [{ type: 1, message: 'Imputation job failed.', time: 1 }] }];
  const successSteps = [
    { id: '4', name: 'Summary', messages: [{ type: 0, message: 'Data have been exported successfully.', time: 1 }] },
  ];

  it.each([
    [1, 'QUEUED'],
    [2, 'RUNNING'],
    [3, 'RUNNING'],
    [4, 'COMPLETE'],
    [8, 'COMPLETE'],
    [5, 'EXECUTOR_ERROR'],
    [9, 'EXECUTOR_ERROR'],
    [6, 'CANCELED'],
    [10, 'CANCELED'],
    [-1, 'SYSTEM_ERROR'],
    [7, 'UNKNOWN'],
    [42, 'UNKNOWN'],
    [null, 'UNKNOWN'],
  ] as const)('%s → %s', (code, state) => {
    expect(mapState(code)).toBe(state);
  });

  it('reads what a notified or retired job was from its messages', () => {
    expect(mapState(9, canceledSteps)).toBe('CANCELED');
    expect(mapState(9, failedSteps)).toBe('EXECUTOR_ERROR');
    expect(mapState(7, canceledSteps)).toBe('CANCELED');
    expect(mapState(7, failedSteps)).toBe('EXECUTOR_ERROR');
    expect(mapState(7, successSteps)).toBe('COMPLETE');
  });
});

describe('parseJob on hand-made edge cases', () => {
  it('takes outputs only from the `output` param, not the admin logs', () => {
    const job = parseJob({
      id: 'job-1',
      state: 4,
      steps: [],
      outputParams: [
        { name: 'output', files: [{ name: 'chr_1.zip', hash: 'aa', size: '1 GB' }] },
        { name: 'cloudgene_logs', files: [{ name: 'job.txt', hash: 'bb', size: '10 bytes' }] },
      ],
    });
    expect(job.outputs).toEqual([{ name: 'chr_1.zip', size: null, ref: 'aa' }]);
    expect(job.name).toBe('job-1');
  });

  it('treats -1 times (TOPMed docs) as "not yet"', () => {
    const job = parseJob({ id: 'j', name: 'run-1', state: 1, positionInQueue: 0, submittedOn: 5, startTime: -1, endTime: -1 });
    expect(job).toMatchObject({ startTime: null, endTime: null, queuePosition: 0, submittedAt: new Date(5) });
  });

  it('marks deleted and retired jobs as having lost their results', () => {
    expect(parseJob({ id: 'j', state: 10 }).resultsGone).toBe(true);
    expect(parseJob({ id: 'j', state: 7 }).resultsGone).toBe(true);
    expect(parseJob({ id: 'j', state: 8 }).resultsGone).toBe(false);
  });

  it('never reports 100 % while the job is still exporting', () => {
    const done = { type: 0, message: 'ok', time: 1 };
    const job = parseJob({ id: 'j', state: 3, steps: [1, 2].map((id) => ({ id, name: `s${id}`, logMessages: [done] })) });
    expect(job.progress).toBe(99);
  });

  it('drops messages that are blank once the HTML is gone', () => {
    const job = parseJob({
      id: 'j',
      state: 2,
      steps: [{ id: 1, name: 'QC', logMessages: [{ type: 3, message: '<span></span>', time: 1 }] }],
    });
    expect(job.tasks[0]).toMatchObject({ state: 'RUNNING', messages: [] });
  });
});
