/** GET /service-info (GetServiceInfo): public, no token needed. */
import type { ServiceInfo } from '@ibroker/api-spec/index';
import type { App, AppDeps } from '../http/context';
import { WORKFLOW_TYPE, WORKFLOW_TYPE_VERSION } from './runs_post';

export const BROKER_VERSION = '0.1.0';

export function registerServiceInfo(app: App, deps: AppDeps): void {
  app.get('/ga4gh/wes/v1/service-info', async (c) => {
    const counts = await deps.runs.stateCounts();
    const body: ServiceInfo = {
      id: 'org.ga4gh.imputation-broker.wes',
      name: 'Imputation federation broker (GA4GH WES)',
      type: { group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' },
      description:
        'Submits genotype-imputation runs to Michigan Imputation Server 2, TOPMed, AfriGen-D and other services ' +
        'through one GA4GH WES 1.1 endpoint. Workflow parameters are those of imputationserver2.',
      organization: { name: 'Imputation broker operators', url: deps.urls.base },
      documentationUrl: `${deps.urls.base}/docs`,
      environment: deps.config.demo ? 'dev' : 'prod',
      version: BROKER_VERSION,
      workflow_type_versions: { [WORKFLOW_TYPE]: { workflow_type_version: [WORKFLOW_TYPE_VERSION] } },
      supported_wes_versions: ['1.1.0'],
      supported_filesystem_protocols: ['https', 'file'],
      workflow_engine_versions: { nextflow: { workflow_engine_version: ['23.10'] } },
      default_workflow_engine_parameters: [],
      system_state_counts: counts,
      auth_instructions_url: `${deps.urls.base}/docs#authentication`,
      tags: {
        workflow_url: `${deps.urls.base}/workflows/imputation`,
        backends: deps.registry.ids().join(','),
      },
    };
    return c.json(body, 200);
  });
}
