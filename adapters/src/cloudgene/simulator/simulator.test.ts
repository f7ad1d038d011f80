import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { BlobReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import { cohort, DEFAULT_FIELDS, getJson, startHarness, submit, waitForState, finished, type Harness } from './test-helpers';

interface FileEntry { name: string; hash: string; count: number; size: string; path: string }
interface MessageEntry { message: string; type: number; success: boolean; time: number }
interface StepEntry { name: string; empty: boolean; logMessages: MessageEntry[] }

describe('happy path', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('runs a job through 1→2→3→4 with real results', async () => {
    const files = await cohort(h.dir, { chromosomes: ['20', '21'] });
    const res = await submit(h, h.token, { ...DEFAULT_FIELDS, 'job-name': 'run-<1>' }, files);
    expect(res.status).toBe(200);
    const submitted = (await res.json()) as { id: string; success: boolean; message: string };
    expect(submitted.success).toBe(true);
    expect(submitted.message).toBe('Your job was successfully added to the job queue.');
    expect(submitted.id).toMatch(/^job-\d{8}-\d{6}-\d{3}$/);

    const job = await waitForState(h, h.token, submitted.id, finished);
    expect(job.state).toBe(4);
    expect(job.name).toBe('run-&lt;1&gt;');
    expect(job.application).toBe('Genotype Imputation 2.0.12');
    expect(job.applicationId).toBe('imputationserver2');
    expect(Object.keys(job)).toEqual([
      'application', 'applicationId', 'deletedOn', 'id', 'name', 'logs', 'userAgent', 'submittedOn', 'username',
      'currentTime', 'workspaceSize', 'state', 'positionInQueue', 'startTime', 'endTime', 'steps', 'outputParams',
    ]);
    expect(job.positionInQueue).toBe(-1);
    expect(job.workspaceSize).toBeNull();
    const steps = job.steps as StepEntry[];
    expect(steps.map((s) => s.name)).toEqual(['Input Validation', 'Quality Control', 'Phasing and Imputation', 'Summary']);
    const validation = steps[0]?.logMessages[0];
    expect(validation?.type).toBe(0);
    expect(validation?.message).toMatch(/^2 valid VCF file\(s\) found\.\n\nSamples: 25\nChromosomes: 20 21\nSNPs: 600\nChunks: 2\nDatatype: unphased\nBuild: hg19\nReference Panel: hapmap2 \(hg19\)\nPopulation: eur\nPhasing: eagle\nMode: imputation$/);
    const qc = steps[1]?.logMessages ?? [];
    expect(qc.map((m) => m.type)).toEqual([0, 0, 2, 0]);
    expect(qc[1]?.message).toMatch(/^<b>Statistics:<\/b>\nAlternative allele frequency > 0.5 sites: /);
    expect(qc[2]?.message).toMatch(/^Excluded sites in total: \d+\nRemaining sites in total: [\d,]+\nSee snps-excluded.txt for details\nTyped only sites: \d+\nSee typed-only.txt for details$/);
    const imp = steps[2]?.logMessages ?? [];
    expect(imp[0]?.message).toContain('<b>Phasing with Eagle (2/2)</b><br><div class="progress"');
    expect(imp[1]?.message).toContain('<b>Imputation (2/2)</b>');
    const summary = steps[3]?.logMessages ?? [];
    expect(summary[0]?.message).toContain('<b>Compression and Encryption (2/2)</b>');
    expect(summary.at(-1)?.message).toBe('Data have been exported successfully. We encrypted the results with the following password: <b>k7RqM2xT9vBn4</b>');

    const out = (job.outputParams as { name: string; files: FileEntry[]; tree: unknown[] }[])[0];
    expect(out?.name).toBe('output');
    const names = out?.files.map((f) => f.name);
    expect(names).toEqual([
      'chr_20.zip', 'chr_21.zip', 'qc_report.txt', 'quality-control.html',
      'statistics/chunks-excluded.txt', 'statistics/snps-excluded.txt', 'statistics/snps-typed-only.txt',
    ]);
    for (const f of out?.files ?? []) {
      expect(f.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(f.count).toBe(10);
      expect(f.size).toMatch(/^\d+ (bytes|KB|MB|GB)$/);
      expect(f.path).toBe(`${submitted.id}/output/${f.name}`);
    }

    const qcReport = out?.files.find((f) => f.name === 'qc_report.txt') as FileEntry;
    const reportText = await (await fetch(`${h.base}/share/results/${qcReport.hash}/qc_report.txt`)).text();
    expect(reportText).toMatch(/^::log:: Reference Panel Ranges: genome-wide\n::message:: Calculating QC Statistics\n::group type=message::\n<b>Statistics:<\/b>\n/);
    expect(reportText).toContain('\n::endgroup::\n::group type=warning::\nExcluded sites in total: ');

    const zipFile = out?.files.find((f) => f.name === 'chr_20.zip') as FileEntry;
    const zipRes = await fetch(`${h.base}/downloads/${submitted.id}/${zipFile.hash}/chr_20.zip`);
    expect(zipRes.status).toBe(200);
    const reader = new ZipReader(new BlobReader(await zipRes.blob()), { password: 'k7RqM2xT9vBn4' });
    const entries = await reader.getEntries();
    expect(entries.map((e) => e.filename).sort()).toEqual(['chr20.dose.vcf.gz', 'chr20.info.gz']);
    expect(entries.every((e) => e.encrypted)).toBe(true);
    const dose = entries.find((e) => e.filename === 'chr20.dose.vcf.gz');
    if (!dose || dose.directory) throw new Error('no dose');
    const doseBytes = await dose.getData(new Uint8ArrayWriter());
    // BGZF: gzip member with the BC extra subfield.
    expect(doseBytes[3]).toBe(4);
    expect(String.fromCharCode(doseBytes[12] ?? 0, doseBytes[13] ?? 0)).toBe('BC');
    const vcf = gunzipSync(doseBytes).toString();
    const header = vcf.split('\n').find((l) => l.startsWith('#CHROM')) ?? '';
    expect(header.split('\t').length).toBe(9 + 25);
    const body = vcf.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(body.some((l) => l.includes(';IMPUTED'))).toBe(true);
    expect(body.some((l) => l.includes(';TYPED'))).toBe(true);
    expect(body[0]?.split('\t')[8]).toBe('GT:DS:HDS:GP');
    const info = entries.find((e) => e.filename === 'chr20.info.gz');
    if (!info || info.directory) throw new Error('no info');
    const infoText = gunzipSync(await info.getData(new Uint8ArrayWriter())).toString();
    expect(infoText.split('\n')[0]).toBe('SNP\tREF(0)\tALT(1)\tALT_Frq\tMAF\tAvgCall\tRsq\tGenotyped\tLooRsq\tEmpR\tEmpRsq\tDose0\tDose1');
    await reader.close();
  });
});

describe('listing', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ maxRunningJobsPerUser: 100 });
  });
  afterAll(async () => h.close());

  it('pages 15 per page, newest first, empty steps', async () => {
    const empty = await getJson(h, '/api/v2/jobs', h.token);
    expect(empty.body).toEqual({ count: 0, page: 0, pageSize: 0, prev: null, next: null, pages: [], data: [] });
    const ids: string[] = [];
    for (let i = 0; i < 17; i++) {
      const res = await submit(h, h.token, { ...DEFAULT_FIELDS, refpanel: 'apps@nope' }, []);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const page1 = await getJson(h, '/api/v2/jobs?page=1', h.token);
    expect(page1.body.count).toBe(17);
    expect(page1.body.pageSize).toBe(15);
    expect(page1.body.prev).toBeNull();
    expect(page1.body.next).toBe(2);
    expect(page1.body.pages).toEqual([1, 2]);
    const data = page1.body.data as { id: string; steps: unknown[]; outputParams: unknown[] }[];
    expect(data).toHaveLength(15);
    expect(data[0]?.id).toBe(ids[16]);
    expect(data[0]?.steps).toEqual([]);
    expect(data[0]?.outputParams).toEqual([]);
    const page2 = await getJson(h, '/api/v2/jobs?page=2', h.token);
    expect((page2.body.data as unknown[]).length).toBe(2);
    expect(page2.body.prev).toBe(1);
    expect(page2.body.next).toBeNull();
    const all = await getJson(h, '/api/v2/jobs', h.token);
    expect(all.body.page).toBe(1);
    expect(all.body.pageSize).toBe(17);
    const others = await getJson(h, '/api/v2/jobs', h.otherToken);
    expect(others.body.count).toBe(0);
  });
});

describe('qc-only mode', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ profile: 'afrigen' });
  });
  afterAll(async () => h.close());

  it.each(['qc_only', 'qconly', 'qc-only'])('mode %s produces no zips; afrigen adds its QC files', async (mode) => {
    const files = await cohort(h.dir, { build: 'hg38' });
    const res = await submit(h, h.token, { refpanel: 'apps@h3africa-v6hc-s@1.0.0', population: 'afr', build: 'hg38', mode }, files);
    const { id } = (await res.json()) as { id: string };
    const job = await waitForState(h, h.token, id, finished);
    expect(job.state).toBe(4);
    expect(job.application).toBe('Genotype Imputation 2.0.7');
    const names = (job.outputParams as { files: FileEntry[] }[])[0]?.files.map((f) => f.name) ?? [];
    expect(names.some((n) => n.endsWith('.zip'))).toBe(false);
    expect(names).toEqual(expect.arrayContaining(['qc_report.txt', 'qc_output.txt', 'chunks_summary.txt', 'af_summary.txt', 'quality-control.html']));
    const validation = (job.steps as StepEntry[])[0]?.logMessages[0]?.message ?? '';
    expect(validation).toContain('Reference Panel: v6hc-s-b38 (hg38)');
    expect(validation).toContain(`Mode: ${mode}`);
  });
});
