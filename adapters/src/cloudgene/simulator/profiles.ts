/**
 * What differs between the Cloudgene 3 servers the simulator imitates: server name, app version,
 * installed reference panels (each a `RefPanel` app with `properties`) and a few pipeline outputs.
 */
import type { ProfileName } from './types';

export interface PanelPopulation {
  id: string;
  name: string;
}

export interface RefPanel {
  /** Installed app id, `<yaml id>@<version>`; the form key is `apps@` + this. */
  appId: string;
  version: string;
  /** `properties.id`, the name the pipeline prints ("Reference Panel: hapmap2 (hg19)"). */
  propertiesId: string;
  label: string;
  build: 'hg19' | 'hg38';
  populations: PanelPopulation[];
  /** `properties.qcFilter.minSnps`; UTILS default is 3 SNPs per chunk. */
  minSnps: number;
}

export interface Profile {
  name: ProfileName;
  serverName: string;
  appId: string;
  appName: string;
  appVersion: string;
  website: string;
  description: string;
  panels: RefPanel[];
  minSamples: number;
  maxSamples: number;
  /** MIS 2 enforces 100 allele switches; upstream default is unlimited. */
  maxAlleleSwitches: number;
  maxStrandFlips: number;
  /** The AfriGen-D fork writes qc_output.txt, chunks_summary.txt and af_summary.txt. */
  extraQcOutputs: boolean;
}

const pop = (id: string): PanelPopulation => ({
  id,
  name: id === 'off' ? 'Off' : id === 'all' ? 'All' : id === 'mixed' ? 'Mixed' : id.toUpperCase(),
});
const pops = (...ids: string[]): PanelPopulation[] => ids.map(pop);

const panel = (
  name: string,
  version: string,
  propertiesId: string,
  label: string,
  build: 'hg19' | 'hg38',
  populations: PanelPopulation[],
): RefPanel => ({
  appId: `${name}@${version}`,
  version,
  propertiesId,
  label: `${label} (${build === 'hg19' ? 'GRCh37/hg19' : 'GRCh38/hg38'})`,
  build,
  populations,
  minSnps: 3,
});

const IS2_DESCRIPTION =
  'This is the new Michigan Imputation Server Pipeline using <a href="https://github.com/statgen/Minimac4">Minimac4</a>. ' +
  'Documentation can be found <a href="http://imputationserver.readthedocs.io/en/latest/">here</a>.<br><br>' +
  'If your input data is <b>GRCh37/hg19</b> please ensure chromosomes are encoded without prefix  (e.g. <b>20</b>).<br>' +
  "If your input data is <b>GRCh38hg38</b> please ensure chromosomes are encoded with prefix 'chr' (e.g. <b>chr20</b>).";

const MIS2: Profile = {
  name: 'mis2',
  serverName: 'Michigan Imputation Server 2',
  appId: 'imputationserver2',
  appName: 'Genotype Imputation',
  appVersion: '2.0.12',
  website: 'https://imputationserver.readthedocs.io',
  description: IS2_DESCRIPTION,
  panels: [
    panel('1000g-phase-3-v5', '2.0.0', '1000g-phase-3-v5', '1000G Phase 3 v5', 'hg19', pops('afr', 'amr', 'eas', 'eur', 'sas', 'all', 'off')),
    panel('hapmap-2', '2.0.0', 'hapmap2', 'HapMap 2', 'hg19', pops('eur', 'off')),
    panel('hrc-r1.1', '2.0.0', 'hrc-r1.1', 'HRC r1.1 2016', 'hg19', pops('eur', 'mixed', 'off')),
    panel('1000g-phase3-deep', '2.0.0', '1000g-phase3-deep', '1000G Phase 3 30x', 'hg38', pops('afr', 'amr', 'eas', 'eur', 'sas', 'all', 'off')),
  ],
  minSamples: 20,
  maxSamples: 50000,
  maxAlleleSwitches: 100,
  maxStrandFlips: 100,
  extraQcOutputs: false,
};

const AFRIGEN: Profile = {
  name: 'afrigen',
  serverName: 'AfriGen-D Imputation Service',
  appId: 'imputationserver2',
  appName: 'Genotype Imputation',
  appVersion: '2.0.7',
  website: 'https://impute.afrigen-d.org',
  description: IS2_DESCRIPTION,
  panels: [
    panel('h3africa-v6hc-s', '1.0.0', 'v6hc-s-b38', 'H3Africa v6 High Coverage', 'hg38', pops('afr', 'off')),
    panel('h3africa-v6hc-s-afr', '1.0.0', 'v6hc-s-afr-b38', 'H3Africa v6 High Coverage AFR', 'hg38', pops('afr', 'off')),
    panel('h3africa-v7hc-s', '1.0.0', 'v7hc-s-b38', 'H3Africa v7 High Coverage', 'hg38', pops('afr', 'off')),
    panel('1000g-30x-nygc', '1.0.0', '1000g-30x-nygc-b38', '1000 Genomes 30x NYGC', 'hg38', pops('afr', 'amr', 'eas', 'eur', 'sas', 'all', 'off')),
  ],
  minSamples: 20,
  maxSamples: 50000,
  maxAlleleSwitches: Number.POSITIVE_INFINITY,
  maxStrandFlips: 100,
  extraQcOutputs: true,
};

export function getProfile(name: ProfileName): Profile {
  return name === 'afrigen' ? AFRIGEN : MIS2;
}

/** The key the form sends, e.g. `apps@hapmap-2@2.0.0`. */
export function panelKey(p: RefPanel): string {
  return `apps@${p.appId}`;
}

/**
 * CloudgeneContext.resolveAppLinks strips `apps@` and looks the app up with or without version,
 * so `apps@hapmap-2@2.0.0`, `apps@hapmap-2`, `hapmap-2@2.0.0` and `hapmap-2` all resolve.
 */
export function resolvePanel(profile: Profile, value: string): RefPanel | null {
  const id = value.startsWith('apps@') ? value.slice(5) : value;
  const exact = profile.panels.find((p) => p.appId === id);
  if (exact) return exact;
  const byName = profile.panels.filter((p) => p.appId.split('@')[0] === id);
  return byName.at(-1) ?? null;
}

/** `imputationserver2` or `imputationserver2@2.0.12`; any other version is not installed. */
export function matchesApp(profile: Profile, appId: string): boolean {
  return appId === profile.appId || appId === `${profile.appId}@${profile.appVersion}`;
}
