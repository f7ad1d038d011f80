/**
 * Writes the demo cohort into demo/data/ (committed; run again only to change it):
 *   npx tsx scripts/make-demo-data.ts
 * Deterministic: same seed, fixed bgzip level, MTIME 0 in every block, so every run gives the
 * same bytes (on the same Node/zlib version).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticCohort, type Build } from '../adapters/src/vcf/synth';

export const DEMO_SAMPLES = Array.from({ length: 60 }, (_, i) => `DEMO${String(i + 1).padStart(3, '0')}`);
export const DEMO_CHROMOSOMES = ['20', '21', '22'];
export const DEMO_VARIANTS = 3000;
export const DEMO_SEED = 20_251_016;

export async function makeDemoData(root: string): Promise<string[]> {
  const written: string[] = [];
  for (const build of ['hg19', 'hg38'] as Build[]) {
    const dir = path.join(root, build);
    await rm(dir, { recursive: true, force: true });
    const files = await writeSyntheticCohort(dir, {
      build,
      chromosomes: DEMO_CHROMOSOMES,
      samples: DEMO_SAMPLES,
      variantsPerChromosome: DEMO_VARIANTS,
      // Same seed for both builds: the same genotypes, only CHROM names and coordinates differ.
      seed: DEMO_SEED,
      phased: false,
      level: 9,
    });
    written.push(...files.map((f) => f.path));
  }
  return written;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'demo', 'data');
  for (const file of await makeDemoData(root)) console.log(path.relative(process.cwd(), file));
}
