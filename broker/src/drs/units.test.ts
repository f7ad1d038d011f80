/** The pure parts of DRS: bundle checksums and trees, signed links, drs:// URI parsing. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyRing, createSecretBox } from '../crypto/box';
import type { ApiError } from '../http/errors';
import { bundleChecksum, planRunBundles, type BundleMember } from './bundles';
import { callerTag, createLinkSigner } from './links';
import { parseDrsUri } from './resolve';

const urls = { base: 'https://broker.example.org', drsHost: 'broker.example.org' };

describe('bundle checksums (DRS 1.5 DrsObject.checksums)', () => {
  it('hash the sorted concatenation of the contents’ checksums, as in the example of the spec', () => {
    // md5(concat(sort(72794b6d, 5e089d29))) = md5("5e089d2972794b6d") (the spec's f7a29a04 is illustrative)
    const expected = createHash('md5').update('5e089d2972794b6d').digest('hex');
    expect(bundleChecksum('md5', ['72794b6d', '5e089d29'])).toBe(expected);
    expect(bundleChecksum('md5', ['5e089d29', '72794b6d'])).toBe(expected);
    expect(bundleChecksum('sha256', [])).toBe(createHash('sha256').update('').digest('hex'));
  });
});

const file = (name: string, size = 10, extra: Partial<BundleMember> = {}): BundleMember => ({
  id: `${name}-id`,
  name,
  size,
  sha256: Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64),
  md5: Buffer.from(name).toString('hex').padEnd(32, '0').slice(0, 32),
  ...extra,
});

describe('planRunBundles', () => {
  const outputs = [file('qc_report.txt', 5), file('chr_20.zip', 100), file('statistics/snps-excluded.txt', 7), file('statistics/deep/x.txt', 3)];
  const members = [file('chr20.dose.vcf.gz', 400, { fromZip: 'chr_20.zip-id' }), file('chr20.info.gz', 50, { fromZip: 'chr_20.zip-id' })];
  const plan = planRunBundles('run-1', outputs, members);
  const byName = new Map(plan.bundles.map((b) => [b.name, b]));

  it('one bundle for the run, one per directory, one per zip, parents before children', () => {
    expect(plan.bundles.map((b) => b.name)).toEqual(['run-run-1', expect.any(String), expect.any(String), expect.any(String)]);
    expect(new Set(plan.bundles.map((b) => b.name))).toEqual(new Set(['run-run-1', 'statistics', 'deep', 'chr_20']));
    // Stored names are paths, so two bundles of one run never share one.
    expect(new Set(plan.bundles.map((b) => b.path))).toEqual(new Set(['run-run-1', 'statistics', 'statistics/deep', 'chr_20']));
    const index = new Map(plan.bundles.map((b, i) => [b.id, i]));
    for (const b of plan.bundles) if (b.parentId) expect(index.get(b.parentId)!).toBeLessThan(index.get(b.id)!);
  });

  it('places every object in its bundle and sums sizes up the tree', () => {
    expect(plan.parentOf.get('qc_report.txt-id')).toBe(plan.root.id);
    expect(plan.parentOf.get('statistics/snps-excluded.txt-id')).toBe(byName.get('statistics')!.id);
    expect(plan.parentOf.get('statistics/deep/x.txt-id')).toBe(byName.get('deep')!.id);
    expect(plan.parentOf.get('chr20.dose.vcf.gz-id')).toBe(byName.get('chr_20')!.id);
    expect(byName.get('chr_20')!.size).toBe(450);
    expect(byName.get('statistics')!.size).toBe(10);
    expect(plan.root.size).toBe(5 + 100 + 10 + 450);
    expect(plan.parentOf.has(plan.root.id)).toBe(false);
  });

  it('a bundle’s checksum is over its direct contents only (bundles count by their own checksum)', () => {
    const stats = byName.get('statistics')!;
    expect(stats.sha256).toBe(bundleChecksum('sha256', [file('statistics/snps-excluded.txt').sha256, byName.get('deep')!.sha256]));
  });

  it('a directory named like the run bundle, and members of two zips with the same name, still plan', () => {
    const plan2 = planRunBundles('r', [file('results/a.zip'), file('results/b.zip')], [file('x.gz', 1, { fromZip: 'results/a.zip-id' }), file('x.gz', 2, { fromZip: 'results/b.zip-id', id: 'x2' })]);
    expect(plan2.bundles.map((b) => b.path).sort()).toEqual(['results', 'results/a', 'results/b', 'run-r']);
  });

  it('never gives two entries of one bundle the same name', () => {
    const clash = planRunBundles('r', [file('chr_20.zip'), file('chr_20')], [file('a.gz', 1, { fromZip: 'chr_20.zip-id' })]);
    expect(clash.bundles.map((b) => b.name).sort()).toEqual(['chr_20-2', 'run-r']);
  });
});

describe('signed links', () => {
  const box = createKeyRing([randomBytes(32)]);
  let clock = 1_800_000_000_000;
  const signer = createLinkSigner(box, urls, 900, () => clock);
  const objectId = '5b0e8f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
  const query = (url: string) => Object.fromEntries(new URL(url).searchParams) as { expires: string; caller: string; signature: string };

  it('are accepted for their object until they expire, then refused as expired', () => {
    const link = signer.sign(objectId, 'alice,https%3A%2F%2Fidp');
    expect(link.expiresAt).toBe(1_800_000_000 + 900);
    expect(link.url.startsWith(`https://broker.example.org/api/v1/objects/${objectId}/content?`)).toBe(true);
    expect(signer.check(objectId, query(link.url))).toEqual({ ok: true, caller: callerTag('alice,https%3A%2F%2Fidp') });
    const named = signer.sign(objectId, 'alice', 60, 'chr20.dose.vcf.gz');
    expect(named.url).toMatch(new RegExp(`/content/chr20\\.dose\\.vcf\\.gz\\?expires=${1_800_000_000 + 60}&`));
    clock += 900_000;
    expect(signer.check(objectId, query(link.url))).toMatchObject({ ok: false, reason: 'expired' });
    clock -= 900_000;
  });

  it('cover the object, the expiry and the caller: changing any is a bad signature', () => {
    const q = query(signer.sign(objectId, 'alice').url);
    expect(signer.check('00000000-0000-4000-8000-000000000000', q)).toMatchObject({ reason: 'bad_signature' });
    expect(signer.check(objectId, { ...q, expires: String(Number(q.expires) + 1) })).toMatchObject({ reason: 'bad_signature' });
    expect(signer.check(objectId, { ...q, caller: callerTag('mallory') })).toMatchObject({ reason: 'bad_signature' });
    expect(signer.check(objectId, { ...q, signature: `${q.signature}x` })).toMatchObject({ ok: false });
    expect(signer.check(objectId, { ...q, signature: undefined as unknown as string })).toMatchObject({ reason: 'malformed' });
    expect(signer.check(objectId, { ...q, expires: '1e9' })).toMatchObject({ reason: 'malformed' });
  });

  it('made under a key the broker no longer holds, or by another key, do not verify; a rotated ring still verifies old links', () => {
    const q = query(signer.sign(objectId, 'alice').url);
    const stranger = createLinkSigner(createKeyRing([randomBytes(32)]), urls, 900, () => clock);
    expect(stranger.check(objectId, q)).toMatchObject({ reason: 'bad_signature' });
    const rotated = createLinkSigner(createKeyRing([createSecretBox(randomBytes(32)), ...box.boxes]), urls, 900, () => clock);
    expect(rotated.check(objectId, q)).toMatchObject({ ok: true });
  });

  it('a MAC for another purpose is not a link signature', () => {
    const data = `${objectId}|${1_800_000_900}|${callerTag('alice')}`;
    const other = box.mac('another-purpose', data);
    expect(signer.check(objectId, { expires: '1800000900', caller: callerTag('alice'), signature: other })).toMatchObject({ reason: 'bad_signature' });
  });
});

describe('parseDrsUri', () => {
  it('reads hostname-based URIs, with a port and a percent-encoded id', () => {
    expect(parseDrsUri('drs://drs.example.org/314159')).toEqual({ kind: 'hostname', host: 'drs.example.org', id: '314159' });
    expect(parseDrsUri('drs://Localhost:8080/a%2Fb')).toEqual({ kind: 'hostname', host: 'localhost:8080', id: 'a/b' });
  });

  it('reads compact URIs, with and without a provider code, split at the first colon', () => {
    expect(parseDrsUri('drs://drs.anv0:a1b2c3')).toEqual({ kind: 'compact', prefix: 'drs.anv0', accession: 'a1b2c3' });
    expect(parseDrsUri('drs://taupe/dg.4503:0a1b/c:d')).toEqual({ kind: 'compact', prefix: 'taupe/dg.4503', accession: '0a1b/c:d' });
  });

  it('refuses what is neither, with a message naming both forms', () => {
    for (const bad of ['drs://', 'https://x/y', 'drs://host/', 'drs://ho st/id', 'drs://host/a%zz']) {
      let err: ApiError | undefined;
      try {
        parseDrsUri(bad);
      } catch (e) {
        err = e as ApiError;
      }
      expect(err?.status, bad).toBe(400);
    }
  });
});
