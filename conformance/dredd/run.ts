/**
 * `npm run -w conformance dredd [-- wes|drs]`: starts a broker (launcher.ts: embedded PostgreSQL
 * or TEST_DATABASE_URL, dev OIDC, two Cloudgene simulators), completes two real runs (a private
 * one, and one tagged with the dataset `demo`: drs-fixture.ts), then runs Dredd 14 on
 * api-spec/wes.yaml with wes-hooks.cjs and on api-spec/drs.yaml with drs-hooks.cjs (both by
 * default, or the one named), prints the skipped transactions with their reasons and the executed
 * ones, stops everything and exits non-zero if any suite failed.
 *
 * A suite fails when Dredd fails, when its hooks did not run (Dredd only warns about a hook file
 * it cannot load), when a non-2xx transaction has no stated skip reason, when a skip reason names
 * a transaction Dredd no longer generates, or when not exactly its success transactions ran.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { prepareDrsFixture, RUN_PARAMS, type DrsFixture } from '../src/drs-fixture';
import { call } from '../src/http';
import { SLOW_BACKEND, startConformanceBroker, type ConformanceBroker } from '../src/launcher';
import { demoFile } from '../src/wes-client';

interface HookReport {
  loaded: boolean;
  executed: { name: string; request: string; status: number | null; result: string | null }[];
  skipped: { name: string; reason: string }[];
  failedInHooks: { name: string; reason: string }[];
  unusedSkips: string[];
}

interface Suite {
  name: 'wes' | 'drs';
  spec: string;
  hooks: string;
  /** Operations of the document: each must run its 200 transaction, and nothing else may run. */
  expectedExecuted: number;
  endpoint(tb: ConformanceBroker): string;
  env(tb: ConformanceBroker, f: DrsFixture): Promise<Record<string, string>>;
}

const REPO = resolve(import.meta.dirname, '../..');
const DREDD_BIN = join(dirname(createRequire(import.meta.url).resolve('dredd/package.json')), 'bin/dredd');

const SUITES: Suite[] = [
  {
    name: 'wes',
    spec: join(REPO, 'api-spec/wes.yaml'),
    hooks: join(import.meta.dirname, 'wes-hooks.cjs'),
    expectedExecuted: 8,
    endpoint: (tb) => tb.wesUrl,
    async env(tb, f) {
      // The private run: COMPLETE, owned by demo-cli, with tasks.
      const runId = f.privateRun.runId;
      const tasks = await call(`${tb.wesUrl}/runs/${runId}/tasks`, f.tokens.owner);
      const taskId = (tasks.body as { task_logs?: { id?: string }[] }).task_logs?.[0]?.id;
      if (!taskId) throw new Error(`the setup run has no tasks: ${JSON.stringify(tasks.body)}`);
      return {
        DREDD_WES_TOKEN: f.tokens.owner,
        DREDD_WES_RUN_ID: runId,
        DREDD_WES_TASK_ID: taskId,
        DREDD_WES_UPLOAD: demoFile('hg19', 20),
        DREDD_WES_WORKFLOW_URL: `${tb.url}/workflows/imputation`,
        // Dredd's POST /runs goes to the slow backend: that run is still RUNNING when CancelRun comes.
        DREDD_WES_WORKFLOW_PARAMS: JSON.stringify({ ...RUN_PARAMS, backend: SLOW_BACKEND }),
      };
    },
  },
  {
    name: 'drs',
    spec: join(REPO, 'api-spec/drs.yaml'),
    hooks: join(import.meta.dirname, 'drs-hooks.cjs'),
    expectedExecuted: 9,
    endpoint: (tb) => tb.drsUrl,
    async env(tb, f) {
      // alice reads the dataset run (a grant for `demo`): by bearer token on GET, by Passport on POST.
      const blob = f.datasetRun.files.find((x) => x.name === 'chr_20.zip') ?? f.datasetRun.files[0]!;
      const object = await call(`${tb.drsUrl}/objects/${blob.id}`, f.tokens.alice);
      const methods = (object.body as { access_methods?: { access_id?: string }[] }).access_methods ?? [];
      const accessId = methods.find((m) => m.access_id)?.access_id;
      if (!accessId) throw new Error(`object ${blob.id} offers no access_id: ${JSON.stringify(object.body)}`);
      return {
        DREDD_DRS_TOKEN: f.tokens.alice,
        DREDD_DRS_PASSPORT: f.passports.alice,
        DREDD_DRS_BLOB: blob.id,
        DREDD_DRS_BUNDLE: f.datasetRun.bundle,
        DREDD_DRS_ACCESS_ID: accessId,
      };
    },
  },
];

function runDredd(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [DREDD_BIN, ...args], { cwd: REPO, env, stdio: 'inherit' });
    child.once('error', rej);
    child.once('exit', (code, signal) => res(code ?? (signal ? 1 : 0)));
  });
}

async function runSuite(suite: Suite, tb: ConformanceBroker, f: DrsFixture, work: string): Promise<{ ok: boolean; line: string }> {
  const started = Date.now();
  const reportPath = join(work, `${suite.name}-hooks-report.json`);
  const env = { ...process.env, ...(await suite.env(tb, f)), [`DREDD_${suite.name.toUpperCase()}_REPORT`]: reportPath };
  console.log(`\n=== Dredd: ${suite.spec.slice(REPO.length + 1)} against ${suite.endpoint(tb)}`);
  const code = await runDredd([suite.spec, suite.endpoint(tb), `--hookfiles=${suite.hooks}`, '--language=nodejs', '--loglevel=warning', '--color=false'], env);

  if (!existsSync(reportPath)) {
    console.error(`\nThe ${suite.name} hooks did not run (no ${reportPath}): Dredd skips a hook file it cannot load with only a warning.`);
    return { ok: false, line: `${suite.name}: hooks did not run` };
  }
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as HookReport;
  console.log(`\nSkipped by the ${suite.name} hooks (${report.skipped.length}), each covered elsewhere or impossible to provoke:`);
  for (const s of report.skipped) console.log(`  - ${s.name}\n      ${s.reason}`);
  console.log(`\nExecuted (${report.executed.length}):`);
  for (const e of report.executed) console.log(`  - ${e.request} → ${e.status ?? 'no response'} (${e.result ?? '?'})`);

  const problems: string[] = [];
  if (report.executed.length !== suite.expectedExecuted) problems.push(`expected ${suite.expectedExecuted} executed transactions, got ${report.executed.length}`);
  for (const e of report.executed) if (e.result !== 'pass') problems.push(`${e.name}: ${e.result ?? 'no result'}`);
  for (const x of report.failedInHooks) problems.push(`${x.name}: ${x.reason}`);
  for (const u of report.unusedSkips) problems.push(`skip reason for a transaction Dredd no longer generates: ${u}`);
  if (code !== 0) problems.push(`Dredd exit code ${code}`);
  if (problems.length) console.error(`\n${suite.name} conformance runner problems:\n  - ${problems.join('\n  - ')}`);
  const line = `${suite.name}: ${report.executed.length + report.skipped.length} transactions, ${report.executed.length} executed, ${report.skipped.length} skipped, Dredd exit code ${code} (${Date.now() - started} ms)`;
  return { ok: problems.length === 0, line };
}

async function main(): Promise<number> {
  const only = process.argv[2];
  if (only !== undefined && !SUITES.some((s) => s.name === only)) {
    console.error(`usage: dredd/run.ts [${SUITES.map((s) => s.name).join('|')}]`);
    return 2;
  }
  const suites = SUITES.filter((s) => only === undefined || s.name === only);
  const started = Date.now();
  console.log('Starting a broker (PostgreSQL, dev OIDC, Cloudgene simulators)...');
  const tb = await startConformanceBroker();
  const work = mkdtempSync(join(tmpdir(), 'ibroker-dredd-'));
  try {
    const f = await prepareDrsFixture(tb);
    console.log(`Broker at ${tb.url}; COMPLETE runs ${f.privateRun.runId} (private) and ${f.datasetRun.runId} (dataset demo) (${Date.now() - started} ms)`);
    const results = [];
    for (const suite of suites) results.push(await runSuite(suite, tb, f, work));
    console.log(`\n${results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.line}`).join('\n')}\n(${Date.now() - started} ms in all)`);
    return results.every((r) => r.ok) ? 0 : 1;
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
