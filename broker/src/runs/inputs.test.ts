import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsBlobStore } from '../blobs/store';
import { ApiError } from '../http/errors';
import { checkFileName, isPrivateAddress, stageUrl } from './inputs';

const blobs = new FsBlobStore(mkdtempSync(join(tmpdir(), 'inputs-')));
const production = { allowPrivate: false, allowHttp: false, timeoutMs: 2_000 };

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).status).toBe(400);
    return (e as ApiError).message;
  }
  throw new Error('expected a refusal');
}

describe('checkFileName', () => {
  it('keeps plain names and the last part of sub-directory names', () => {
    expect(checkFileName('chr20.vcf.gz')).toBe('chr20.vcf.gz');
    expect(checkFileName('cohort/batch1/chr20.vcf.gz')).toBe('chr20.vcf.gz');
  });

  it.each(['', '../chr20.vcf.gz', 'a/../../b.vcf.gz', '/etc/passwd', 'C:\\x.vcf.gz', 'a\\b.vcf.gz', 'chr 20.vcf.gz', 'chr20;.vcf.gz', '.hidden.vcf.gz', 'x'.repeat(201), 'ch\u00e9r.vcf.gz', 'a\u0000b.vcf.gz'])(
    'refuses %j',
    (name) => {
      expect(() => checkFileName(name)).toThrow(ApiError);
    },
  );
});

describe('stageUrl', () => {
  it.each([
    ['https://127.0.0.1/chr20.vcf.gz', 'private network address'],
    ['https://10.1.2.3/chr20.vcf.gz', 'private network address'],
    ['https://169.254.169.254/latest/chr20.vcf.gz', 'private network address'],
    ['https://[::1]/chr20.vcf.gz', 'private network address'],
    ['https://[::ffff:192.168.0.1]/chr20.vcf.gz', 'private network address'],
    ['https://localhost/chr20.vcf.gz', 'private network address'],
    ['http://example.org/chr20.vcf.gz', 'must use https'],
    ['file:///etc/passwd', 'must use https'],
    ['https://user:pw@example.org/chr20.vcf.gz', 'must not carry credentials'],
    ['not a url at all', 'neither the name of an attachment nor a valid URL'],
  ])('refuses %s before fetching anything', async (url, reason) => {
    expect(await refusal(stageUrl(blobs, url, 1024, production))).toContain(reason);
  });
});

describe('isPrivateAddress', () => {
  it('lets public addresses through, in every spelling', () => {
    for (const ip of ['8.8.8.8', '141.211.1.1', '196.24.45.1', '2001:4860:4860::8888', '::ffff:808:808']) expect(isPrivateAddress(ip), ip).toBe(false);
  });
  it('stops private, loopback, link-local and mapped private addresses', () => {
    for (const ip of ['127.0.0.1', '10.0.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd12::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:c0a8:1', 'not-an-ip']) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
  });
});
