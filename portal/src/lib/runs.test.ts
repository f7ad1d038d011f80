import { describe, expect, it } from 'vitest';
import { backendOf, countByState, formatBytes, outputFiles, parseLogLine, parseQcReport, progressOf, runNotes, sameOriginPath, taskStatus } from './runs';

describe('runs: how a run reads to a person', () => {
  it('counts runs by state, what needs attention first', () => {
    const counts = countByState([{ run_id: 'a', state: 'COMPLETE' }, { run_id: 'b', state: 'RUNNING' }, { run_id: 'c', state: 'COMPLETE' }, { run_id: 'd' }]);
    expect(counts).toEqual([
      { state: 'RUNNING', count: 1 },
      { state: 'COMPLETE', count: 2 },
      { state: 'UNKNOWN', count: 1 },
    ]);
  });

  it('estimates progress from the steps: done whole, running half, COMPLETE 100', () => {
    const tasks = [
      { id: '1', name: 'Input Validation', start_time: '2025-01-01T00:00:00Z', end_time: '2025-01-01T00:00:01Z', exit_code: 0 },
      { id: '2', name: 'Quality Control', start_time: '2025-01-01T00:00:01Z' },
      { id: '3', name: 'Phasing and Imputation' },
      { id: '4', name: 'Summary' },
    ];
    expect(progressOf({ state: 'RUNNING', task_logs: tasks })).toBe(38);
    expect(progressOf({ state: 'QUEUED', task_logs: [] })).toBe(0);
    expect(progressOf({ state: 'COMPLETE', task_logs: tasks })).toBe(100);
    expect(taskStatus(tasks[1]!, 'EXECUTOR_ERROR')).toBe('failed');
  });

  it('names the backend and separates reasons from errors in the run log', () => {
    const run = { run_log: { system_logs: ["Routed to mis2 (MIS 2): it offers panel 1000g-phase-3-v5", 'Submitted to mis2 (MIS 2).', 'error: At least 20 samples must be uploaded.'] } };
    expect(backendOf(run)).toBe('mis2');
    expect(backendOf({ run_log: { system_logs: [] } })).toBeNull();
    expect(runNotes(run)).toEqual({ notes: run.run_log.system_logs.slice(0, 2), errors: ['At least 20 samples must be uploaded.'] });
  });

  it('reads task log lines, result files and same-origin download paths', () => {
    expect(parseLogLine('2025-01-31T12:00:00Z [warn] Excluded sites: 717')).toEqual({ time: '2025-01-31T12:00:00Z', level: 'warn', text: 'Excluded sites: 717' });
    expect(parseLogLine('plain text')).toEqual({ time: null, level: 'info', text: 'plain text' });
    const files = outputFiles({ outputs: { files: [{ name: 'chr_20.zip', size: 3, sha256: 'ab', url: 'http://127.0.0.1:8080/api/v1/runs/r/outputs/f' }, { bogus: true }] } });
    expect(files.map((f) => f.name)).toEqual(['chr_20.zip']);
    expect(sameOriginPath(files[0]!.url)).toBe('/api/v1/runs/r/outputs/f');
    expect(outputFiles({ outputs: {} })).toEqual([]);
    expect(formatBytes(3_000_000)).toBe('2.9 MB');
  });

  it('renders the QC report commands as text blocks, markup dropped', () => {
    const blocks = parseQcReport('::log:: Reference Panel Ranges: genome-wide\n::group type=message::\n<b>Statistics:</b>\nMatch: 8,197\n::endgroup::\n::group type=warning::\nExcluded sites in total: 717\n<script>x</script>\n::endgroup::\n');
    expect(blocks).toEqual([
      { kind: 'log', lines: [{ text: 'Reference Panel Ranges: genome-wide', strong: false }] },
      { kind: 'message', lines: [{ text: 'Statistics:', strong: true }, { text: 'Match: 8,197', strong: false }] },
      { kind: 'warning', lines: [{ text: 'Excluded sites in total: 717', strong: false }, { text: 'x', strong: false }] },
    ]);
  });
});
