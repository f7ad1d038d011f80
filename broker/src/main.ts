/** `npm start`: the broker on the embedded default, or on whatever the environment configures. */
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger } from './logging';
import { startBroker, type BrokerHandle } from './server';

const started = performance.now();
let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const log = createLogger(config.logLevel);

// Signals are handled from the first moment: a SIGTERM during start-up must still stop the
// embedded PostgreSQL, or its postmaster.pid blocks the next start.
let broker: BrokerHandle | null = null;
let starting: Promise<BrokerHandle> | null = null;
let stopping = false;
const stop = async (reason: string, code: number) => {
  if (stopping) return;
  stopping = true;
  log.info({ reason }, 'shutting down');
  const handle = broker ?? (await starting?.catch(() => null));
  await handle?.close();
  process.exit(code);
};
process.on('SIGINT', () => void stop('SIGINT', 0));
process.on('SIGTERM', () => void stop('SIGTERM', 0));
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught exception');
  void stop('uncaught exception', 1);
});

try {
  starting = startBroker({ config, log, portal: true });
  broker = await starting;
} catch (err) {
  log.fatal({ err }, 'the broker could not start');
  console.error(`The broker could not start: ${(err as Error).message}`);
  process.exit(1);
}
if (!stopping) {
  await broker.deps.registry.refreshAll();
  const readyMs = Math.round(performance.now() - started);
  log.info({ url: broker.url, readyMs, demo: config.demo, backends: broker.deps.registry.ids() }, 'broker ready');
  if (config.demo) {
    console.log(`
  Imputation broker ready at ${broker.url} in ${readyMs} ms (embedded PostgreSQL, demo federation)
    Portal          ${broker.portal ? `${broker.url}/` : '(not built: npm run -w @ibroker/portal build)'}
    GA4GH WES 1.1   ${broker.url}/ga4gh/wes/v1/service-info
    API docs        ${broker.url}/docs
    Dev OIDC        ${broker.url}/oidc  (clients demo-cli/demo-cli-secret, demo-cli-2/demo-cli-2-secret)
    Sign in         ${broker.url}/auth/login  (users alice/alice, admin/admin, bob/bob)
    Backends        ${broker.deps.registry.list().map((b) => `${b.config.id} -> ${b.config.url}`).join('\n                    ')}
                    (local SIMULATORS of two Cloudgene 3 servers, a WESkit node and DNAstack Workbench, not the real services)
`);
  }
}
