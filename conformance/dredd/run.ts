/**
 * `npm run -w conformance dredd`: starts a broker (launcher.ts: embedded PostgreSQL or
 * TEST_DATABASE_URL, dev OIDC, two Cloudgene simulators), creates one real COMPLETE run, runs
 * Dredd 14 on api-spec/wes.yaml with hooks.cjs, prints the skipped transactions with their
 * reasons, stops everything and exits with Dredd's exit code (or 1 when the hooks did not run).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { FAST_BACKEND, SLOW_BACKEND, startConformanceBroker } from '../src/launcher';
import { call, demoFile, runIdOf, submitRun, TERMINAL, waitForState } from '../src/wes-client';

interface HookReport {
  loaded: boolean;
  executed: { name: string; request: string; status: number | null; result: string | null }[];
  skipped: { name: string; reason: string }[];
  failedInHooks: { name: string; reason: string }[];
  unusedSkips: string[];
  createdRunId: string | null;
}

const REPO = resolve(import.meta.dirname, '../..');
const SPEC = join(REPO, 'api-spec/wes.yaml');
const HOOKS = join(import.meta.dirname, 'hooks.cjs');
const DREDD_BIN = join(dirname(createRequire(import.meta.url).resolve('dredd/package.json')), 'bin/dredd');
/** Operations of wes.yaml: each must run its 200 transaction. */
const EXPECTED_EXECUTED = 8;
const RUN_PARAMS = { refpanel: 'hapmap-2', population: 'eur', build: 'hg19' };

function runDredd(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [DREDD_BIN, ...args], { cwd: REPO, env, stdio: 'inherit' });
    child.once('error', rej);
    child.once('exit', (code, signal) => res(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const started = Date.now();
  console.log('Starting a broker (PostgreSQL, dev OIDC, Cloudgene simulators)...');
  const tb = await startConformanceBroker();
  const work = mkdtempSync(join(tmpdir(), 'ibroker-dredd-'));
  try {
    const token = await tb.token();
    const upload = demoFile('hg19', 20);

    // One real run that finishes, so the reads have a real run_id and task_id.
    const res = await submitRun(tb.wesUrl, token, {
      files: [upload],
      params: { ...RUN_PARAMS, backend: FAST_BACKEND },
      fields: { tags: JSON.stringify({ suite: 'dredd-setup' }) },
    });
    if (res.status !== 200) throw new Error(`POST /runs failed: ${res.status} ${await res.text()}`);
    const runId = runIdOf(await res.json());
    const state = await waitForState(tb.wesUrl, token, runId, (s) => TERMINAL.has(s), 90_000);
    if (state !== 'COMPLETE') throw new Error(`the setup run ended ${state}, not COMPLETE`);
    const tasks = await call(`${tb.wesUrl}/runs/${runId}/tasks`, token);
    const taskId = (tasks.body as { task_logs?: { id?: string }[] }).task_logs?.[0]?.id;
    if (!taskId) throw new Error(`the setup run has no tasks: ${JSON.stringify(tasks.body)}`);
    console.log(`Broker at ${tb.url}; COMPLETE run ${runId}, task ${taskId} (${Date.now() - started} ms)`);

    const reportPath = join(work, 'hooks-report.json');
    const code = await runDredd(
      [SPEC, tb.wesUrl, `--hookfiles=${HOOKS}`, '--language=nodejs', '--loglevel=warning', '--color=false'],
      {
        ...process.env,
        DREDD_WES_TOKEN: token,
        DREDD_WES_RUN_ID: runId,
        DREDD_WES_TASK_ID: taskId,
        DREDD_WES_UPLOAD: upload,
        DREDD_WES_WORKFLOW_URL: `${tb.url}/workflows/imputation`,
        // Dredd's POST /runs goes to the slow backend: that run is still RUNNING when CancelRun comes.
        DREDD_WES_WORKFLOW_PARAMS: JSON.stringify({ ...RUN_PARAMS, backend: SLOW_BACKEND }),
        DREDD_WES_REPORT: reportPath,
      },
    );

    if (!existsSync(reportPath)) {
      console.error(`\nThe hooks did not run (no ${reportPath}): Dredd skips a hook file it cannot load with only a warning.`);
      return 1;
    }
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as HookReport;
    console.log(`\nSkipped by the hooks (${report.skipped.length}), each covered elsewhere or impossible to provoke:`);
    for (const s of report.skipped) console.log(`  - ${s.name}\n      ${s.reason}`);
    console.log(`\nExecuted (${report.executed.length}):`);
    for (const e of report.executed) console.log(`  - ${e.request} → ${e.status ?? 'no response'} (${e.result ?? '?'})`);

    const problems: string[] = [];
    if (report.executed.length !== EXPECTED_EXECUTED) problems.push(`expected ${EXPECTED_EXECUTED} executed transactions, got ${report.executed.length}`);
    for (const f of report.failedInHooks) problems.push(`${f.name}: ${f.reason}`);
    for (const u of report.unusedSkips) problems.push(`skip reason for a transaction Dredd no longer generates: ${u}`);
    if (problems.length) {
      console.error(`\nConformance runner problems:\n  - ${problems.join('\n  - ')}`);
      return code || 1;
    }
    console.log(`\nDredd exit code ${code} (${Date.now() - started} ms in all)`);
    return code;
  } finally {
    rmSync(work, { recursive: true, force: true });
    await tb.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
