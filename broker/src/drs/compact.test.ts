/**
 * Compact DRS URIs (`drs://prefix:accession`): a prefix from the configuration, or one resolved
 * through identifiers.org's registry API (a local copy of its two routes), to the URL pattern of
 * a real DRS server, here the broker itself under another host name.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunLog } from '@ibroker/api-spec/index';
import { userTokens } from '../dev/test-support';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { getJson, submit, terminal, waitForState } from '../testing/wes-client';

const demo = join(import.meta.dirname, '../../../demo/data/hg19/chr20.vcf.gz');
const params = { refpanel: 'hapmap-2', population: 'eur', build: 'hg19' };

let tb: TestBroker;
let registry: Server;
let registryHits: string[] = [];
/** Where the registry says objects of the prefix `ibtest` live; known once the broker listens. */
let pattern = '';
let alice: string;
let inputId: string;
const dir = mkdtempSync(join(tmpdir(), 'ibroker-compact-'));

/** identifiers.org's registry API, the two calls the DRS spec describes, for one namespace. */
function startRegistry(): Promise<string> {
  registry = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://registry');
    registryHits.push(`${url.pathname}?${url.searchParams}`);
    const send = (status: number, body: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/restApi/namespaces/search/findByPrefix') {
      if (url.searchParams.get('prefix') !== 'ibtest') return send(404, { timestamp: new Date().toISOString(), status: 404, error: 'Not Found' });
      return send(200, { prefix: 'ibtest', name: 'Imputation broker test objects', _links: { self: { href: 'http://registry/restApi/namespaces/1431' } } });
    }
    if (url.pathname === '/restApi/resources/search/findAllByNamespaceId' && url.searchParams.get('id') === '1431') {
      return send(200, { _embedded: { resources: [{ mirId: 'MIR:00000001', urlPattern: pattern, official: true }] } });
    }
    send(404, { status: 404 });
  });
  return new Promise((resolve) => registry.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(registry.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  const registryUrl = await startRegistry();
  const config = join(dir, 'broker.yaml');
  // `fixed` is resolved from the configuration without asking identifiers.org.
  writeFileSync(config, `drs:\n  identifiersOrgUrl: ${registryUrl}\n  compactPrefixes:\n    fixed: http://localhost:1/ga4gh/drs/v1/objects/{$id}\n`);
  tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2' }], env: { CONFIG_FILE: config } });
  pattern = `http://localhost:${new URL(tb.url).port}/ga4gh/drs/v1/objects/{$id}`;
  alice = (await userTokens(tb.broker.devOidc!, { username: 'alice', password: 'alice', redirectUri: `${tb.url}/auth/callback` })).access_token;
  const res = await submit(tb.url, alice, { files: [demo], params });
  expect(res.status).toBe(200);
  const { run_id } = (await res.json()) as { run_id: string };
  const log = (await getJson<RunLog>(`${tb.url}/ga4gh/wes/v1/runs/${run_id}`, alice)).body;
  inputId = ((log.outputs as { inputs: { drs_uri: string }[] }).inputs[0]!.drs_uri).split('/').pop()!;
}, 120_000);
afterAll(async () => {
  await tb?.close();
  registry?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('compact drs:// inputs', () => {
  it('resolve through identifiers.org to a DRS server, once per prefix (the pattern is cached)', async () => {
    registryHits = [];
    for (let i = 0; i < 2; i++) {
      const res = await submit(tb.url, alice, { params: { ...params, files: [`drs://ibtest:${inputId}`] } });
      expect(res.status).toBe(200);
      const { run_id } = (await res.json()) as { run_id: string };
      const log = await waitForState(tb.url, alice, run_id, terminal, 90_000);
      expect(log.state).toBe('COMPLETE');
      expect((log.outputs as { inputs: { name: string }[] }).inputs.map((x) => x.name)).toEqual(['chr20.vcf.gz']);
    }
    expect(registryHits).toEqual(['/restApi/namespaces/search/findByPrefix?prefix=ibtest', '/restApi/resources/search/findAllByNamespaceId?id=1431']);
  });

  it('a prefix identifiers.org does not know, or a configured server that is down, is a clear 400', async () => {
    const unknown = await submit(tb.url, alice, { params: { ...params, files: [`drs://nosuch:${inputId}`] } });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { msg: string }).msg).toMatch(/'nosuch' is not registered at identifiers.org/);
    const down = await submit(tb.url, alice, { params: { ...params, files: [`drs://fixed:${inputId}`] } });
    expect(down.status).toBe(400);
    expect(((await down.json()) as { msg: string }).msg).toMatch(/could not be reached/);
  });
});
