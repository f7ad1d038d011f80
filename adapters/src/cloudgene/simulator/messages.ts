/** Step and message bookkeeping with the literal HTML of Cloudgene's process templates. */
import { MessageType, type Job, type LogMessage, type MessageTypeCode, type Step } from './types';

export const STEP_NAMES = ['Input Validation', 'Quality Control', 'Phasing and Imputation', 'Summary'] as const;
export const VALIDATION = 0;
export const QC = 1;
export const IMPUTATION = 2;
export const SUMMARY = 3;

export function createSteps(): Step[] {
  return STEP_NAMES.map((name, i) => ({ id: i + 1, name, logMessages: [] }));
}

export function addMessage(job: Job, step: number, type: MessageTypeCode, message: string, time: number): LogMessage {
  const msg: LogMessage = { message, type, time };
  job.steps[step]?.logMessages.push(msg);
  return msg;
}

export function removeMessage(job: Job, msg: LogMessage): void {
  for (const s of job.steps) {
    const i = s.logMessages.indexOf(msg);
    if (i >= 0) s.logMessages.splice(i, 1);
  }
}

/** Running-status messages vanish when a job stops, as the status template renders blank then. */
export function dropRunningMessages(job: Job): void {
  for (const s of job.steps) s.logMessages = s.logMessages.filter((m) => m.type !== MessageType.RUNNING);
}

/** CG3 `templates/progressbar.html`. */
export function progressBar(label: string, done: number, total: number): string {
  const pct = total === 0 ? 100 : (100 * done) / total;
  return (
    `<b>${label} (${done}/${total})</b><br><div class="progress" style="width: 100%; margin-top: 15px;">` +
    `\t<div class="progress-bar bg-success" style="width: ${pct.toFixed(1)}%;"></div>` +
    `\t<div class="progress-bar bg-primary" style="width: 0.0%;"></div>` +
    `\t<div class="progress-bar bg-light" style="width: ${(100 - pct).toFixed(1)}%;"></div></div>`
  );
}

export function failJobMessages(job: Job, time: number): void {
  addMessage(job, SUMMARY, MessageType.ERROR, 'Pipeline execution failed.', time);
  addMessage(job, SUMMARY, MessageType.ERROR, 'Imputation job failed.', time);
}

export function cancelJobMessages(job: Job, time: number): void {
  addMessage(job, SUMMARY, MessageType.ERROR, 'Pipeline execution canceled.', time);
  addMessage(job, SUMMARY, MessageType.ERROR, 'Imputation job canceled.', time);
}
