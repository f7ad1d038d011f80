import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOutputs, referenceType } from './outputs';

const FIXTURES = resolve(__dirname, '../../../../shared/backends');
const fixture = (path: string): unknown => JSON.parse(readFileSync(resolve(FIXTURES, path), 'utf8')) as unknown;

describe('RunLog.outputs shapes', () => {
  it.runIf(existsSync(FIXTURES))('WESkit: S3 URLs pair with their node paths; the rest are node paths by reference', () => {
    const run = fixture('wes/examples/weskit-run-log.json') as { outputs: unknown };
    const outputs = parseOutputs(run.outputs);
    expect(outputs).toEqual([
      { name: 'results/chr20.dose.vcf.gz', size: null, ref: 'https://s3.example.org/bucket/results/chr20.dose.vcf.gz?X-Amz-Signature=...' },
      { name: 'results/chr20.info.gz', size: null, ref: 'file:results/chr20.info.gz', reference: { url: 'file:results/chr20.info.gz', type: 'file' } },
    ]);
  });

  it.runIf(existsSync(FIXTURES))('DNAstack: gs:// outputs are registered by reference, never dropped', () => {
    const run = fixture('dnastack/examples/run.json') as { outputs: unknown };
    const outputs = parseOutputs(run.outputs);
    expect(outputs.map((o) => [o.name, o.reference?.type])).toEqual([
      ['chr20.dose.vcf.gz', 'gs'],
      ['chr20.info.gz', 'gs'],
    ]);
    expect(outputs[0]?.reference?.url).toBe('gs://example-bucket/outputs/4f1c6a2e-9b7d-4c3e-8a51-2d6f0e9b7c10/chr20.dose.vcf.gz');
  });

  it("this broker's {files: [...]} keeps names, sizes and checksums", () => {
    const outputs = parseOutputs({
      files: [
        { name: 'chr_20.zip', size: 1234, sha256: 'AB'.repeat(32), md5: 'cd'.repeat(16), mime_type: 'application/zip', url: 'https://b.example.org/api/v1/runs/r/outputs/1', drs_uri: 'drs://b.example.org/1' },
        { name: 'statistics/snps-excluded.txt', size: 9, sha256: 'ef'.repeat(32), md5: '01'.repeat(16), mime_type: 'text/plain', url: 'https://b.example.org/api/v1/runs/r/outputs/2' },
      ],
    });
    expect(outputs[0]).toEqual({
      name: 'chr_20.zip',
      size: 1234,
      ref: 'https://b.example.org/api/v1/runs/r/outputs/1',
      checksums: [
        { type: 'sha-256', checksum: 'ab'.repeat(32) },
        { type: 'md5', checksum: 'cd'.repeat(16) },
      ],
    });
    expect(outputs[1]?.name).toBe('statistics/snps-excluded.txt');
  });

  it('a generic map: URLs, lists, CWL File objects; name clashes take the output key', () => {
    const outputs = parseOutputs({
      dose: 'https://x.example.org/a/chr20.dose.vcf.gz',
      'statistics/snps-excluded.txt': 'https://x.example.org/s/snps-excluded.txt',
      infos: ['https://x.example.org/a/chr20.info.gz', 's3://bucket/b/chr20.info.gz'],
      report: { class: 'File', location: 'https://x.example.org/qc.txt', basename: 'qc_report.txt', size: 42, checksum: 'sha1$00ff' },
      azure: 'az://acct/container/chr21.dose.vcf.gz',
      count: 3,
      note: 'finished fine',
    });
    expect(outputs.map((o) => [o.name, o.reference?.type ?? 'https'])).toEqual([
      ['chr20.dose.vcf.gz', 'https'],
      ['statistics/snps-excluded.txt', 'https'],
      ['chr20.info.gz', 'https'],
      ['infos/chr20.info.gz', 's3'],
      ['qc_report.txt', 'https'],
      ['chr21.dose.vcf.gz', 'azure'],
    ]);
    expect(outputs[4]).toMatchObject({ size: 42, checksums: [{ type: 'sha1', checksum: '00ff' }] });
  });

  it('nothing that is not a location becomes an output', () => {
    expect(parseOutputs(null)).toEqual([]);
    expect(parseOutputs('done')).toEqual([]);
    expect(parseOutputs({ a: 1, b: 'text', c: [true] })).toEqual([]);
  });

  it('names storage kinds as DRS access methods do', () => {
    expect(['https://a', 'http://a', 's3://b/k', 'gs://b/k', 'wasbs://c@a/k', 'drs://h/1', 'file:x', 'results/x', 'ftp://h/x'].map(referenceType)).toEqual([
      null, null, 's3', 'gs', 'azure', 'drs', 'file', 'file', 'other',
    ]);
  });
});
