import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDemoData } from '../../../scripts/make-demo-data';
import { inspectVcf, validateCohort } from './inspect';
import { syntheticVcfLines, writeSyntheticCohort, writeSyntheticVcf } from './synth';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vcf-synth-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('synthetic VCFs', () => {
  it('are valid, bgzipped, with REF != ALT at increasing positions', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'x.vcf.gz');
    const written = await writeSyntheticVcf(file, { chromosome: '22', samples: ['a', 'b', 'c'], variants: 500, seed: 5, phased: false });
    expect(written.samples).toEqual(['a', 'b', 'c']);
    const text = zlib.gunzipSync(await readFile(file)).toString('utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('##fileformat=VCFv4.2');
    expect(text).toContain('##contig=<ID=22,length=51304566,assembly=hg19>');
    const data = lines.filter((l) => !l.startsWith('#')).map((l) => l.split('\t'));
    expect(data).toHaveLength(500);
    let last = 0;
    for (const f of data) {
      expect(f).toHaveLength(12);
      const pos = Number(f[1]);
      expect(pos).toBeGreaterThan(last);
      expect(pos).toBeLessThan(51304566);
      last = pos;
      expect(f[3]).toMatch(/^[ACGT]$/);
      expect(f[4]).toMatch(/^[ACGT]$/);
      expect(f[3]).not.toBe(f[4]);
      for (const gt of f.slice(9)) expect(gt).toMatch(/^[01]\/[01]$/);
    }
    const s = await inspectVcf(createReadStream(file));
    expect(s).toMatchObject({ bgzf: true, chromosomes: ['22'], variants: 500, phased: false, samples: ['a', 'b', 'c'] });
  });

  it('have plausible allele frequencies: mostly rare, some common, none fixed everywhere', () => {
    const lines = [...syntheticVcfLines({ chromosome: '20', samples: 200, variants: 400, seed: 11 })].filter((l) => !l.startsWith('#'));
    const freqs = lines.map((l) => {
      const gts = l.trimEnd().split('\t').slice(9).join('');
      return (gts.match(/1/g)?.length ?? 0) / 400;
    });
    const rare = freqs.filter((f) => f < 0.05).length;
    const common = freqs.filter((f) => f >= 0.2).length;
    expect(rare).toBeGreaterThan(80);
    expect(common).toBeGreaterThan(40);
    expect(lines[0]).toMatch(/\t[01]\|[01]\t/); // phased by default
  });

  it('are deterministic from the seed, and differ between seeds', () => {
    const a = [...syntheticVcfLines({ chromosome: 'chr20', samples: 30, variants: 100, seed: 1 })].join('');
    const b = [...syntheticVcfLines({ chromosome: 'chr20', samples: 30, variants: 100, seed: 1 })].join('');
    const c = [...syntheticVcfLines({ chromosome: 'chr20', samples: 30, variants: 100, seed: 2 })].join('');
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).toContain('assembly=hg38');
  });

  it('make a cohort that passes Cloudgene validation for its build', async () => {
    const dir = await tempDir();
    const files = await writeSyntheticCohort(dir, { build: 'hg38', chromosomes: [20, 'X'], samples: 20, variantsPerChromosome: 50, seed: 4 });
    expect(files.map((f) => path.basename(f.path))).toEqual(['chr20.vcf.gz', 'chrX.vcf.gz']);
    const summaries = await Promise.all(
      files.map(async (f) => ({ name: path.basename(f.path), summary: await inspectVcf(createReadStream(f.path)) })),
    );
    expect(summaries.map((s) => s.summary.chromosomes)).toEqual([['chr20'], ['chrX']]);
    expect(validateCohort(summaries, { build: 'hg38', minSamples: 20, maxSamples: 50000 })).toEqual([]);
    expect(validateCohort(summaries, { build: 'hg19', minSamples: 20, maxSamples: 50000 })[0]).toContain('not a valid hg19 encoding');
  });
});

describe('demo data (scripts/make-demo-data.ts)', () => {
  it('is byte-identical on two runs', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const first = await makeDemoData(a);
    await makeDemoData(b);
    expect(first.map((f) => path.relative(a, f))).toEqual([
      'hg19/chr20.vcf.gz', 'hg19/chr21.vcf.gz', 'hg19/chr22.vcf.gz',
      'hg38/chr20.vcf.gz', 'hg38/chr21.vcf.gz', 'hg38/chr22.vcf.gz',
    ]);
    for (const f of first) {
      expect((await readFile(f)).equals(await readFile(path.join(b, path.relative(a, f)))), f).toBe(true);
    }
  });

  it('the committed files are small and pass validation for their build', async () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../demo/data');
    let total = 0;
    for (const build of ['hg19', 'hg38'] as const) {
      const names = (await readdir(path.join(root, build))).filter((n) => n.endsWith('.vcf.gz')).sort();
      expect(names).toEqual(['chr20.vcf.gz', 'chr21.vcf.gz', 'chr22.vcf.gz']);
      const files = [];
      for (const name of names) {
        const file = path.join(root, build, name);
        total += (await readFile(file)).length;
        files.push({ name, summary: await inspectVcf(createReadStream(file)) });
      }
      for (const f of files) expect(f.summary.samples).toHaveLength(60);
      expect(validateCohort(files, { build, minSamples: 20, maxSamples: 50000, phasing: 'eagle' })).toEqual([]);
    }
    expect(total).toBeLessThan(2 * 1024 * 1024);
  });
});
