/** `npm start`: the broker on the embedded default, or on whatever the environment configures. */
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logging';
import { startBroker } from './server';

const started = performance.now();
let config;
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
const broker = await startBroker({ config, log });
await broker.deps.registry.refreshAll();
const readyMs = Math.round(performance.now() - started);
log.info({ url: broker.url, readyMs, demo: config.demo, backends: broker.deps.registry.ids() }, 'broker ready');
if (config.demo) {
  console.log(`
  Imputation broker ready at ${broker.url} in ${readyMs} ms (embedded PostgreSQL, demo federation)
    GA4GH WES 1.1   ${broker.url}/ga4gh/wes/v1/service-info
    API docs        ${broker.url}/docs
    Dev OIDC        ${broker.url}/oidc  (clients demo-cli/demo-cli-secret, demo-cli-2/demo-cli-2-secret)
    Backends        ${broker.deps.registry.list().map((b) => `${b.config.id} -> ${b.config.url}`).join('\n                    ')}
                    (local SIMULATORS of Cloudgene 3 servers, not the real services)
`);
}

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  await broker.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
// Stop the embedded cluster even on a crash, so no postgres is left holding the data directory.
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught exception');
  void broker.close().finally(() => process.exit(1));
});
