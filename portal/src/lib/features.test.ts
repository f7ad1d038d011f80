/**
 * The federation features' pure parts: backend status in words, the health chart's bars, run
 * events from the stream, per-file upload messages, the QC figures and r² distributions of a
 * comparison, and r² read from a gzipped info file while it streams.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BACKEND_STATUS, backendStatus, formatLatency, healthBars, historySummary } from './backends';
import { compareFigures, infoChromosome, qcFigures, R2Reader } from './compare';
import { applyEvent, parseRunEvent } from './live';
import { drsObjectId, inputFiles } from './runs';
import { describeUpload, fileKey, uploadError } from './uploads';
import { r2FromStream } from './server/r2';
import { isDrsUri } from './server/submit';

describe('backend status', () => {
  it('has a label and a symbol for every status, never colour alone', () => {
    for (const [status, info] of Object.entries(BACKEND_STATUS)) {
      expect(info.label, status).toMatch(/\w/);
      expect(info.icon, status).not.toBe('');
    }
    expect(backendStatus('slow').label).toBe('Slow');
    expect(backendStatus('deactivated').meaning).toMatch(/administrator enables it/);
    expect(backendStatus('nonsense').label).toBe('Not checked yet');
  });

  it('says response times and the history in words', () => {
    expect(formatLatency(null)).toBe('—');
    expect(formatLatency(42.4)).toBe('42 ms');
    expect(formatLatency(1540)).toBe('1.5 s');
    expect(historySummary({ summary: { checks: 0, ok: 0, uptime: null, mean_latency_ms: null, max_latency_ms: null } })).toBe('No health checks recorded yet.');
    expect(historySummary({ summary: { checks: 4, ok: 3, uptime: 0.75, mean_latency_ms: 120, max_latency_ms: 300 } })).toBe(
      '75.0 % up over the last 4 checks (3 answered); mean response 120 ms, slowest 300 ms.',
    );
  });

  it('draws the oldest probe first, failures full height', () => {
    const bars = healthBars(
      [
        { at: '2026-01-01T00:02:00Z', ok: false, latency_ms: null, detail: 'connection refused' },
        { at: '2026-01-01T00:00:00Z', ok: true, latency_ms: 50, detail: null },
        { at: '2026-01-01T00:01:00Z', ok: true, latency_ms: 100, detail: null },
      ],
      300,
      30,
    );
    expect(bars.map((b) => b.ok)).toEqual([true, true, false]);
    expect(bars.map((b) => Math.round(b.height))).toEqual([15, 30, 30]);
    expect(bars[2]!.title).toContain('failed (connection refused)');
    expect(bars[1]!.x).toBe(100);
  });
});

describe('run events', () => {
  const ev = (over: object) => JSON.stringify({ id: 1, type: 'run.progress', run_id: 'r1', state: 'RUNNING', previous_state: 'RUNNING', progress: 40, terminal: false, backend_id: 'mis2', at: '2026-01-01T00:00:01Z', ...over });

  it('reads run.state and run.progress events and ignores anything else', () => {
    expect(parseRunEvent(ev({}))?.progress).toBe(40);
    expect(parseRunEvent('not json')).toBeNull();
    expect(parseRunEvent(JSON.stringify({ type: 'overflow' }))).toBeNull();
  });

  it('folds events into the live view; an older event never undoes a newer one', () => {
    let live = applyEvent({}, parseRunEvent(ev({ progress: 40, at: '2026-01-01T00:00:02Z' }))!);
    live = applyEvent(live, parseRunEvent(ev({ progress: 20, at: '2026-01-01T00:00:01Z' }))!);
    expect(live.r1).toMatchObject({ progress: 40 });
    live = applyEvent(live, parseRunEvent(ev({ type: 'run.state', state: 'COMPLETE', progress: null, terminal: true, at: '2026-01-01T00:00:03Z' }))!);
    expect(live.r1).toMatchObject({ state: 'COMPLETE', progress: 40 });
  });
});

describe('uploads', () => {
  it('says what the pre-flight read and why an upload was refused', () => {
    expect(
      describeUpload({ id: 'u', drs_uri: 'drs://h/u', name: 'chr20.vcf.gz', size: 1, sha256: '', md5: '', created_at: '', vcf: { samples: 60, chromosomes: ['20'], variants: 1200, phased: true, build: 'hg19' } }),
    ).toBe('Checked: 60 samples, chromosome 20, 1200 variants, phased, build hg19.');
    expect(uploadError(400, JSON.stringify({ msg: 'not BGZF', status_code: 400 }))).toBe('not BGZF');
    expect(uploadError(0, '')).toMatch(/interrupted/);
    expect(uploadError(502, '<html>')).toMatch(/502/);
    expect(fileKey({ name: 'a.vcf.gz', size: 3, lastModified: 7 })).toBe('a.vcf.gz:3:7');
  });

  it('takes only drs:// URIs as inputs of a run submitted by reference', () => {
    expect(isDrsUri('drs://localhost:8080/5b0e8f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b')).toBe(true);
    expect(isDrsUri('https://evil.example/x')).toBe(false);
    expect(drsObjectId('drs://localhost:8080/abc-1')).toBe('abc-1');
    expect(drsObjectId('drs://localhost:8080/')).toBeNull();
    expect(inputFiles({ outputs: { inputs: [{ name: 'chr20.vcf.gz', size: 1, sha256: 'x', drs_uri: 'drs://h/1' }, { name: 'bad' }] } } as never)).toHaveLength(1);
  });
});

describe('comparing runs', () => {
  it('reads the QC report figures and lines them up', () => {
    const a = qcFigures('::group type=message::\n<b>Statistics:</b>\nReference Overlap: 98.50 %\nMatch: 12,345\nSNPs call rate < 90%: 3\n::endgroup::\n::warning:: Skip allele frequency check.\n');
    expect(a.get('Reference Overlap (%)')).toBe(98.5);
    expect(a.get('Match')).toBe(12345);
    expect(a.get('SNPs call rate < 90%')).toBe(3);
    const b = qcFigures('Match: 12,000\nStrand flip: 2\n');
    expect(compareFigures(a, b)).toContainEqual({ label: 'Match', a: 12345, b: 12000 });
    expect(compareFigures(a, b)).toContainEqual({ label: 'Strand flip', a: null, b: 2 });
  });

  it('bins r² from a Minimac info table and from VCF INFO R2', () => {
    const table = new R2Reader('20');
    for (const l of ['SNP\tREF(0)\tALT(1)\tALT_Frq\tMAF\tAvgCall\tRsq\tGenotyped', '20:1\tA\tG\t0.1\t0.1\t0.99\t0.95\tImputed', '20:2\tA\tG\t0.1\t0.1\t0.99\t0.05\tImputed', '20:3\tA\tG\t0.1\t0.1\t0.99\t1.00000\tGenotyped']) table.line(l);
    const h = table.finish();
    expect(h.count).toBe(3);
    expect(h.bins[9]).toBe(2);
    expect(h.bins[0]).toBe(1);
    expect(h.mean).toBeCloseTo(2 / 3, 5);
    expect(h.aboveThreshold).toBeCloseTo(2 / 3, 5);

    const vcf = new R2Reader('21');
    vcf.line('##fileformat=VCFv4.2');
    vcf.line('#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO');
    vcf.line('21\t5\t.\tA\tC\t.\tPASS\tAF=0.1;MAF=0.1;R2=0.42;IMPUTED');
    expect(vcf.finish().bins[4]).toBe(1);
    expect(infoChromosome('chr20.info.gz')).toBe('20');
    expect(infoChromosome('out/chr_X.info.gz')).toBe('X');
    expect(infoChromosome('chr20.dose.vcf.gz')).toBeNull();
  });

  it('reads r² from a gzipped stream, stopping at the line limit', async () => {
    const lines = ['SNP\tREF(0)\tALT(1)\tALT_Frq\tMAF\tAvgCall\tRsq'];
    for (let i = 0; i < 1000; i++) lines.push(`22:${i}\tA\tG\t0.1\t0.1\t0.9\t${(i % 10) / 10 + 0.05}`);
    const gz = gzipSync(lines.join('\n') + '\n');
    const whole = await r2FromStream('22', Readable.from([gz.subarray(0, 100), gz.subarray(100)]));
    expect(whole.count).toBe(1000);
    expect(whole.bins).toEqual(new Array(10).fill(100));
    expect(whole.truncated).toBe(false);
    const part = await r2FromStream('22', Readable.from([gz]), 101);
    expect(part.count).toBe(100);
    expect(part.truncated).toBe(true);
    await expect(r2FromStream('22', Readable.from([Buffer.from('not gzip at all')]))).rejects.toThrow();
  });
});
