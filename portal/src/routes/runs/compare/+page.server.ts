import type { Api } from '$lib/server/broker';
import { api } from '$lib/server/broker';
import { requireLogin } from '$lib/server/guard';
import { getRun, listRuns } from '$lib/server/runs';
import { r2OfFile } from '$lib/server/r2';
import { compareFigures, infoChromosome, qcFigures } from '$lib/compare';
import { backendOf, inputFiles, outputFiles, sameOriginPath, type OutputFile, type RunLog } from '$lib/runs';
import type { PageServerLoad } from './$types';

/** Chromosomes whose r² is read per run (each file streamed and gunzipped on the server). */
const MAX_CHROMOSOMES = 25;

async function qcText(client: Api, files: OutputFile[]): Promise<string> {
  const file = files.find((f) => /(^|\/)qc_report\.txt$/.test(f.name));
  if (!file) return '';
  const res = await fetch(`${client.base}${sameOriginPath(file.url)}`, { headers: { ...client.headers, accept: 'text/plain', range: 'bytes=0-262143' } });
  return res.ok ? res.text() : '';
}

/** Every `chrN.info.gz` among the results, top level or opened out of a zip. */
function infoFiles(files: OutputFile[]): { chromosome: string; url: string }[] {
  const all = files.flatMap((f) => [f, ...(f.extracted ?? [])]);
  const seen = new Map<string, string>();
  for (const f of all) {
    const chr = infoChromosome(f.name);
    if (chr && !seen.has(chr)) seen.set(chr, f.url);
  }
  return [...seen.entries()].map(([chromosome, url]) => ({ chromosome, url })).slice(0, MAX_CHROMOSOMES);
}

async function side(client: Api, run: RunLog) {
  const files = outputFiles(run);
  const [qc, r2] = await Promise.all([qcText(client, files), Promise.all(infoFiles(files).map((f) => r2OfFile(client, f.chromosome, f.url)))]);
  const params = (run.request?.workflow_params ?? {}) as Record<string, unknown>;
  return {
    run_id: run.run_id ?? '',
    state: run.state,
    backend: backendOf(run),
    refpanel: String(params.refpanel ?? '—'),
    start: run.run_log?.start_time ?? null,
    end: run.run_log?.end_time ?? null,
    inputs: inputFiles(run).map((f) => f.sha256).sort(),
    qc: qcFigures(qc),
    r2,
  };
}

export const load: PageServerLoad = async (event) => {
  requireLogin(event);
  const client = api(event);
  const a = event.url.searchParams.get('a') ?? '';
  const b = event.url.searchParams.get('b') ?? '';
  // The runs to choose from: the newest finished ones.
  const { runs } = await listRuns(client, event.url, 1);
  const choices = runs.filter((r) => r.state === 'COMPLETE').slice(0, 200).map((r) => r.run_id);
  if (!a || !b) return { choices, a, b, comparison: null };
  const [runA, runB] = await Promise.all([getRun(client, a, event.url), getRun(client, b, event.url)]);
  const [sa, sb] = await Promise.all([side(client, runA), side(client, runB)]);
  const sameInputs = sa.inputs.length > 0 && sa.inputs.join() === sb.inputs.join();
  const chromosomes = [...new Set([...sa.r2, ...sb.r2].map((h) => h.chromosome))].sort((x, y) => (Number(x) || 99) - (Number(y) || 99) || x.localeCompare(y));
  const { qc: qa, r2: ra, inputs: _ia, ...restA } = sa;
  const { qc: qb, r2: rb, inputs: _ib, ...restB } = sb;
  return {
    choices,
    a,
    b,
    comparison: {
      a: restA,
      b: restB,
      sameInputs,
      qc: compareFigures(qa, qb),
      r2: chromosomes.map((chromosome) => ({ chromosome, a: ra.find((h) => h.chromosome === chromosome) ?? null, b: rb.find((h) => h.chromosome === chromosome) ?? null })),
    },
  };
};
