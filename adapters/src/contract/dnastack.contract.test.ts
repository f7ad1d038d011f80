/**
 * The adapter contract for the DNAstack adapter against the Workbench simulator: discovery through
 * its service registry, client credentials, eWES under the namespace, inputs by https URL.
 */
import { join } from 'node:path';
import type { Panel } from '../types';
import { createDnastackAdapter } from '../dnastack/index';
import { createDnastackSimulator, FAST_DNASTACK_TIMING } from '../dnastack/simulator/index';
import { describeAdapterContract, fileSha256 } from './suite';

const PANELS: Panel[] = [
  { key: '1000g-phase-3-v5', id: '1000g-phase-3-v5', version: null, label: '1000G Phase 3 v5 (GRCh37/hg19)', build: 'hg19', populations: [{ id: 'eur', label: 'EUR' }] },
];
const CLIENT = { clientId: 'imputation-broker', clientSecret: 'dnastack-client-secret-0123456789', namespace: 'ns-7f3a', email: 'broker@example.org' };
const BAD_SECRET = 'dnastack-wrong-secret-9876543210';

describeAdapterContract('dnastack (Workbench simulator)', async (ctx) => {
  const sim = createDnastackSimulator({ workDir: join(ctx.dir, 'dnastack'), clients: [CLIENT], timing: FAST_DNASTACK_TIMING });
  const slowSim = createDnastackSimulator({
    workDir: join(ctx.dir, 'dnastack-slow'),
    clients: [CLIENT],
    timing: { ...FAST_DNASTACK_TIMING, validation: 120_000, cancel: 120_000 },
  });
  const base = await ctx.proxy(await sim.start());
  const slowBase = await slowSim.start();
  const options = (registryUrl: string, o: { timeoutMs?: number; badCredentials?: boolean } = {}) => ({
    registryUrl,
    clientId: CLIENT.clientId,
    clientSecret: o.badCredentials ? BAD_SECRET : CLIENT.clientSecret,
    workflowId: 'wf_8d2b1c',
    workflowVersionId: 'v1_0_3',
    engineId: 'cromwell-gcp-1',
    panels: PANELS,
    // The simulator's bucket is on loopback, as everything in a test is.
    allowPrivateOutputUrls: true,
    timeoutMs: o.timeoutMs ?? 10_000,
  });
  const connect = (o: { timeoutMs?: number; badCredentials?: boolean }) => createDnastackAdapter(options(base, o));
  return {
    adapter: connect({}),
    connect,
    slowAdapter: createDnastackAdapter(options(slowBase)),
    controls: {
      setFaults: (f) => sim.setFaults(f),
      setRateLimit: (l) => sim.setRateLimit(l),
      completeCancellations: () => void slowSim.completeCancellations(),
    },
    params: { refpanel: '1000g-phase-3-v5', population: 'eur', build: 'hg19', phasing: 'eagle', r2Filter: '0', mode: 'imputation' },
    build: 'hg19',
    writtenOutputs: async (id) => Promise.all((sim.getRun(id)?.outputs ?? []).map((o) => fileSha256(o.path))),
    unknownRemoteId: '4f1c6a2e-9b7d-4c3e-8a51-2d6f0e9b7c10',
    failureMessage: /not a valid hg19 encoding/,
    cancelIsAsync: true,
    hasTasks: true,
    badSecret: BAD_SECRET,
    close: async () => {
      await sim.close();
      await slowSim.close();
    },
  };
});
