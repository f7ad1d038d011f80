/**
 * The adapter contract for the GA4GH WES adapter against both WES node simulators: WESkit (as on
 * the eLwazi/ILIFU nodes) and a standard WES 1.1 node, each with uploads and with the input mode
 * that node fetches itself (DRS for WESkit, as the eLwazi fork resolves it; https for WES 1.1).
 */
import { join } from 'node:path';
import type { Panel } from '../types';
import { createWesAdapter, type WesAdapterOptions } from '../wes/index';
import type { InputMode } from '../wes/params';
import { createWesSimulator, FAST_WES_TIMING, STANDARD_WORKFLOW, WESKIT_WORKFLOW } from '../wes/simulator/index';
import { describeAdapterContract, fileSha256 } from './suite';

const PANELS: Panel[] = [
  { key: '1000g-phase-3-v5', id: '1000g-phase-3-v5', version: null, label: '1000G Phase 3 v5 (GRCh37/hg19)', build: 'hg19', populations: [{ id: 'eur', label: 'EUR' }, { id: 'afr', label: 'AFR' }] },
];
const TOKEN = 'wes-node-access-token-0123456789';
const BAD_TOKEN = 'wes-node-wrong-token-9876543210';

function wesContract(flavor: 'weskit' | 'standard', inputMode: InputMode): void {
  describeAdapterContract(`wes (${flavor} simulator, ${inputMode} inputs)`, async (ctx) => {
    const common = { flavor, tokens: { [TOKEN]: 'broker' }, requireRunDir: flavor === 'weskit' } as const;
    const sim = createWesSimulator({ ...common, workDir: join(ctx.dir, 'wes'), timing: FAST_WES_TIMING });
    const slowSim = createWesSimulator({ ...common, workDir: join(ctx.dir, 'wes-slow'), timing: { ...FAST_WES_TIMING, validation: 120_000, cancel: 120_000 } });
    const base = await ctx.proxy(await sim.start());
    const slowBase = await slowSim.start();
    const options = (root: string, o: { timeoutMs?: number; badCredentials?: boolean } = {}): WesAdapterOptions => ({
      flavor,
      baseUrl: `${root}/ga4gh/wes/v1`,
      token: o.badCredentials ? BAD_TOKEN : TOKEN,
      workflowUrl: flavor === 'weskit' ? WESKIT_WORKFLOW : STANDARD_WORKFLOW,
      workflowType: 'NFL',
      workflowTypeVersion: flavor === 'weskit' ? '22.10.0' : 'DSL2',
      ...(flavor === 'weskit' ? { tags: { run_dir: 'file:runs/${runId}' } } : {}),
      inputMode,
      panels: PANELS,
      timeoutMs: o.timeoutMs ?? 10_000,
    });
    const connect = (o: { timeoutMs?: number; badCredentials?: boolean }) => createWesAdapter(options(base, o));
    return {
      adapter: connect({}),
      connect,
      slowAdapter: createWesAdapter(options(slowBase)),
      controls: {
        setFaults: (f) => sim.setFaults(f),
        setRateLimit: (l) => sim.setRateLimit(l),
        completeCancellations: () => void slowSim.completeCancellations(),
      },
      params: { refpanel: '1000g-phase-3-v5', population: 'eur', build: 'hg19', phasing: 'eagle', r2Filter: '0', mode: 'imputation' },
      build: 'hg19',
      writtenOutputs: async (id) => Promise.all((sim.getRun(id)?.outputs ?? []).map((o) => fileSha256(o.path))),
      unknownRemoteId: '0b7e6a52-4f0e-4d8c-9a51-3c2f1d0e9a77',
      // WESkit serves no stderr for failed runs (409 unless COMPLETE): the exit code is all it says.
      failureMessage: flavor === 'weskit' ? /exited with code 1/ : /not a valid hg19 encoding/,
      cancelIsAsync: true,
      hasTasks: flavor === 'standard',
      badSecret: BAD_TOKEN,
      close: async () => {
        await sim.close();
        await slowSim.close();
      },
    };
  });
}

wesContract('weskit', 'attachment');
wesContract('weskit', 'drs');
wesContract('standard', 'attachment');
wesContract('standard', 'https');
