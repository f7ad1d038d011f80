/**
 * How runs read to a person: state labels and icons (never colour alone), progress from the
 * task list, the backend and the reasons the broker recorded for choosing it. Pure functions over
 * the WES shapes of api-spec (no re-typed GA4GH shapes).
 */
import type { components } from '@ibroker/api-spec/wes';

export type State = components['schemas']['State'];
export type RunLog = components['schemas']['RunLog'];
export type RunSummary = components['schemas']['RunSummary'];
/** An entry of GET /runs: WES allows a bare RunStatus or a RunSummary. */
export type RunListItem = NonNullable<components['schemas']['RunListResponse']['runs']>[number] & Partial<RunSummary>;
export type TaskLog = components['schemas']['TaskLog'];
export type Log = components['schemas']['Log'];

export interface StateInfo {
  label: string;
  /** A symbol shown beside the label (decorative: the label says it). */
  icon: string;
  tone: 'neutral' | 'active' | 'ok' | 'bad' | 'muted';
  /** Plain words for a person. */
  meaning: string;
}

export const STATES: Record<State, StateInfo> = {
  UNKNOWN: { label: 'Unknown', icon: '?', tone: 'muted', meaning: 'The broker does not know this run’s state.' },
  QUEUED: { label: 'Queued', icon: '◷', tone: 'neutral', meaning: 'Waiting for a free slot on the imputation service.' },
  INITIALIZING: { label: 'Starting', icon: '◔', tone: 'active', meaning: 'Being submitted to the imputation service.' },
  RUNNING: { label: 'Running', icon: '▶', tone: 'active', meaning: 'The imputation service is working on it.' },
  PAUSED: { label: 'Paused', icon: '❚❚', tone: 'neutral', meaning: 'Paused.' },
  COMPLETE: { label: 'Complete', icon: '✓', tone: 'ok', meaning: 'Finished; the results are ready to download.' },
  EXECUTOR_ERROR: { label: 'Failed', icon: '✕', tone: 'bad', meaning: 'The imputation service reported an error.' },
  SYSTEM_ERROR: { label: 'System error', icon: '✕', tone: 'bad', meaning: 'The broker could not run it.' },
  CANCELED: { label: 'Cancelled', icon: '⊘', tone: 'muted', meaning: 'Cancelled.' },
  CANCELING: { label: 'Cancelling', icon: '⊘', tone: 'neutral', meaning: 'Being cancelled on the imputation service.' },
  PREEMPTED: { label: 'Preempted', icon: '!', tone: 'bad', meaning: 'Stopped by the system before it finished.' },
};

export const stateInfo = (state: State | undefined): StateInfo => STATES[state ?? 'UNKNOWN'] ?? STATES.UNKNOWN;

/** States in which a run can still change, in the order a run goes through them. */
export const ACTIVE_STATES: readonly State[] = ['QUEUED', 'INITIALIZING', 'RUNNING', 'PAUSED', 'CANCELING'];
export const isActive = (state: State | undefined): boolean => state !== undefined && ACTIVE_STATES.includes(state);
/** The broker cancels runs in these states (WES: anything not finished). */
export const isCancellable = (state: State | undefined): boolean => state !== undefined && ['QUEUED', 'INITIALIZING', 'RUNNING', 'PAUSED'].includes(state);

/** Order of the dashboard's state counts: what needs attention first. */
export const STATE_ORDER: readonly State[] = ['RUNNING', 'INITIALIZING', 'QUEUED', 'CANCELING', 'PAUSED', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'PREEMPTED', 'CANCELED', 'UNKNOWN'];

export function countByState(runs: readonly RunListItem[]): { state: State; count: number }[] {
  const counts = new Map<State, number>();
  for (const r of runs) counts.set(r.state ?? 'UNKNOWN', (counts.get(r.state ?? 'UNKNOWN') ?? 0) + 1);
  return STATE_ORDER.filter((s) => counts.has(s)).map((state) => ({ state, count: counts.get(state)! }));
}

export type TaskStatus = 'pending' | 'running' | 'done' | 'failed';

export function taskStatus(task: TaskLog | Log, runState?: State): TaskStatus {
  if (task.exit_code === 0) return 'done';
  if (task.exit_code !== undefined && task.exit_code !== null && task.exit_code !== 0) return 'failed';
  if (task.end_time) return 'done';
  if (task.start_time) return runState && !isActive(runState) ? 'failed' : 'running';
  return 'pending';
}

/**
 * Percent done from the task list: finished steps count whole, the running one half. A COMPLETE
 * run is 100; a run with no task list yet is 0. Only an estimate: steps differ in length.
 */
export function progressOf(run: Pick<RunLog, 'state' | 'task_logs'>): number {
  if (run.state === 'COMPLETE') return 100;
  const tasks = (run.task_logs ?? []) as (TaskLog | Log)[];
  if (tasks.length === 0) return 0;
  let score = 0;
  for (const t of tasks) {
    const s = taskStatus(t, run.state);
    if (s === 'done') score += 1;
    else if (s === 'running') score += 0.5;
  }
  return Math.min(99, Math.round((score / tasks.length) * 100));
}

const BACKEND_LINE = /^(?:Routed to|Sent to|Submitted to) ([A-Za-z0-9._-]+)/;

/** The backend the broker chose for the run, as its run log says, or null before it chose. */
export function backendOf(run: Pick<RunLog, 'run_log'>): string | null {
  for (const line of run.run_log?.system_logs ?? []) {
    const m = BACKEND_LINE.exec(line);
    if (m) return m[1]!;
  }
  return null;
}

/** The run log split into what the broker decided (reasons) and what went wrong (errors). */
export function runNotes(run: Pick<RunLog, 'run_log'>): { notes: string[]; errors: string[] } {
  const notes: string[] = [];
  const errors: string[] = [];
  for (const line of run.run_log?.system_logs ?? []) {
    if (line.startsWith('error: ')) errors.push(line.slice('error: '.length));
    else notes.push(line);
  }
  return { notes, errors };
}

/** A task's log line as the broker writes it: `<time> [level] text`. */
export interface LogLine {
  time: string | null;
  level: string;
  text: string;
}

export function parseLogLine(line: string): LogLine {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z )?\[([a-z]+)\] ([\s\S]*)$/.exec(line);
  if (!m) return { time: null, level: 'info', text: line };
  return { time: m[1]?.trim() ?? null, level: m[2]!, text: m[3]! };
}

/** The result files of a run, as RunLog.outputs carries them until DRS objects exist. */
export interface OutputFile {
  name: string;
  size: number;
  sha256: string;
  md5?: string | null;
  mime_type?: string;
  url: string;
  /** The file as a GA4GH DRS object. */
  drs_uri?: string;
  /** The files opened out of a result zip (e.g. `chr20.info.gz`), each its own DRS object. */
  extracted?: OutputFile[];
}

/** A run's input as RunLog.outputs lists it, so the same cohort can be sent again by drs:// URI. */
export interface InputFile {
  name: string;
  size: number;
  sha256: string;
  drs_uri: string;
}

export function inputFiles(run: Pick<RunLog, 'outputs'>): InputFile[] {
  const inputs = (run.outputs as { inputs?: unknown } | undefined)?.inputs;
  if (!Array.isArray(inputs)) return [];
  return inputs.filter((f): f is InputFile => typeof f === 'object' && f !== null && typeof (f as InputFile).drs_uri === 'string' && typeof (f as InputFile).name === 'string');
}

/** The object id of a `drs://host/id` URI (the last path segment), or null. */
export function drsObjectId(uri: string): string | null {
  const m = /^drs:\/\/[^/]+\/([^/?#]+)$/.exec(uri);
  return m ? decodeURIComponent(m[1]!) : null;
}

export function outputFiles(run: Pick<RunLog, 'outputs'>): OutputFile[] {
  const files = (run.outputs as { files?: unknown } | undefined)?.files;
  if (!Array.isArray(files)) return [];
  return files.filter(
    (f): f is OutputFile => typeof f === 'object' && f !== null && typeof (f as OutputFile).name === 'string' && typeof (f as OutputFile).url === 'string',
  );
}

/**
 * The same-origin path of a broker URL: the portal and the broker share an origin (embedded, or
 * the standalone portal's proxy), so downloads go straight to the broker with the cookie.
 */
export function sameOriginPath(url: string): string {
  try {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  } catch {
    return url.startsWith('/') ? url : '#';
  }
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** `2025-01-31T12:00:00Z` → `2025-01-31 12:00:00 UTC` (the same in every browser and on the server). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function duration(start: string | null | undefined, end: string | null | undefined, now: number = Date.now()): string {
  if (!start) return '—';
  const from = new Date(start).getTime();
  const to = end ? new Date(end).getTime() : now;
  if (!Number.isFinite(from) || !Number.isFinite(to) || to < from) return '—';
  const s = Math.round((to - from) / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The time a run last changed, for "recent activity". */
export const lastActivity = (r: RunListItem): string => r.end_time ?? r.start_time ?? '';

/** One block of a Cloudgene QC report (`qc_report.txt`): `::kind:: text` lines and `::group type=kind::` groups. */
export interface QcBlock {
  kind: string;
  lines: { text: string; strong: boolean }[];
}

/**
 * Reads imputationserver2's QC report commands into blocks a page can show as text: a
 * `<b>Title:</b>` line becomes a strong line, other markup is dropped (never rendered as HTML).
 */
export function parseQcReport(text: string): QcBlock[] {
  const blocks: QcBlock[] = [];
  let group: QcBlock | null = null;
  const line = (raw: string) => {
    const strong = /^\s*<b>.*<\/b>\s*$/i.test(raw);
    return { text: raw.replace(/<[^>]*>/g, '').trim(), strong };
  };
  for (const raw of text.split(/\r?\n/)) {
    const open = /^::group type=([a-z_]+)::\s*$/.exec(raw);
    if (open) {
      group = { kind: open[1]!, lines: [] };
      blocks.push(group);
      continue;
    }
    if (/^::endgroup::\s*$/.test(raw)) {
      group = null;
      continue;
    }
    const single = /^::([a-z_]+)::\s?(.*)$/.exec(raw);
    if (single) {
      blocks.push({ kind: single[1]!, lines: [line(single[2]!)] });
      continue;
    }
    if (raw.trim() === '') continue;
    if (group) group.lines.push(line(raw));
    else blocks.push({ kind: 'message', lines: [line(raw)] });
  }
  return blocks.filter((b) => b.lines.some((l) => l.text !== ''));
}
