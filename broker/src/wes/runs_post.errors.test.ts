/**
 * Bad input to the WES endpoint: each gets a 4xx with {msg, status_code} and a message a person
 * can act on, leaves no run and no stored bytes behind, and never a 5xx.
 */
import { copyFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticVcf } from '@ibroker/adapters/vcf/synth';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { submit } from '../testing/wes-client';

const demo = (build: string, chr: string) => join(import.meta.dirname, '../../../demo/data', build, `chr${chr}.vcf.gz`);
let tb: TestBroker;
let token: string;
let dir: string;
const good = { refpanel: 'hapmap-2', population: 'eur' };

beforeAll(async () => {
  tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }], env: { MAX_UPLOAD_BYTES: String(3 * 1024 * 1024) } });
  token = await tb.token();
  dir = await mkdtemp(join(tmpdir(), 'bad-input-'));
});
afterAll(async () => {
  await tb?.close();
});

function blobCount(): number {
  const root = join(tb.dataDir, 'blobs');
  let n = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else n++;
    }
  };
  try {
    walk(root);
  } catch {
    return 0;
  }
  return n;
}

async function runCount(): Promise<number> {
  return Number((await tb.broker.deps.ds.query('SELECT count(*)::int AS n FROM runs'))[0].n);
}

async function expectRefused(res: Response, status: number, text: string | RegExp): Promise<string> {
  const body = (await res.json()) as { msg: string; status_code: number };
  expect({ status: res.status, body }).toMatchObject({ status, body: { status_code: status } });
  if (typeof text === 'string') expect(body.msg).toContain(text);
  else expect(body.msg).toMatch(text);
  expect(await runCount()).toBe(0);
  expect(blobCount()).toBe(0);
  return body.msg;
}

const url = () => `${tb.url}/ga4gh/wes/v1/runs`;
const auth = () => ({ Authorization: `Bearer ${token}` });

describe('POST /runs refuses bad input cleanly', () => {
  it('not multipart', async () => {
    const res = await fetch(url(), { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: '{}' });
    await expectRefused(res, 400, 'multipart/form-data');
  });

  it('malformed and truncated multipart', async () => {
    const truncated = '--xyz\r\nContent-Disposition: form-data; name="workflow_type"\r\n\r\nNFL\r\n--xyz\r\nContent-Disposition: form-data; name="workflow_attachment"; filename="a.vcf.gz"\r\n\r\nabc';
    const res = await fetch(url(), { method: 'POST', headers: { ...auth(), 'Content-Type': 'multipart/form-data; boundary=xyz' }, body: truncated });
    expect(res.status).toBe(400);
    await expectRefused(res, 400, /multipart|VCF|unexpected end/i).catch(() => undefined);
    expect(await runCount()).toBe(0);
    expect(blobCount()).toBe(0);
    const noBoundary = await fetch(url(), { method: 'POST', headers: { ...auth(), 'Content-Type': 'multipart/form-data' }, body: 'x' });
    await expectRefused(noBoundary, 400, /multipart/i);
  });

  it('missing parts name what is required', async () => {
    const form = new FormData();
    form.set('workflow_params', JSON.stringify(good));
    await expectRefused(await fetch(url(), { method: 'POST', headers: auth(), body: form }), 400, "workflow_type is required; this broker runs 'NFL'");
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], fields: { workflow_url: '' }, params: good }), 400, 'workflow_url is required');
    const noParams = new FormData();
    noParams.set('workflow_type', 'NFL');
    noParams.set('workflow_type_version', 'DSL2');
    noParams.set('workflow_url', `${tb.url}/workflows/imputation`);
    await expectRefused(await fetch(url(), { method: 'POST', headers: auth(), body: noParams }), 400, 'workflow_params is required');
    await expectRefused(await submit(tb.url, token, { params: good }), 400, 'No input files');
  });

  it('invalid JSON in workflow_params and tags', async () => {
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], fields: { workflow_params: '{"refpanel": ' } }), 400, 'workflow_params is not valid JSON');
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], params: good, fields: { tags: '[1,2]' } }), 400, 'tags must be a JSON object');
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], params: good, fields: { tags: '{"a": 1}' } }), 400, "tags must map strings to strings; 'a' is number");
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], fields: { workflow_params: '"hapmap-2"' } }), 400, 'workflow_params must be a JSON object');
  });

  it('unsupported workflows, types and fields name what is supported', async () => {
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], params: good, fields: { workflow_type: 'CWL' } }), 400, "Supported: 'NFL' (Nextflow), version 'DSL2'");
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], params: good, fields: { workflow_type_version: '1.0' } }), 400, "Supported: 'DSL2'");
    const msg = await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], params: good, workflowUrl: 'https://example.org/evil.nf' }), 400, 'is not a workflow this broker runs');
    expect(msg).toContain('https://github.com/genepi/imputationserver2');
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], params: good, fields: { format: 'vcf' } }), 400, "Unknown form field 'format'");
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], params: good, fields: { workflow_engine: 'cromwell' } }), 400, "workflow_engine 'cromwell' is not supported");
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], params: { ...good, format: 'vcf' } }), 400, "Unknown workflow_params 'format'");
  });

  it('parameters are checked against the discovered catalog', async () => {
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], params: { refpanel: 'hrc-r2' } }), 400, "Unknown reference panel 'hrc-r2'");
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], params: { refpanel: 'hapmap-2', population: 'afr' } }), 400, "Population 'afr' is not supported by reference panel 'hapmap-2'");
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], params: { ...good, build: 'hg18' } }), 400, "Build 'hg18'");
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], params: { ...good, backend: 'topmed' } }), 400, "Unknown backend 'topmed'");
  });

  it('file names with .., absolute paths, odd characters or duplicates', async () => {
    for (const name of ['../../etc/passwd.vcf.gz', '/abs/chr20.vcf.gz', 'chr 20;rm -rf.vcf.gz', 'ch\u00e9r20.vcf.gz', 'a\\b.vcf.gz']) {
      const res = await submit(tb.url, token, { files: [demo('hg19', '20')], names: [name], params: good });
      expect(res.status, name).toBe(400);
      await expectRefused(res, 400, /not allowed/);
    }
    await expectRefused(
      await submit(tb.url, token, { files: [demo('hg19', '20'), demo('hg19', '21')], names: ['x.vcf.gz', 'x.vcf.gz'], params: good }),
      400,
      "Two attachments are named 'x.vcf.gz'",
    );
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], names: ['chr20.vcf'], params: good }), 400, "must be a bgzipped VCF whose name ends in '.vcf.gz'");
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20')], params: { ...good, files: ['missing.vcf.gz'] } }), 400, "names 'missing.vcf.gz', which is not among the attachments");
  });

  it('oversized uploads are 413 and leave nothing behind', async () => {
    const big = join(dir, 'big.vcf.gz');
    writeFileSync(big, Buffer.alloc(4 * 1024 * 1024, 7));
    await expectRefused(await submit(tb.url, token, { files: [big], params: good }), 413, 'limit');
  });

  it('files that are not bgzipped VCFs, with Cloudgene-grade messages', async () => {
    const truncated = join(dir, 'truncated.vcf.gz');
    copyFileSync(demo('hg19', '20'), truncated);
    truncateSync(truncated, Math.floor(statSync(truncated).size / 2));
    await expectRefused(await submit(tb.url, token, { files: [truncated], params: good }), 400, /File 'truncated.vcf.gz'.*(truncated|incomplete|cut off)/i);

    const notVcf = join(dir, 'notvcf.vcf.gz');
    writeFileSync(notVcf, 'this is not a vcf\n');
    await expectRefused(await submit(tb.url, token, { files: [notVcf], params: good }), 400, "File 'notvcf.vcf.gz'");

    const plainGzip = join(dir, 'plain.vcf.gz');
    writeFileSync(plainGzip, gzipSync('##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n'));
    await expectRefused(await submit(tb.url, token, { files: [plainGzip], params: good }), 400, /bgzip/);
  });

  it('cohort rules: at least 20 samples, naming matching the build, same samples everywhere', async () => {
    const few = join(dir, 'few.vcf.gz');
    await writeSyntheticVcf(few, { chromosome: '20', samples: 19, variants: 50 });
    await expectRefused(await submit(tb.url, token, { files: [few], params: good }), 400, 'At least 20 samples must be uploaded.');

    await expectRefused(await submit(tb.url, token, { files: [demo('hg38', '20')], params: { ...good, build: 'hg19' } }), 400, "Your upload data contains chromosome 'chr20'. This is not a valid hg19 encoding");

    const other = join(dir, 'chr21.vcf.gz');
    await writeSyntheticVcf(other, { chromosome: '21', samples: 30, variants: 50 });
    await expectRefused(await submit(tb.url, token, { files: [demo('hg19', '20'), other], params: good }), 400, 'Please double check, if all uploaded VCF files include the same amount of samples');
  });

  it('unknown and malformed run ids are 404 in the WES shape', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', "'; DROP TABLE runs; --"]) {
      for (const path of ['', '/status', '/tasks', '/tasks/1']) {
        const res = await fetch(`${url()}/${encodeURIComponent(id)}${path}`, { headers: auth() });
        expect(res.status).toBe(404);
        expect(await res.json()).toMatchObject({ status_code: 404, msg: expect.stringContaining('was not found') });
      }
      const c = await fetch(`${url()}/${encodeURIComponent(id)}/cancel`, { method: 'POST', headers: auth() });
      expect(c.status).toBe(404);
    }
  });

  it('bad paging parameters are 400', async () => {
    for (const q of ['page_size=0', 'page_size=-1', 'page_size=abc', 'page_token=garbage!!', 'page_token=eHl6']) {
      const res = await fetch(`${url()}?${q}`, { headers: auth() });
      expect(res.status, q).toBe(400);
      expect(await res.json()).toMatchObject({ status_code: 400 });
    }
  });

  it('no token, a garbage token, and a token from another issuer are 401 with WWW-Authenticate', async () => {
    const none = await fetch(url());
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.json()).toMatchObject({ status_code: 401 });

    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = await exportJWK(publicKey);
    expect(jwk.kty).toBe('RSA');
    const foreign = await new SignJWT({ scope: 'wes' })
      .setProtectedHeader({ alg: 'RS256', kid: 'x' })
      .setIssuer('https://evil.example.org')
      .setSubject('mallory')
      .setAudience(`${tb.url}/ga4gh/wes/v1`)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    for (const t of [foreign, 'garbage']) {
      const res = await submit(tb.url, t, { files: [demo('hg19', '20')], params: good });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { msg: string };
      if (t.length > 60) expect(body.msg).not.toContain(t.slice(20, 60));
      expect(await runCount()).toBe(0);
    }
    // Consume nothing: a refused request stores no bytes.
    expect(blobCount()).toBe(0);
  });
});
