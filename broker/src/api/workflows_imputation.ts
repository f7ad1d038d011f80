/**
 * GET /workflows/imputation: the descriptor behind this broker's `workflow_url`. Public JSON
 * that says which parameters a run takes, with the values the backends currently offer.
 */
import type { App, AppDeps } from '../http/context';
import { MAX_SAMPLES, MIN_SAMPLES, PIPELINE_REPOSITORIES, WORKFLOW_TYPE, WORKFLOW_TYPE_VERSION } from '../wes/runs_post';

export function registerWorkflowDescriptor(app: App, deps: AppDeps): void {
  app.get('/workflows/imputation', async (c) => {
    const views = await deps.registry.views();
    const union = (pick: (v: (typeof views)[number]) => string[]) => [...new Set(views.flatMap(pick))];
    return c.json({
      name: 'imputation',
      description:
        'Genotype imputation with the imputationserver2 pipeline (Michigan Imputation Server 2, TOPMed, AfriGen-D), run on the backend the broker chooses.',
      workflow_type: WORKFLOW_TYPE,
      workflow_type_version: WORKFLOW_TYPE_VERSION,
      workflow_url: `${deps.urls.base}/workflows/imputation`,
      equivalent_workflow_urls: PIPELINE_REPOSITORIES,
      inputs: {
        files: {
          type: 'array',
          items: 'string',
          required: false,
          description: `Names of workflow_attachment parts, or https URLs. Each a bgzipped VCF (*.vcf.gz), one chromosome per file, the same ${MIN_SAMPLES}-${MAX_SAMPLES} samples in every file. Default: every attachment.`,
        },
        refpanel: {
          type: 'string',
          required: true,
          description: "Panel id such as '1000g-phase-3-v5', or a full key 'apps@<id>@<version>'.",
          values: union((v) => v.catalog?.panels.map((p) => p.id) ?? []),
        },
        population: {
          type: 'string',
          required: false,
          description: "Population for the allele-frequency check; must be one the panel lists. Default 'off' where the panel offers it.",
          values_by_panel: Object.fromEntries(
            views.flatMap((v) => v.catalog?.panels.map((p) => [p.id, p.populations.map((x) => x.id)]) ?? []),
          ),
        },
        build: {
          type: 'string',
          required: false,
          description: "Build of the input: 'hg19' (chromosomes '20') or 'hg38' ('chr20'). Default: detected from the files.",
          values: union((v) => v.catalog?.builds ?? []),
        },
        phasing: { type: 'string', required: false, values: union((v) => v.catalog?.phasing ?? []), default: 'eagle' },
        r2Filter: { type: 'string', required: false, values: union((v) => v.catalog?.r2Filter ?? []), default: '0' },
        mode: { type: 'string', required: false, values: union((v) => v.catalog?.modes ?? []), default: 'imputation' },
        aesEncryption: { type: 'boolean', required: false, default: false },
        meta: { type: 'boolean', required: false, default: false },
        backend: { type: 'string', required: false, values: ['auto', ...deps.registry.ids()], default: 'auto' },
      },
      outputs: {
        files: 'Every result file (chr_N.zip, qc_report.txt, quality-control.html, statistics/...), each with size, sha256 and a download URL.',
      },
    });
  });
}
