/**
 * Backends whose `credentials` mode runs jobs under each user's own account: the run is submitted
 * with the owner's token from the vault, and refused up front when there is none.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../testing/broker';
import { submit, terminal, waitForState } from '../testing/wes-client';

const demo = join(import.meta.dirname, '../../../demo/data/hg19/chr20.vcf.gz');
const params = { refpanel: 'hapmap-2', population: 'eur', mode: 'qc_only' };
let tb: TestBroker | undefined;
afterEach(async () => {
  await tb?.close();
  tb = undefined;
});

async function storeToken(t: TestBroker, token: string, backend: string, secret: string): Promise<void> {
  const res = await fetch(`${t.url}/api/v1/credentials/${backend}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ kind: 'api_token', secret }),
  });
  expect(res.status).toBe(201);
}

describe("a backend that runs jobs under the user's own account", () => {
  it('refuses a submission without the user’s token, with what to do, and uses it once stored', async () => {
    tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2', credentials: 'user', extraUsers: ['jdoe'] }] });
    const token = await tb.token();
    const refused = await submit(tb.url, token, { files: [demo], params });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { msg: string }).msg).toContain('PUT /api/v1/credentials/mis2');

    const own = await tb.sims.mis2!.createApiToken('jdoe');
    await storeToken(tb, token, 'mis2', own);
    const res = await submit(tb.url, token, { files: [demo], params });
    expect(res.status).toBe(200);
    const { run_id } = (await res.json()) as { run_id: string };
    expect((await waitForState(tb.url, token, run_id, terminal)).state).toBe('COMPLETE');
    const [{ remote_id }] = await tb.broker.deps.ds.query('SELECT remote_id FROM runs WHERE id = $1', [run_id]);
    // The job belongs to the user's own account on the service, not to the broker's.
    expect(tb.sims.mis2!.getJob(remote_id)?.username).toBe('jdoe');
    const used = await tb.broker.deps.ds.query(`SELECT actor_subject, object_id FROM audit_events WHERE action = 'credential.used'`);
    expect(used).toEqual(expect.arrayContaining([{ actor_subject: 'demo-cli', object_id: 'mis2' }]));
    const everything = JSON.stringify(await tb.broker.deps.ds.query('SELECT * FROM audit_events'));
    expect(everything).not.toContain(own);
  });

  it('falls back to the service account when the user has no token (user_then_service)', async () => {
    tb = await startTestBroker({ profiles: [{ id: 'mis2', profile: 'mis2', credentials: 'user_then_service' }] });
    const token = await tb.token();
    const res = await submit(tb.url, token, { files: [demo], params });
    expect(res.status).toBe(200);
    const { run_id } = (await res.json()) as { run_id: string };
    expect((await waitForState(tb.url, token, run_id, terminal)).state).toBe('COMPLETE');
    const [{ remote_id }] = await tb.broker.deps.ds.query('SELECT remote_id FROM runs WHERE id = $1', [run_id]);
    expect(tb.sims.mis2!.getJob(remote_id)?.username).toBe('broker');
  });
});
