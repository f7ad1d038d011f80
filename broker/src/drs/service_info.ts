/** GET /service-info (GetServiceInfo): public, the DRS 1.5 service-info with its `drs` block. */
import type { DrsServiceInfo } from '@ibroker/api-spec/index';
import type { App, AppDeps } from '../http/context';
import { BROKER_VERSION } from '../wes/service_info';

export function registerDrsServiceInfo(app: App, deps: AppDeps): void {
  app.get('/ga4gh/drs/v1/service-info', async (c) => {
    const stats = await deps.objects.stats();
    const max = deps.config.drs.maxBulkRequestLength;
    const body: DrsServiceInfo = {
      id: 'org.ga4gh.imputation-broker.drs',
      name: 'Imputation federation broker (GA4GH DRS)',
      type: { group: 'org.ga4gh', artifact: 'drs', version: '1.5.0' },
      description:
        'Every input and result of the imputation runs this broker holds, as GA4GH DRS 1.5 objects with SHA-256 and MD5 ' +
        'checksums: result files, the files inside the password-protected result zips, and one bundle per run.',
      organization: { name: 'Imputation broker operators', url: deps.urls.base },
      documentationUrl: `${deps.urls.base}/docs`,
      environment: deps.config.demo ? 'dev' : 'prod',
      version: BROKER_VERSION,
      // Deprecated at the root in 1.5 (it moves under `drs` in 2.0) but still required there.
      maxBulkRequestLength: max,
      drs: { maxBulkRequestLength: max, objectCount: stats.objectCount, totalObjectSize: stats.totalObjectSize },
    };
    return c.json(body, 200);
  });
}
