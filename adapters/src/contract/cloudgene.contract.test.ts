/** The adapter contract for the Cloudgene 3 adapter against the Cloudgene simulator (MIS 2 profile). */
import { join } from 'node:path';
import { createCloudgeneAdapter } from '../cloudgene/index';
import { createCloudgeneSimulator, FAST_TIMING } from '../cloudgene/simulator/index';
import { describeAdapterContract, fileSha256 } from './suite';

const USERS = [{ username: 'broker', password: 'broker-password-1' }];

describeAdapterContract('cloudgene (MIS 2 simulator)', async (ctx) => {
  const sim = createCloudgeneSimulator({
    profile: 'mis2',
    workDir: join(ctx.dir, 'cloudgene'),
    users: USERS,
    timing: FAST_TIMING,
    maxRunningJobsPerUser: 5,
    jwtSecret: 'contract-secret-0123456789abcdef0123',
  });
  const slowSim = createCloudgeneSimulator({
    profile: 'mis2',
    workDir: join(ctx.dir, 'cloudgene-slow'),
    users: USERS,
    timing: { ...FAST_TIMING, validation: 120_000 },
    jwtSecret: 'contract-secret-slow-0123456789abcdef',
  });
  const base = await ctx.proxy(await sim.start());
  const slowBase = await slowSim.start();
  const token = await sim.createApiToken('broker');
  const slowToken = await slowSim.createApiToken('broker');
  const badToken = 'eyJhbGciOiJIUzI1NiJ9.eyJ1c2VybmFtZSI6ImJyb2tlciJ9.not-the-signature';
  const connect = (o: { timeoutMs?: number; badCredentials?: boolean }) =>
    createCloudgeneAdapter({ baseUrl: base, token: o.badCredentials ? badToken : token, timeoutMs: o.timeoutMs ?? 10_000 });
  return {
    adapter: connect({}),
    connect,
    slowAdapter: createCloudgeneAdapter({ baseUrl: slowBase, token: slowToken, timeoutMs: 10_000 }),
    controls: { setFaults: (f) => sim.setFaults(f) },
    params: { refpanel: 'apps@hapmap-2@2.0.0', population: 'eur', build: 'hg19', phasing: 'eagle', r2Filter: '0', mode: 'imputation' },
    build: 'hg19',
    writtenOutputs: async (id) => Promise.all((sim.getJob(id)?.outputs ?? []).map((o) => fileSha256(o.absPath))),
    unknownRemoteId: 'job-20990101-000000-000',
    failureMessage: /not a valid hg19 encoding/,
    cancelIsAsync: false,
    hasTasks: true,
    badSecret: badToken,
    close: async () => {
      await sim.close();
      await slowSim.close();
    },
  };
});
