/**
 * What the DRS suites read: two runs of the demo client `demo-cli` that completed on the fast
 * simulator, so every input and result of theirs is a DRS object, and the callers to read them.
 *
 * - the **private** run (no dataset): readable by its owner `demo-cli` (and administrators);
 *   anyone else gets 404, exactly as for an object that does not exist;
 * - the **dataset** run, tagged `{"dataset": "demo"}`, a dataset the demo policy announces:
 *   readable by its owner and by `alice` (ControlledAccessGrants for `demo`), 403 for `bob`
 *   (no visas) and `demo-cli-2`.
 *
 * The object ids come from the RunLog as any WES client sees it: `outputs.drs_uri` (the run
 * bundle), `outputs.files[].drs_uri` (result files), `outputs.files[].extracted[]` (files opened
 * out of each `chr_N.zip`) and `outputs.inputs[]`.
 */
import { FAST_BACKEND, type ConformanceBroker } from './launcher';
import { call } from './http';
import { demoFile, runIdOf, submitRun, TERMINAL, waitForState } from './wes-client';

export const RUN_PARAMS = { refpanel: 'hapmap-2', population: 'eur', build: 'hg19' };

interface OutputEntry {
  name: string;
  size: number;
  sha256: string;
  url: string;
  drs_uri: string;
  extracted?: OutputEntry[];
}
interface Outputs {
  drs_uri: string;
  files: OutputEntry[];
  inputs: { name: string; size: number; sha256: string; drs_uri: string }[];
}

export interface DrsObjectRef {
  id: string;
  name: string;
  size: number;
  sha256: string;
  /** The content route (`GET /api/v1/objects/{id}/content`, bearer token); absent for inputs and bundles. */
  url?: string;
}

export interface DrsRun {
  runId: string;
  /** The run bundle (`outputs.drs_uri`). */
  bundle: string;
  /** Result files (`outputs.files`), zips included. */
  files: DrsObjectRef[];
  /** Files opened out of the result zips (`outputs.files[].extracted`). */
  extracted: DrsObjectRef[];
  inputs: DrsObjectRef[];
  /** Every blob of the run: inputs, results, extracted files. */
  blobs(): DrsObjectRef[];
}

export interface DrsFixture {
  tb: ConformanceBroker;
  /** `${url}/ga4gh/drs/v1`. */
  drs: string;
  tokens: {
    /** `demo-cli`, who owns both runs. */
    owner: string;
    /** `demo-cli-2`, another client. */
    other: string;
    alice: string;
    bob: string;
  };
  passports: { alice: string; bob: string };
  privateRun: DrsRun;
  datasetRun: DrsRun;
}

/** The last segment of a hostname-based `drs://host/id` URI. */
export const idOf = (drsUri: string): string => {
  const m = /^drs:\/\/[^/]+\/([^/]+)$/.exec(drsUri);
  if (!m) throw new Error(`not a hostname-based drs:// URI: ${drsUri}`);
  return m[1]!;
};

function runOf(runId: string, outputs: Outputs): DrsRun {
  const ref = (e: { drs_uri: string; name: string; size: number; sha256: string; url?: string }): DrsObjectRef => ({
    id: idOf(e.drs_uri),
    name: e.name,
    size: e.size,
    sha256: e.sha256,
    ...(e.url ? { url: e.url } : {}),
  });
  const files = outputs.files.map(ref);
  const extracted = outputs.files.flatMap((f) => (f.extracted ?? []).map(ref));
  const inputs = outputs.inputs.map(ref);
  return { runId, bundle: idOf(outputs.drs_uri), files, extracted, inputs, blobs: () => [...inputs, ...files, ...extracted] };
}

async function completedRun(tb: ConformanceBroker, token: string, tags: Record<string, string>): Promise<DrsRun> {
  const res = await submitRun(tb.wesUrl, token, {
    files: [demoFile('hg19', 20)],
    params: { ...RUN_PARAMS, backend: FAST_BACKEND },
    fields: { tags: JSON.stringify(tags) },
  });
  if (res.status !== 200) throw new Error(`POST /runs failed: ${res.status} ${await res.text()}`);
  const runId = runIdOf(await res.json());
  const state = await waitForState(tb.wesUrl, token, runId, (s) => TERMINAL.has(s), 90_000);
  if (state !== 'COMPLETE') throw new Error(`run ${runId} ended ${state}, not COMPLETE`);
  const log = await call(`${tb.wesUrl}/runs/${runId}`, token);
  const outputs = (log.body as { outputs?: Outputs }).outputs;
  if (!outputs?.drs_uri || !Array.isArray(outputs.files) || !Array.isArray(outputs.inputs)) {
    throw new Error(`run ${runId} names no DRS objects in its outputs: ${JSON.stringify(outputs).slice(0, 500)}`);
  }
  return runOf(runId, outputs);
}

/** Two COMPLETE runs (private, dataset `demo`) and the tokens and Passports of every caller. */
export async function prepareDrsFixture(tb: ConformanceBroker): Promise<DrsFixture> {
  const [owner, other, alice, bob] = await Promise.all([tb.token('demo-cli'), tb.token('demo-cli-2'), tb.userToken('alice'), tb.userToken('bob')]);
  const [privateRun, datasetRun, alicePassport, bobPassport] = await Promise.all([
    completedRun(tb, owner, { suite: 'drs-conformance' }),
    completedRun(tb, owner, { suite: 'drs-conformance', dataset: 'demo' }),
    tb.passport('alice'),
    tb.passport('bob'),
  ]);
  return {
    tb,
    drs: tb.drsUrl,
    tokens: { owner, other, alice, bob },
    passports: { alice: alicePassport, bob: bobPassport },
    privateRun,
    datasetRun,
  };
}
