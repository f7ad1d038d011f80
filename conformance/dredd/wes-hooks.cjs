/**
 * Dredd 14 hooks for api-spec/wes.yaml against a live broker (started by dredd/run.ts, which
 * passes everything through DREDD_WES_* environment variables; the run is the private run of
 * src/drs-fixture.ts, COMPLETE on the fast backend).
 *
 * CommonJS on purpose: Dredd loads Node.js hook files with `proxyquire` (a `require`), which
 * cannot load ES modules, and this package is `"type": "module"`, hence `.cjs`. A hook file that
 * fails to load is only a warning for Dredd (it then runs without hooks), so these hooks write a
 * report that run.ts requires to exist.
 *
 * What the hooks do:
 * - add `Authorization: Bearer <token>` to every transaction;
 * - build the multipart/form-data body of POST /runs (Dredd sends none: an empty body and a
 *   Content-Type without boundary), with a demo VCF as `workflow_attachment`;
 * - replace the example `run_id` / `task_id` with real ones: a COMPLETE run for the reads, the
 *   run created by Dredd's own POST /runs (still RUNNING) for CancelRun;
 * - repair the URLs of ListRuns / ListTasks: Dredd 14 expands their query parameters
 *   (`style: form`, unsupported by its OpenAPI 3 parser) into a bare `=` (`/runs=`), so the
 *   paths are rebuilt as `/runs?page_size=<example>`;
 * - drop the keys of free-form maps (`additionalProperties` objects such as
 *   `system_state_counts`, `tags`, `workflow_params`, `outputs`) from the expected example body:
 *   Gavel requires every key of the example to be present, but in those maps the keys are data
 *   (the states that have runs, the parameters a client sent), not schema; likewise the two
 *   optional `Log` keys this broker never sends (OPTIONAL_OMITTED);
 * - skip every non-2xx transaction, by name, with the reason (they are covered by the contract
 *   tests in src/wes.contract.test.ts instead); any other non-2xx transaction fails.
 */
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const hooks = require('hooks');

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run Dredd through conformance/dredd/run.ts`);
  return v;
}

const TOKEN = env('DREDD_WES_TOKEN');
const RUN_ID = env('DREDD_WES_RUN_ID');
const TASK_ID = env('DREDD_WES_TASK_ID');
const UPLOAD = env('DREDD_WES_UPLOAD');
const WORKFLOW_URL = env('DREDD_WES_WORKFLOW_URL');
const WORKFLOW_PARAMS = env('DREDD_WES_WORKFLOW_PARAMS');
const REPORT = env('DREDD_WES_REPORT');

/** The path-parameter examples of api-spec/wes.yaml, which Dredd puts into the URLs. */
const EXAMPLE_RUN_ID = '3f2c1a9e-7b4d-4e8a-9c1f-2d5b6a7e8f90';
const EXAMPLE_TASK_ID = 'input-validation';

const R400_INPUT =
  'needs a malformed request, but Dredd sends the one valid request per operation built from the examples; ' +
  'covered by the contract tests (400 block)';
const R401 =
  'needs a request without or with an invalid token, and these hooks add a valid one to every transaction; ' +
  'covered by the contract tests (401 block, with WWW-Authenticate)';
const R403 =
  'the broker never answers 403 on WES: runs of other users are 404 so their ids are not confirmed; ' +
  'that is covered by the contract tests (404 block, other user)';
const R404 =
  'needs an unknown run or task id, but the hooks substitute real ids; covered by the contract tests (404 block)';
const R500 = 'an internal error cannot be provoked from outside without breaking the broker; no input makes a 5xx (DESIGN.md invariant 8)';

/** Every non-2xx transaction of api-spec/wes.yaml, by its Dredd name, with why it is skipped. */
const SKIPS = {
  '/service-info > GetServiceInfo > 400 > application/json': 'service-info takes no input, so nothing can be malformed',
  '/service-info > GetServiceInfo > 401 > application/json': 'service-info needs no token; an invalid token is covered by the contract tests of the other operations',
  '/service-info > GetServiceInfo > 403 > application/json': 'service-info is open to everyone; the broker has nothing to forbid here',
  '/service-info > GetServiceInfo > 500 > application/json': R500,

  '/runs > ListRuns > 400 > application/json': `${R400_INPUT} (page_size 0/-1/abc/1.5, unknown page_token)`,
  '/runs > ListRuns > 401 > application/json': R401,
  '/runs > ListRuns > 403 > application/json': 'listing is never forbidden: the list is filtered to the caller’s own runs (contract tests: another user sees none)',
  '/runs > ListRuns > 500 > application/json': R500,

  '/runs > RunWorkflow > 400 > application/json': `${R400_INPUT} (unsupported workflow_type, workflow_params not JSON, not multipart)`,
  '/runs > RunWorkflow > 401 > application/json': R401,
  '/runs > RunWorkflow > 403 > application/json': 'the demo clients may submit; a Passport policy refusal is tested with the broker’s auth tests, not here',
  '/runs > RunWorkflow > 500 > application/json': R500,

  '/runs/{run_id} > GetRunLog > 401 > application/json': R401,
  '/runs/{run_id} > GetRunLog > 403 > application/json': R403,
  '/runs/{run_id} > GetRunLog > 404 > application/json': R404,
  '/runs/{run_id} > GetRunLog > 500 > application/json': R500,

  '/runs/{run_id}/status > GetRunStatus > 401 > application/json': R401,
  '/runs/{run_id}/status > GetRunStatus > 403 > application/json': R403,
  '/runs/{run_id}/status > GetRunStatus > 404 > application/json': R404,
  '/runs/{run_id}/status > GetRunStatus > 500 > application/json': R500,

  '/runs/{run_id}/tasks > ListTasks > 401 > application/json': R401,
  '/runs/{run_id}/tasks > ListTasks > 403 > application/json': R403,
  '/runs/{run_id}/tasks > ListTasks > 404 > application/json': R404,
  '/runs/{run_id}/tasks > ListTasks > 500 > application/json': R500,

  '/runs/{run_id}/tasks/{task_id} > GetTask > 401 > application/json': R401,
  '/runs/{run_id}/tasks/{task_id} > GetTask > 403 > application/json': R403,
  '/runs/{run_id}/tasks/{task_id} > GetTask > 404 > application/json': `${R404} (unknown task of an existing run too)`,
  '/runs/{run_id}/tasks/{task_id} > GetTask > 500 > application/json': R500,

  '/runs/{run_id}/cancel > CancelRun > 401 > application/json': R401,
  '/runs/{run_id}/cancel > CancelRun > 403 > application/json': R403,
  '/runs/{run_id}/cancel > CancelRun > 404 > application/json': `${R404} (and another user’s run, which must stay uncanceled)`,
  '/runs/{run_id}/cancel > CancelRun > 500 > application/json': R500,
};

const report = { loaded: true, executed: [], skipped: [], failedInHooks: [], unusedSkips: [] };
const seen = new Set();
/** run_id returned by Dredd's own POST /runs: a run on the slow backend, still cancelable. */
let createdRunId = null;

function multipartBody() {
  const boundary = `----dredd-wes-${crypto.randomBytes(12).toString('hex')}`;
  const parts = [];
  const field = (name, value) =>
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`, 'utf8'));
  field('workflow_type', 'NFL');
  field('workflow_type_version', 'DSL2');
  field('workflow_url', WORKFLOW_URL);
  field('workflow_params', WORKFLOW_PARAMS);
  field('tags', JSON.stringify({ suite: 'dredd' }));
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="workflow_attachment"; filename="${path.basename(UPLOAD)}"\r\n` +
        'Content-Type: application/gzip\r\n\r\n',
      'utf8',
    ),
    fs.readFileSync(UPLOAD),
    Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'),
  );
  return { boundary, body: Buffer.concat(parts) };
}

function setHeader(transaction, name, value) {
  for (const k of Object.keys(transaction.request.headers)) {
    if (k.toLowerCase() === name.toLowerCase()) delete transaction.request.headers[k];
  }
  transaction.request.headers[name] = value;
}

/** Paths (in the example body) of objects whose keys are data, from `additionalProperties` or free-form objects of WES 1.1. */
const FREE_FORM_MAPS = [
  ['workflow_type_versions'],
  ['workflow_engine_versions'],
  ['system_state_counts'],
  ['tags'],
  ['request', 'workflow_params'],
  ['request', 'tags'],
  ['request', 'workflow_engine_parameters'],
  ['outputs'],
];

/**
 * Optional keys (no `required` in the schema) that the example shows and the broker omits:
 * Cloudgene exposes no stdout/stderr URL per run, so `Log.stdout` / `Log.stderr` are left out.
 * Gavel would require them because they are in the example.
 */
const OPTIONAL_OMITTED = [
  ['run_log', 'stdout'],
  ['run_log', 'stderr'],
];

function pruneExample(transaction) {
  if (!transaction.expected.body) return;
  let example;
  try {
    example = JSON.parse(transaction.expected.body);
  } catch {
    return;
  }
  const visit = (node) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const keys of FREE_FORM_MAPS) {
      let parent = node;
      for (const k of keys.slice(0, -1)) parent = parent && typeof parent === 'object' ? parent[k] : undefined;
      const last = keys[keys.length - 1];
      if (parent && typeof parent === 'object' && parent[last] && typeof parent[last] === 'object' && !Array.isArray(parent[last])) {
        parent[last] = {};
      }
    }
    for (const keys of OPTIONAL_OMITTED) {
      let parent = node;
      for (const k of keys.slice(0, -1)) parent = parent && typeof parent === 'object' ? parent[k] : undefined;
      if (parent && typeof parent === 'object') delete parent[keys[keys.length - 1]];
    }
    // RunSummary items of ListRuns carry tags too.
    if (Array.isArray(node.runs)) node.runs.forEach(visit);
  };
  visit(example);
  transaction.expected.body = JSON.stringify(example);
}

/** Dredd turns `/runs{?page_size,page_token}` into `/runs=`; rebuild the query it meant to send. */
const PAGED = new Set(['/runs > ListRuns > 200 > application/json', '/runs/{run_id}/tasks > ListTasks > 200 > application/json']);
const EXAMPLE_PAGE_SIZE = 20;

function statusOf(transaction) {
  return Number.parseInt(String(transaction.expected.statusCode), 10);
}

hooks.beforeEach((transaction) => {
  seen.add(transaction.name);
  const status = statusOf(transaction);
  if (status < 200 || status > 299) {
    const reason = SKIPS[transaction.name];
    if (reason) {
      transaction.skip = true;
      report.skipped.push({ name: transaction.name, reason });
    } else {
      transaction.fail = `non-2xx transaction without a stated skip reason: add it to SKIPS in ${path.basename(__filename)}`;
      report.failedInHooks.push({ name: transaction.name, reason: transaction.fail });
    }
    return;
  }
  setHeader(transaction, 'Authorization', `Bearer ${TOKEN}`);
  transaction.fullPath = transaction.fullPath
    .split(EXAMPLE_RUN_ID)
    .join(RUN_ID)
    .replace(`/tasks/${EXAMPLE_TASK_ID}`, `/tasks/${encodeURIComponent(TASK_ID)}`);
  if (PAGED.has(transaction.name)) {
    transaction.fullPath = `${transaction.fullPath.split('?')[0].replace(/=$/, '')}?page_size=${EXAMPLE_PAGE_SIZE}`;
  }
  pruneExample(transaction);
});

hooks.before('/runs > RunWorkflow > 200 > application/json', (transaction) => {
  const { boundary, body } = multipartBody();
  setHeader(transaction, 'Content-Type', `multipart/form-data; boundary=${boundary}`);
  // Binary (a bgzipped VCF): Dredd decodes base64 bodies to bytes before sending.
  transaction.request.body = body.toString('base64');
  transaction.request.bodyEncoding = 'base64';
});

hooks.after('/runs > RunWorkflow > 200 > application/json', (transaction) => {
  try {
    const parsed = JSON.parse(transaction.real.body);
    if (typeof parsed.run_id === 'string') createdRunId = parsed.run_id;
  } catch {
    // Dredd reports the failed transaction itself.
  }
});

hooks.before('/runs/{run_id}/cancel > CancelRun > 200 > application/json', (transaction) => {
  if (!createdRunId) {
    transaction.fail = 'POST /runs returned no run_id, so there is no active run to cancel';
    report.failedInHooks.push({ name: transaction.name, reason: transaction.fail });
    return;
  }
  // A COMPLETE run cannot be canceled: cancel the one Dredd submitted, which is still running.
  transaction.fullPath = transaction.fullPath.split(RUN_ID).join(createdRunId);
});

hooks.afterEach((transaction) => {
  if (transaction.skip) return;
  report.executed.push({
    name: transaction.name,
    request: `${transaction.request.method} ${transaction.fullPath}`,
    status: transaction.real ? transaction.real.statusCode : null,
    result: transaction.test ? transaction.test.status : null,
  });
});

hooks.afterAll((transactions, done) => {
  report.unusedSkips = Object.keys(SKIPS).filter((name) => !seen.has(name));
  report.createdRunId = createdRunId;
  fs.writeFileSync(REPORT, JSON.stringify(report, null, 2));
  done();
});
