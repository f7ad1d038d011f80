/** Opening result zips: members stream into the blob store; a zip the broker cannot open leaves nothing behind. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeEncryptedZip } from '@ibroker/adapters/cloudgene/simulator/archive';
import { FsBlobStore } from './store';
import { extractZipMembers, ZipUnreadableError } from './unzip';

const dir = mkdtempSync(join(tmpdir(), 'ibroker-unzip-'));
const blobs = new FsBlobStore(join(dir, 'blobs'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const storedFiles = () => readdirSync(blobs.root, { recursive: true }).filter((f) => String(f).includes('-'));

function member(name: string, bytes: Buffer) {
  const path = join(dir, `src-${name}`);
  writeFileSync(path, bytes);
  return { entry: name, path };
}

describe('extractZipMembers', () => {
  const dose = randomBytes(300_000);
  const info = randomBytes(1_000);

  it.each([
    ['ZipCrypto', false],
    ['AES-256', true],
  ])('opens a %s zip with its password, members with their checksums', async (_label, aes) => {
    const zip = join(dir, `chr_20-${aes}.zip`);
    await writeEncryptedZip(zip, [member('chr20.dose.vcf.gz', dose), member('chr20.info.gz', info)], 'Pass1234word', aes);
    const members = await extractZipMembers(blobs, zip, 'Pass1234word', { maxMemberBytes: 10_000_000 });
    expect(members.map((m) => [m.name, m.blob.size, m.blob.sha256])).toEqual([
      ['chr20.dose.vcf.gz', dose.length, sha(dose)],
      ['chr20.info.gz', info.length, sha(info)],
    ]);
  });

  it('a wrong password, a damaged zip or a member over the limit: ZipUnreadableError, and no blob is left', async () => {
    const zip = join(dir, 'chr_21.zip');
    await writeEncryptedZip(zip, [member('a.gz', info), member('b.gz', dose)], 'right', false);
    const before = storedFiles().length;
    await expect(extractZipMembers(blobs, zip, 'wrong', { maxMemberBytes: 10_000_000 })).rejects.toBeInstanceOf(ZipUnreadableError);
    await expect(extractZipMembers(blobs, zip, 'right', { maxMemberBytes: 5_000 })).rejects.toThrow(/more than the limit of 5000/);
    const junk = join(dir, 'junk.zip');
    writeFileSync(junk, randomBytes(5000));
    await expect(extractZipMembers(blobs, junk, 'right', { maxMemberBytes: 10_000_000 })).rejects.toBeInstanceOf(ZipUnreadableError);
    expect(storedFiles().length).toBe(before);
  });

  it('refuses members whose names are path tricks', async () => {
    const zip = join(dir, 'tricks.zip');
    await writeEncryptedZip(zip, [member('x', info)].map((m) => ({ ...m, entry: '../../etc/passwd' })), 'pw', false);
    // zip.js itself refuses such entries ("Unsafe filename"); either way nothing is stored.
    const before = storedFiles().length;
    await expect(extractZipMembers(blobs, zip, 'pw', { maxMemberBytes: 10_000_000 })).rejects.toBeInstanceOf(ZipUnreadableError);
    expect(storedFiles().length).toBe(before);
  });
});
